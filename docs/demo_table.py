"""Rewrite README.md's demo numbers and plot from a demo run, so that they are never typed in.

    xstilts demo --out runs/demo && python docs/demo_table.py runs/demo

reads what `xstilts demo` wrote into the run's folder:

- `summary.json`: per arm, each target's main metric averaged over the languages and the
  average over the targets; the trivial baselines; the wall time and the machine;
- `table.txt`: its last line says what the average over the targets is;
- `plan.json`: the number of jobs, the encoder and the runtime (torch, transformers);
- `study.yaml`: must be the default demo's study (`--any-study` writes another's anyway);
- `average_vs_k.png`: the report's main plot,

replaces everything between README's `<!-- demo-table:start ... -->` and
`<!-- demo-table:end -->` lines (the table, the plot's link and the sentences with the
numbers) and copies the plot to docs/demo-average-vs-k.png. Run it whenever the numerics
change (tests/test_demo_table.py checks it on a hand-made run folder).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = ("<!-- demo-table:start: written by `python docs/demo_table.py runs/demo` from a demo "
         "run; edit that script, not these lines -->")
END = "<!-- demo-table:end -->"
METRICS = {"f1": "F1", "exact_match": "EM", "accuracy": "accuracy"}
WIDTH = 94  # README's prose lines
MINUS = "\u2212"


def load_run(folder: Path) -> dict:
    """The run's summary.json with `plan` (plan.json, when there), `caption` (table.txt's
    description of the average over the targets) and `study` (study.yaml, parsed)."""
    import yaml

    summary_file = folder / "summary.json"
    if not summary_file.exists():
        sys.exit(f"{summary_file}: not found.\n  fix: give the folder of a finished demo run "
                 "(xstilts demo --out runs/demo).")
    run = json.loads(summary_file.read_text(encoding="utf-8"))
    plan_file = folder / "plan.json"
    run["plan"] = (json.loads(plan_file.read_text(encoding="utf-8"))
                   if plan_file.exists() else {})
    table = folder / "table.txt"
    last = table.read_text(encoding="utf-8").strip().splitlines()[-1] if table.exists() else ""
    run["caption"] = last.removeprefix("average: ") if last.startswith("average: ") else ""
    study = folder / "study.yaml"
    run["study"] = yaml.safe_load(study.read_text(encoding="utf-8")) if study.exists() else None
    return run


def number(value: float, sign: bool = False) -> str:
    """One decimal, a real minus sign; '–' for a missing value."""
    if value is None or not math.isfinite(value):
        return "–"
    value = round(value, 1) + 0.0  # no "-0.0"
    text = f"{value:+.1f}" if sign else f"{value:.1f}"
    return text.replace("-", MINUS)


def mean(values) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def arms_by_k(run: dict) -> dict[int, list[dict]]:
    """The arms grouped by set size, each with its name (`name`: its intermediate tasks)."""
    by_k: dict[int, list[dict]] = {}
    for name, arm in run["arms"].items():
        by_k.setdefault(int(arm["k"]), []).append({**arm, "name": name})
    return dict(sorted(by_k.items()))


def target_score(arm: dict, target: str) -> float:
    scores = arm["targets"].get(target)
    return math.nan if scores is None else float(scores["average"])


def arm_label(name: str) -> str:
    return " + ".join(f"`{task}`" for task in name.split(","))


def slope(by_k: dict[int, list[dict]]) -> dict:
    """The report's slope per doubling of k (study.analysis.slope_log2k: standard errors
    clustered by intermediate set) over these arms (summary.json has one per set)."""
    import pandas as pd

    from xstilts.study.analysis import slope_log2k

    rows = [{"k": k, "average": float(arm["average"]), "intermediate": arm["name"]}
            for k, arms in by_k.items() for arm in arms]
    return slope_log2k(pd.DataFrame(rows))


def table(run: dict) -> list[str]:
    """The markdown table: each target's main metric averaged over its languages (trivial
    baseline, baseline, mean over the arms of each size k), then the average over the targets."""
    by_k = arms_by_k(run)
    sizes = [k for k in by_k if k > 0]
    lines = ["| target | metric | trivial | baseline | " + " | ".join(f"k = {k}" for k in sizes)
             + " |", "|---|---|---:|---:|" + "---:|" * len(sizes)]
    for target, trivial in run["trivial"].items():
        metrics = {arm["targets"][target]["metric"] for arms in by_k.values() for arm in arms
                   if target in arm["targets"]}
        metric = ", ".join(METRICS.get(m, m) for m in sorted(metrics))
        cells = [number(mean(trivial.values()))]
        cells += [number(mean(target_score(arm, target) for arm in by_k.get(k, [])))
                  for k in [0, *sizes]]
        lines.append(f"| `{target}` | {metric} | " + " | ".join(cells) + " |")
    cells = [number(run.get("trivial_average", math.nan))]
    cells += [number(mean(float(arm["average"]) for arm in by_k.get(k, [])))
              for k in [0, *sizes]]
    lines.append("| average over the targets | | " + " | ".join(cells) + " |")
    return lines


def measured(run: dict) -> str:
    """Which run the numbers come from: machine, wall time, jobs, encoder and versions."""
    plan = run["plan"]
    jobs = sum(plan["counts"].values()) if isinstance(plan.get("counts"), dict) else None
    runtime = plan.get("runtime") or {}
    parts = [f"wall time {number(run['minutes'])} minutes"]
    if jobs:
        parts.append(f"{jobs} jobs")
    if plan.get("encoder"):
        parts.append(f"encoder {plan['encoder']}")
    if runtime.get("torch"):
        parts.append(f"torch {runtime['torch']}, transformers {runtime.get('transformers')}")
    where = f" on {run['machine']}" if run.get("machine") else ""
    return (f"Every number below comes from one `xstilts demo` run{where} ({', '.join(parts)}). "
            "The table (main metric, average over the six languages; `runs/demo/table.txt` has "
            "every language):")


def findings(run: dict) -> str:
    """The averages against the baseline, the slope per doubling of k with its interval, and
    each target's range of changes over the arms."""
    by_k = arms_by_k(run)
    base = mean(float(arm["average"]) for arm in by_k.get(0, []))
    sizes = [k for k in by_k if k > 0]
    means = {k: mean(float(arm["average"]) for arm in by_k[k]) for k in sizes}
    at = [f"{number(means[k])} at k = {k} ({number(means[k] - base, sign=True)})"
          for k in sizes]
    gains = [round(means[k] - base, 1) for k in sizes if math.isfinite(means[k] - base)]
    if gains and all(g < 0 for g in gains):
        verdict = ": below the baseline at every k"
    elif gains and all(g > 0 for g in gains):
        verdict = ": above the baseline at every k"
    else:
        verdict = ""
    text = (f"Against the baseline's {number(base)}, the average over the targets is "
            + (", ".join(at[:-1]) + " and " + at[-1] if len(at) > 1 else "".join(at))
            + verdict + ". ")
    fit = slope(by_k)
    if math.isfinite(fit["ci_low"]):
        interval = (f"{number(fit['ci_low'], sign=True)} to {number(fit['ci_high'], sign=True)}")
        zero = fit["ci_low"] <= 0 <= fit["ci_high"]
        text += (f"The slope per doubling of k is {number(fit['slope'], sign=True)} points, 95% "
                 f"interval {interval} over {fit['sets']} intermediate sets with k ≥ 1 "
                 "(standard errors clustered by set)"
                 + ("; the interval includes 0" if zero else "") + ". ")
    elif math.isfinite(fit["slope"]):
        text += (f"The slope per doubling of k is {number(fit['slope'], sign=True)} points over "
                 f"{fit['sets']} intermediate sets with k ≥ 1 (no interval: "
                 f"{fit['note'] or 'too few sets'}). ")
    arm_counts = ", ".join(f"{len(by_k[k])} at k = {k}" for k in sizes)
    text += f"Arms per size: {arm_counts}. Per target, the change from the baseline by arm:"
    ranges = []
    for target in run["trivial"]:
        baseline = mean(target_score(arm, target) for arm in by_k.get(0, []))
        changes = sorted((target_score(arm, target) - baseline, arm["name"])
                         for k in sizes for arm in by_k[k]
                         if math.isfinite(target_score(arm, target) - baseline))
        if not changes:
            continue
        (low, low_arm), (high, high_arm) = changes[0], changes[-1]
        ranges.append(f"`{target}` from {number(low, sign=True)} ({arm_label(low_arm)}) to "
                      f"{number(high, sign=True)} ({arm_label(high_arm)})")
    return text + " " + "; ".join(ranges) + "."


def fill(text: str) -> str:
    """README's line width; "k = 2" stays on one line."""
    text = text.replace("k = ", "k\u00a0=\u00a0")  # textwrap splits at ASCII spaces only
    wrapped = textwrap.fill(text, WIDTH, break_on_hyphens=False, break_long_words=False)
    return wrapped.replace("\u00a0", " ")


def block(run: dict, image: str) -> str:
    """What goes between the markers."""
    caption = run["caption"] or "the average over the targets"
    count = len(run["trivial"])
    parts = [fill(measured(run)), "\n".join(table(run)),
             fill(f"The last row: {caption}. Columns k: the mean over the sets of k "
                  "intermediate tasks (one seed each)."),
             fill(f"The report's main plot, the average over the {count} targets against the "
                  "number of intermediate tasks (`runs/demo/average_vs_k.png`):"),
             f"![the demo's average over targets vs the number of intermediate tasks]({image})",
             fill(findings(run))]
    return "\n\n".join(parts)


def replace_block(text: str, new: str) -> str:
    """`text` with the lines between the start and end markers replaced by `new`."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("<!-- demo-table:start")]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        sys.exit("README: expected one '<!-- demo-table:start ... -->' line and one "
                 f"'{END}' line after it (found {len(starts)} and {len(ends)}).\n  fix: put "
                 "the two markers back around the demo table under '## The offline default'.")
    return "\n".join(lines[:starts[0]] + [START, new, END] + lines[ends[0] + 1:])


def is_default_demo(run: dict) -> bool:
    """Whether the run's study.yaml is the study `xstilts demo` (no options) runs now."""
    import yaml

    from xstilts.demo import demo_study

    return run["study"] == yaml.safe_load(yaml.safe_dump(demo_study(), sort_keys=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the demo's --out folder (runs/demo)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "demo-average-vs-k.png",
                        help="where the plot is copied (the README links it) [%(default)s]")
    parser.add_argument("--any-study", action="store_true",
                        help="write the numbers even if the run is not the default demo's "
                             "study (--quick, another encoder, an older version)")
    args = parser.parse_args(argv)
    run = load_run(args.run)
    if not args.any_study and not is_default_demo(run):
        sys.exit(f"{args.run / 'study.yaml'}: not the study `xstilts demo` runs now (a --quick "
                 "run, another encoder, or an older demo).\n  fix: run `xstilts demo --out "
                 f"{args.run}` again, or pass --any-study to write its numbers anyway.")
    plot = args.run / "average_vs_k.png"
    if not plot.exists():
        sys.exit(f"{plot}: not found.\n  fix: the demo writes it with its report; run "
                 f"`xstilts report {args.run}`.")
    image = Path(os.path.relpath(args.plot.resolve(), args.readme.resolve().parent)).as_posix()
    text = args.readme.read_text(encoding="utf-8")
    updated = replace_block(text, block(run, image))
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plot, args.plot)
    args.readme.write_text(updated, encoding="utf-8")
    print(f"{args.readme}: demo table {'rewritten' if updated != text else 'unchanged'}; "
          f"plot copied to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
