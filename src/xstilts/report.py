"""Plain-text tables of results (target × language) and the average over the targets."""

from __future__ import annotations

from statistics import fmean

from xstilts.evaluate.average import task_score
from xstilts.evaluate.xtreme import average_caption, describe_average, split_text


def language_splits(target: dict) -> dict[str, str]:
    """The split each language of a results.json target was scored on: its "splits", or
    (results.json written before per-language splits) its "eval_split" for every language."""
    splits = target.get("splits")
    if splits:
        return dict(splits)
    return {lang: target.get("eval_split", "test") for lang in target["languages"]}


def targets_average(targets: dict) -> tuple[float | None, dict]:
    """The mean over results.json's targets of what each contributes (evaluate.average's
    task_score: (EM + F1) / 2 for span QA, else the main metric), and describe_average's
    account of it (the XTREME score only when all nine tasks with all their languages)."""
    scores = [task_score(t["average"], t.get("main_metric")) for t in targets.values()]
    described = describe_average({name: list(t["languages"]) for name, t in targets.items()},
                                 limited=[name for name, t in targets.items()
                                          if t.get("test_limit")])
    return (fmean(scores) if scores else None), described


def format_results(results: dict) -> str:
    """One table per target: main metric per language, plus the average, and the split the
    languages were scored on; then the average over the targets, labelled."""
    lines = []
    inter = ",".join(results["intermediate"]["tasks"]) or "none (baseline)"
    lines.append(f"encoder: {results['encoder']}   intermediate: {inter}")
    for name, target in results["targets"].items():
        metric = target["main_metric"]
        langs = list(target["languages"])
        splits = language_splits(target)
        header = f"{name} [{metric}]".ljust(28) + "".join(f"{lang:>7}" for lang in langs) + "    avg"
        mixed = len(set(splits.values())) > 1
        label = f"  on {'/'.join(sorted(set(splits.values())))}"
        row = label.ljust(28) + "".join(f"{target['languages'][lang][metric]:7.1f}"
                                        for lang in langs)
        row += f"{target['average'][metric]:7.1f}"
        lines += [header, row]
        if mixed:  # which language on which split
            lines.append("  split".ljust(28) + "".join(f"{splits.get(lang, ''):>7}"
                                                       for lang in langs))
    value, described = targets_average(results["targets"])
    if value is not None:
        splits = split_text({name: language_splits(t) for name, t in results["targets"].items()})
        lines.append(f"{average_caption(described)}: {value:.1f} (span QA as (EM + F1) / 2; "
                     f"split {splits})")
    return "\n".join(lines)
