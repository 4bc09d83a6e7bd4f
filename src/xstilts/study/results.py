"""A study's results as one table: `load_results(DIR)` for notebooks, and what the report reads.

DIR is a study's --out folder (plan.json names its store and describes the study) or a store
folder (store.sqlite; the pool's languages and the targets' formats are then unknown, so the
columns that need them are empty).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xstilts.errors import XstiltsError
from xstilts.study.budget import arm_covariates
from xstilts.study.store import RESULT_COLUMNS, Store

PLAN_FILE = "plan.json"
ARM_COLUMNS = ("study", "run_id", "intermediate", "k", "n_languages", "intermediate_seed",
               "target_seed")


@dataclass
class StudyData:
    """One study's results table with what the store and plan.json say about it."""

    folder: Path  # where the report goes
    name: str
    store: Store
    plan: dict | None  # plan.json, when DIR is a study folder
    frame: pd.DataFrame  # load_results' table
    targets: list[str]  # in the study's order
    main_metrics: dict[str, str]  # target -> the metric its score is

    @property
    def pool_languages(self) -> dict[str, list[str]] | None:
        """Training languages of each pool task (None without plan.json)."""
        return (self.plan or {}).get("pool")

    def compute_seconds(self) -> tuple[float, int]:
        """Total seconds of this study's finished jobs (from their records) and their number."""
        if self.plan:
            keys = set(self.plan["jobs"])
        else:  # a bare store: the jobs logged as done for this study
            keys = {e["key"] for e in self.store.events("done") if e["study"] == self.name}
        total, count = 0.0, 0
        for key in sorted(keys):
            path = self.store.record_path(key)
            if path.exists():
                total += float(json.loads(path.read_text(encoding="utf-8")).get("seconds") or 0)
                count += 1
        return total, count


def _find(folder: Path) -> tuple[Store, dict | None]:
    """The store and plan.json (if any) a folder stands for."""
    plan_path = folder / PLAN_FILE
    if plan_path.exists():
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        root = Path(plan["store"])
        if not (root / "store.sqlite").exists() and (folder / "store" / "store.sqlite").exists():
            root = folder / "store"  # the study folder was moved or copied with its store
        if not (root / "store.sqlite").exists():
            raise XstiltsError(f"{plan_path}: its store {plan['store']} has no store.sqlite.\n"
                               "  fix: run the study first (xstilts study STUDY.yaml --out "
                               f"{folder}), or copy its store to {folder / 'store'}.")
        return Store(root), plan
    if (folder / "store.sqlite").exists():
        return Store(folder), None
    raise XstiltsError(f"{folder}: neither a study folder ({PLAN_FILE}) nor a store "
                       "(store.sqlite).\n  fix: give the --out folder of `xstilts study`, or "
                       "its store folder.")


def open_study(folder: str | Path, study: str | None = None) -> StudyData:
    """Read one study's results and description from its folder (or its store's folder)."""
    folder = Path(folder)
    store, plan = _find(folder)
    name = study or (plan or {}).get("study")
    if name is None:
        names = sorted({r["study"] for r in store.results()})
        if len(names) != 1:
            raise XstiltsError(f"{folder}: the store holds the studies {names or 'none'}.\n"
                               "  fix: name one with --study NAME (or give the study's --out "
                               "folder).")
        name = names[0]
    rows = store.results(name)
    if not rows:
        raise XstiltsError(f"{store.db}: no results for study {name!r} yet.\n  fix: run it "
                           "(xstilts study STUDY.yaml --out DIR); results are written when its "
                           "evaluations are done.")
    frame = _table(rows, store, plan)
    described = (plan or {}).get("targets") or {}
    targets = [t for t in described if t in set(frame["target"])]
    targets += sorted(set(frame["target"]) - set(targets))
    main = {t: main_metric(t, described.get(t), frame) for t in targets}
    frame["main"] = [main[t] == m for t, m in zip(frame["target"], frame["metric"], strict=True)]
    return StudyData(folder, name, store, plan, frame, targets, main)


def load_results(folder: str | Path, study: str | None = None) -> pd.DataFrame:
    """One row per evaluation job × target × language × metric, with its arm's columns
    (language 'avg': the target's mean over its languages; job '' there)."""
    return open_study(folder, study).frame


def main_metric(target: str, described: dict | None, frame: pd.DataFrame) -> str:
    """The metric a target is scored by: plan.json's (task option or the format's), else F1
    where the target reports it (tagging, QA, mining), else accuracy."""
    if described and described.get("main_metric"):
        return described["main_metric"]
    metrics = set(frame.loc[frame["target"] == target, "metric"])
    for metric in ("f1", "accuracy"):
        if metric in metrics:
            return metric
    return sorted(metrics)[0]


def _split_of(output: dict) -> str:
    """The split an evaluation job's output says it was scored on ("" if it says nothing)."""
    return str(output.get("split") or str(output.get("file", "")).split("-", 1)[0])


def _table(rows: list[dict], store: Store, plan: dict | None) -> pd.DataFrame:
    """The results rows with the set's languages, English membership and the split."""
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    pool = (plan or {}).get("pool")
    sets = {s: [t for t in s.split(",") if t] for s in frame["intermediate"].unique()}
    if pool:
        langs = {s: sorted(set().union(*(pool.get(t, []) for t in tasks)))
                 for s, tasks in sets.items()}
        frame["languages"] = frame["intermediate"].map(lambda s: ",".join(langs[s]))
        frame["english_in_set"] = frame["intermediate"].map(lambda s: "en" in langs[s])
        # A set of every pool task is the only set of its size (analysis.units_by_k).
        frame["whole_pool"] = frame["intermediate"].map(lambda s: set(sets[s]) == set(pool))
    else:
        frame["languages"] = pd.NA
        frame["english_in_set"] = pd.NA
        frame["whole_pool"] = False
    frame["baseline"] = frame["k"] == 0
    # Each arm's budget regime and the examples and tokens its intermediate job saw (a
    # covariate; 0 for the baseline), from plan.json and the job's output (study/budget.py).
    covariates = arm_covariates(plan or {}, store.output)
    for column in ("budget", "examples_seen", "tokens_seen"):
        frame[column] = [covariates.get(run, {}).get(column) for run in frame["run_id"]]
    # The split each evaluation was scored on: its output's "split", else its prediction
    # file's name (test-de.tsv -> test); an average row ('' job) takes its languages' split
    # ("dev/test" where they are on both: UD-POS kk has no dev set).
    splits = {job: _split_of(store.output(job) or {}) if job else ""
              for job in frame["job"].unique()}
    frame["split"] = frame["job"].map(splits)
    known = frame[frame["split"] != ""].groupby(["run_id", "target"])["split"].agg(
        lambda s: "/".join(sorted(set(s))))
    frame["split"] = [s or known.get((r, t), "") for s, r, t in
                      zip(frame["split"], frame["run_id"], frame["target"], strict=True)]
    return frame
