"""The mean over a target's languages, computed one way everywhere (results.json, the results
rows of a study, the trackers' test/avg/*), so every layer reports the same bits."""

from __future__ import annotations

from statistics import fmean


def language_average(per_language: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the languages: an exactly rounded sum (math.fsum, via
    statistics.fmean) over their count, so neither the order of the languages nor the
    summation scheme changes a bit."""
    first = next(iter(per_language.values()))
    return {metric: fmean(metrics[metric] for metrics in per_language.values())
            for metric in first}
