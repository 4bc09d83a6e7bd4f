"""Task formats: one module each (classification, multiple choice, span QA, tagging, retrieval,
bitext mining, MLM). `spec` holds the torch-free facts planning reads; the format modules
(torch) are imported on first use of `get_format`."""


def __getattr__(name: str):
    if name in ("TaskFormat", "get_format", "register_format"):
        from xstilts.formats import base

        return getattr(base, name)
    raise AttributeError(f"module 'xstilts.formats' has no attribute {name!r}")
