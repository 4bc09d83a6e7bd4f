"""Studies: many runs as one job graph, their store, and their report.

`load_results(DIR)` is imported on first use (pandas is not needed to run a study's jobs).
"""


def __getattr__(name: str):
    if name == "load_results":
        from xstilts.study.results import load_results

        return load_results
    raise AttributeError(f"module 'xstilts.study' has no attribute {name!r}")
