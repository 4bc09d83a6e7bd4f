"""`xstilts results DIR`: the scores of a run, a study or a store, one row per arm × target ×
metric, a column per language and their average, as a table, CSV or JSON.

DIR is recognised by what is in it: results.json (a run's --out), plan.json (a study's
--out) or store.sqlite (a store, possibly of several studies).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from xstilts.errors import XstiltsError
from xstilts.study.results import PLAN_FILE, load_results
from xstilts.study.store import Store

KEYS = ["study", "intermediate", "intermediate_seed", "target_seed", "target", "metric"]
FORMATS = ("table", "csv", "json")


def score_table(folder: str | Path, target: str | None = None, metric: str | None = None,
                study: str | None = None) -> pd.DataFrame:
    """Scores per arm × target × metric: a column per language, then `avg` (the mean over the
    languages). `metric`: one metric's name, 'main' (each target's own), or None (all)."""
    folder = Path(folder)
    if (folder / "results.json").is_file():
        rows = _run_rows(folder)
    elif (folder / PLAN_FILE).is_file() or (folder / "store.sqlite").is_file():
        rows = _store_rows(folder, study)
    else:
        raise XstiltsError(
            f"{folder}: holds no results (no results.json, {PLAN_FILE} or store.sqlite).\n  fix: "
            "give the --out folder of `xstilts run` or `xstilts study`, or a store folder.")
    rows = _only(rows, "target", target, folder)
    if metric == "main":
        rows = rows[rows["main"]]
    else:
        rows = _only(rows, "metric", metric, folder)
    languages = [lang for lang in dict.fromkeys(rows["language"]) if lang != "avg"] + ["avg"]
    wide = rows.pivot(index=KEYS, columns="language", values="value")
    wide = wide.reindex(columns=[lang for lang in languages if lang in wide.columns])
    wide.columns.name = None
    return wide.reset_index()


def _only(rows: pd.DataFrame, column: str, value: str | None, folder: Path) -> pd.DataFrame:
    """The rows whose `column` is `value` (all if None); an error naming the choices."""
    if value is None:
        return rows
    kept = rows[rows[column] == value]
    if kept.empty:
        raise XstiltsError(f"{folder}: no results for {column} {value!r}.\n  fix: choose one "
                           f"of {sorted(set(rows[column]))}.")
    return kept


def _run_rows(folder: Path) -> pd.DataFrame:
    """results.json of `xstilts run` as long rows (language 'avg': the target's average)."""
    path = folder / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        tasks, seed = results["intermediate"]["tasks"], results["settings"]["seed"]
        targets = results["targets"]
    except (ValueError, KeyError, TypeError) as exc:
        raise XstiltsError(f"{path}: not a results.json of `xstilts run` ({exc}).\n  fix: run "
                           "the config again into this folder (finished work is reused).") from None
    head = {"study": "run", "intermediate": ",".join(tasks), "intermediate_seed": seed,
            "target_seed": seed}
    rows = []
    for name, target in targets.items():
        scores = {**target["languages"], "avg": target["average"]}
        rows += [{**head, "target": name, "language": lang, "metric": metric, "value": value,
                  "main": metric == target["main_metric"]}
                 for lang, metrics in scores.items() for metric, value in metrics.items()]
    if not rows:
        raise XstiltsError(f"{path}: no target has all its results yet.\n  fix: run the config "
                           "again into this folder; finished work is reused.")
    return pd.DataFrame(rows)


def _store_rows(folder: Path, study: str | None) -> pd.DataFrame:
    """A study's results rows (or every study's, for a store folder without --study)."""
    if study or (folder / PLAN_FILE).is_file():
        frame = load_results(folder, study)
    else:
        names = sorted({r["study"] for r in Store(folder).results()})
        if not names:
            raise XstiltsError(f"{folder / 'store.sqlite'}: no results yet (a run's store "
                               "keeps jobs; its scores are in its --out folder).\n  fix: give "
                               "the --out folder of `xstilts run` or `xstilts study`.")
        frame = pd.concat([load_results(folder, name) for name in names], ignore_index=True)
    return frame[KEYS + ["language", "value", "main"]]


def render(frame: pd.DataFrame, fmt: str = "table") -> str:
    """The table as aligned text (2 decimals), CSV or JSON records (both at full precision;
    a language a target lacks is empty / null)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        records = [{k: None if isinstance(v, float) and math.isnan(v) else v
                    for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "table":
        return frame.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-")
    raise XstiltsError(f"unknown format {fmt!r}.\n  fix: choose one of {list(FORMATS)}.")
