"""`xstilts results DIR`: the scores of a run, a study or a store, one row per arm × target ×
metric, the split its languages were scored on, a column per language and their average, as a
table, CSV or JSON; the table ends with each arm's average over the targets.

DIR is recognised by what is in it: results.json (a run's --out), plan.json (a study's
--out) or store.sqlite (a store, possibly of several studies).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from xstilts.errors import XstiltsError
from xstilts.evaluate.average import task_score
from xstilts.evaluate.xtreme import average_caption, describe_average, split_text
from xstilts.report import language_splits
from xstilts.study.results import PLAN_FILE, load_results
from xstilts.study.store import Store

ARM = ["study", "intermediate", "intermediate_seed", "target_seed"]
KEYS = [*ARM, "target", "metric"]
FORMATS = ("table", "csv", "json")


def score_table(folder: str | Path, target: str | None = None, metric: str | None = None,
                study: str | None = None) -> pd.DataFrame:
    """Scores per arm × target × metric: `split` (the split its languages were scored on, in
    words: "test", or "dev; test: kk"), a column per language, then `avg` (the mean over the
    languages). `metric`: one metric's name, 'main' (each target's own), or None (all)."""
    folder = Path(folder)
    rows = _only(results_rows(folder, study), "target", target, folder)
    if metric == "main":
        rows = rows[rows["main"]]
    else:
        rows = _only(rows, "metric", metric, folder)
    languages = [lang for lang in dict.fromkeys(rows["language"]) if lang != "avg"] + ["avg"]
    wide = rows.pivot(index=KEYS, columns="language", values="value")
    wide = wide.reindex(columns=[lang for lang in languages if lang in wide.columns])
    wide.columns.name = None
    wide.insert(0, "split", _splits(rows).reindex(wide.index.droplevel("metric")).to_numpy())
    return wide.reset_index()


def results_rows(folder: Path, study: str | None = None) -> pd.DataFrame:
    """The long rows (KEYS, language, value, main, split) of a run, a study or a store."""
    if (folder / "results.json").is_file():
        return _run_rows(folder)
    if (folder / PLAN_FILE).is_file() or (folder / "store.sqlite").is_file():
        return _store_rows(folder, study)
    raise XstiltsError(
        f"{folder}: holds no results (no results.json, {PLAN_FILE} or store.sqlite).\n  fix: "
        "give the --out folder of `xstilts run` or `xstilts study`, or a store folder.")


def _splits(rows: pd.DataFrame) -> pd.Series:
    """Per arm × target: split_text of its languages' splits ("" where unknown)."""
    langs = rows[rows["language"] != "avg"].drop_duplicates([*ARM, "target", "language"])
    out = {key: split_text({lang: sp for lang, sp in zip(g["language"], g["split"], strict=True)
                            if sp})
           for key, g in langs.groupby([*ARM, "target"], sort=False)}
    keys = [list(level) for level in zip(*out, strict=True)] or [[] for _ in range(len(ARM) + 1)]
    return pd.Series(list(out.values()), dtype=object,
                     index=pd.MultiIndex.from_arrays(keys, names=[*ARM, "target"]))


def average_table(folder: str | Path, target: str | None = None, study: str | None = None
                  ) -> tuple[pd.DataFrame, str]:
    """Each arm's average over the targets (each contributing evaluate.average's task_score
    of its language average: (EM + F1) / 2 for span QA, else its main metric; NaN where the
    arm lacks a target the others have) and what that average is (describe_average: the
    XTREME score only with all nine tasks and all their languages, else partial)."""
    folder = Path(folder)
    rows = _only(results_rows(folder, study), "target", target, folder)
    targets = list(dict.fromkeys(rows["target"]))
    scores = {}
    for key, group in rows[rows["language"] == "avg"].groupby([*ARM, "target"], sort=False):
        main = group.loc[group["main"], "metric"]
        scores[key] = task_score(dict(zip(group["metric"], group["value"], strict=True)),
                                 main.iloc[0] if len(main) else None)
    arms = rows.drop_duplicates(ARM)[ARM]
    values = [pd.Series([scores.get((*arm, t), math.nan) for t in targets]).mean(skipna=False)
              for arm in arms.itertuples(index=False)]
    table = arms.assign(average=values).reset_index(drop=True)
    languages = {t: sorted(set(rows.loc[(rows["target"] == t) & (rows["language"] != "avg"),
                                        "language"])) for t in targets}
    return table, average_caption(describe_average(languages))


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
        splits = language_splits(target)
        rows += [{**head, "target": name, "language": lang, "metric": metric, "value": value,
                  "main": metric == target["main_metric"], "split": splits.get(lang, "")}
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
    return frame[KEYS + ["language", "value", "main", "split"]]


def render(frame: pd.DataFrame, fmt: str = "table", average: tuple[pd.DataFrame, str] | None = None
           ) -> str:
    """The table as aligned text (2 decimals; `average`, average_table's result, below it),
    CSV or JSON records (both at full precision; a language a target lacks is empty / null)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        records = [{k: None if isinstance(v, float) and math.isnan(v) else v
                    for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "table":
        text = frame.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-")
        if average is not None:
            table, caption = average
            text += (f"\n\n{caption[:1].upper() + caption[1:]}, per arm (span QA as "
                     "(EM + F1) / 2):\n"
                     + table.to_string(index=False, float_format=lambda v: f"{v:.2f}",
                                       na_rep="-"))
        return text
    raise XstiltsError(f"unknown format {fmt!r}.\n  fix: choose one of {list(FORMATS)}.")
