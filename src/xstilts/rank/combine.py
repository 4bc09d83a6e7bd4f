"""From estimates to one score per (target, set), rank.csv, and the --top study file.

The rule (per target):

1. Each single pool task I has the estimates of ESTIMATES (a sign: whether higher should
   help). Each estimate is z-scored over the pool's tasks, (x - mean) / sd (population sd),
   times its sign; an estimate missing for a task (NaN, e.g. LogME of a span-QA target) or
   constant over the pool gives no z-score.
2. A single task's score is the mean of its z-scores (0 with none).
3. A set's score is the mean of its members' scores. Set size is not in the score: whether
   more tasks help is what a study measures (the adaptive study's model learns it).

Rows with target "average" rank the sets by their mean score over the targets (what
`--top M` and the adaptive study pick by). Besides the score, each set's row holds the
members' mean of every estimate, the union's language overlap and distance, and k.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from xstilts.rank import languages as lang_table

# estimate -> sign (+1: higher should mean more gain)
ESTIMATES = {"text_sim": 1, "task_sim": 1, "logme": 1, "lang_overlap": 1, "lang_distance": -1}
AVERAGE = "average"  # the target name of the rows that rank over every target
RANK_COLUMNS = ["target", "rank", "set", "k", "score", *ESTIMATES, "set_lang_overlap",
                "set_lang_distance", "logme_target"]


def zscores(values: pd.Series) -> pd.Series:
    """(x - mean) / sd over the non-missing values (population sd); NaN where missing, and
    everywhere when fewer than two values or no spread."""
    present = values.dropna()
    sd = float(present.std(ddof=0)) if len(present) >= 2 else 0.0
    if not sd > 1e-12:
        return pd.Series(math.nan, index=values.index)
    return (values - present.mean()) / sd


def single_scores(singles: pd.DataFrame) -> pd.DataFrame:
    """`singles` (target, task, one column per estimate) with `score` added (steps 1-2)."""
    out = []
    for _, group in singles.groupby("target", sort=False):
        z = pd.DataFrame({name: sign * zscores(group[name].astype(float))
                          for name, sign in ESTIMATES.items()})
        group = group.copy()
        # Rounded: a set's mean of z-scores that cancel is 0, not +-1e-15 (ties stay ties).
        group["score"] = z.mean(axis=1, skipna=True).fillna(0.0).round(12)
        out.append(group)
    return pd.concat(out, ignore_index=True) if out else singles.assign(score=[])


def set_rows(scored: pd.DataFrame, sets: list[tuple[str, ...]],
             pool_languages: dict[str, frozenset], target_languages: dict[str, list[str]],
             logme_target: dict[str, float]) -> pd.DataFrame:
    """rank.csv's rows: every (target, set) with its score (step 3) and estimates, then the
    `average` rows; ranked within each target (1 = best; ties by larger k, then name)."""
    rows = []
    for target, group in scored.groupby("target", sort=False):
        by_task = group.set_index("task")
        for members in sets:
            part = by_task.loc[list(members)]
            trained = frozenset().union(*(pool_languages[t] for t in members))
            row = {"target": target, "set": ",".join(members), "k": len(members),
                   "score": round(float(part["score"].mean()), 12)}
            row.update({name: _nanmean(part[name]) for name in ESTIMATES})
            row.update(set_lang_overlap=lang_table.overlap(trained, target_languages[target]),
                       set_lang_distance=lang_table.set_distance(trained,
                                                                 target_languages[target]),
                       logme_target=logme_target.get(target, math.nan))
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=RANK_COLUMNS)
    numeric = ["score", "k", *ESTIMATES, "set_lang_overlap", "set_lang_distance"]
    average = frame.groupby("set", sort=False)[numeric].mean().reset_index()
    average["target"], average["logme_target"] = AVERAGE, math.nan
    average["k"], average["score"] = average["k"].astype(int), average["score"].round(12)
    frame = pd.concat([frame, average], ignore_index=True)
    return ranked(frame)


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by target (AVERAGE last), then score (ties: larger k, then set name), with
    `rank` 1, 2, ... within each target."""
    order = {t: i for i, t in enumerate(dict.fromkeys(
        [t for t in frame["target"] if t != AVERAGE] + [AVERAGE]))}
    frame = frame.assign(_t=frame["target"].map(order)).sort_values(
        ["_t", "score", "k", "set"], ascending=[True, False, False, True], kind="mergesort")
    frame["rank"] = frame.groupby("target", sort=False).cumcount() + 1
    return frame.drop(columns="_t").reset_index(drop=True)[RANK_COLUMNS]


def _nanmean(values: pd.Series) -> float:
    values = values.astype(float).dropna()
    return float(values.mean()) if len(values) else math.nan


def read_rank(path: Path) -> pd.DataFrame:
    """rank.csv as written by `xstilts rank` (set names as strings, k as int)."""
    frame = pd.read_csv(path, dtype={"set": str, "target": str})
    return frame.assign(k=frame["k"].astype(int))


def top_sets(frame: pd.DataFrame, m: int) -> list[tuple[str, ...]]:
    """The m best sets over every target (the AVERAGE rows), best first."""
    rows = frame[frame["target"] == AVERAGE].sort_values("rank")
    return [tuple(s.split(",")) for s in rows["set"].head(m)]


def top_study(data: dict, study_path: Path, sets: list[tuple[str, ...]], name: str) -> dict:
    """The study file's data narrowed to `sets` (as `fixed` draws) plus the baseline; task
    files declared in its base stay where they are (their folders made absolute)."""
    out = {k: v for k, v in data.items() if k not in ("draw", "draws", "select", "sizes")}
    out["name"] = name
    sizes = sorted({len(s) for s in sets})
    out["sizes"] = [0, *sizes]
    out["draws"] = {k: {"fixed": [list(s) for s in sets if len(s) == k]} for k in sizes}
    base = dict(out.get("base") or {})
    tasks = {}
    for task, decl in (base.get("tasks") or {}).items():
        decl = dict(decl)
        folder = Path(decl.get("base_dir") or ".")
        decl["base_dir"] = str(folder if folder.is_absolute()
                               else (study_path.parent / folder).resolve())
        tasks[task] = decl
    if tasks:
        base["tasks"] = tasks
    out["base"] = base
    return out


def study_yaml(data: dict, comment: str) -> str:
    """YAML text of a study's data, after a comment line."""
    return f"# {comment}\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def as_table(frame: pd.DataFrame, limit: int) -> str:
    """A fixed-width text table of ranked rows (the first `limit` of them)."""
    shown = frame.head(limit)
    width = max([len("set"), *(len(s) for s in shown["set"])])
    lines = [f"{'rank':>4}  {'set':<{width}}  {'k':>2}  {'score':>6}  "
             + "  ".join(f"{n:>13}" for n in ESTIMATES)]
    for r in shown.itertuples():
        lines.append(f"{r.rank:>4}  {r.set:<{width}}  {r.k:>2}  {r.score:>6.2f}  "
                     + "  ".join(f"{_fmt(getattr(r, n)):>13}" for n in ESTIMATES))
    if len(frame) > limit:
        lines.append(f"... {len(frame) - limit} more in rank.csv")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) \
        else f"{value:.3f}"
