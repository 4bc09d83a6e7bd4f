"""Plain-text tables of results (target × language)."""

from __future__ import annotations


def format_results(results: dict) -> str:
    """One table per target: main metric per language, plus the average."""
    lines = []
    inter = ",".join(results["intermediate"]["tasks"]) or "none (baseline)"
    lines.append(f"encoder: {results['encoder']}   intermediate: {inter}")
    for name, target in results["targets"].items():
        metric = target["main_metric"]
        langs = list(target["languages"])
        header = f"{name} [{metric}]".ljust(28) + "".join(f"{lang:>7}" for lang in langs) + "    avg"
        row = " " * 28 + "".join(f"{target['languages'][lang][metric]:7.1f}" for lang in langs)
        row += f"{target['average'][metric]:7.1f}"
        lines += [header, row]
    return "\n".join(lines)
