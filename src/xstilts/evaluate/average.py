"""Averages computed one way everywhere: the mean over a target's languages (results.json, the
results rows of a study, the trackers' test/avg/*), and the number a task contributes to an
average over tasks (`xstilts score`, run tables, the study report, the demo), so every layer
reports the same bits."""

from __future__ import annotations

from statistics import fmean

# Span QA reports both; XTREME's evaluate.py averages them for the task's score.
QA_METRICS = ("exact_match", "f1")
QA_SCORE = "(exact_match+f1)/2"


def language_average(per_language: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the languages: an exactly rounded sum (math.fsum, via
    statistics.fmean) over their count, so neither the order of the languages nor the
    summation scheme changes a bit."""
    first = next(iter(per_language.values()))
    return {metric: fmean(metrics[metric] for metrics in per_language.values())
            for metric in first}


def task_score_metric(metrics, main_metric: str | None = None) -> str:
    """The name of what `task_score` takes from a task with these metrics: QA_SCORE for span
    QA (it reports exact_match and f1), else `main_metric` when given, else f1 (tagging,
    mining) where reported, else accuracy."""
    if all(m in metrics for m in QA_METRICS):
        return QA_SCORE
    if main_metric is not None:
        return main_metric
    return "f1" if "f1" in metrics else "accuracy"


def task_score(metrics: dict[str, float], main_metric: str | None = None) -> float:
    """What a task contributes to an average over tasks (the XTREME score's rule, its
    evaluate.py): (EM + F1) / 2 for span QA, accuracy for classification and retrieval, F1 for
    tagging and BUCC; a task's `main_metric` names the metric outside QA. `metrics`: the
    task's metrics averaged over its languages (language_average), in percent."""
    name = task_score_metric(metrics, main_metric)
    if name == QA_SCORE:
        return (metrics["exact_match"] + metrics["f1"]) / 2
    return metrics[name]
