"""The adaptive study: `select: {by: rank, budget: B, batch: b}` in a study file trains B of
its candidate sets (those its sizes and draws give), predicted-best first, instead of all.

    1. Rank every candidate set (`xstilts rank`'s estimates and score; OUT/rank.csv, reused
       while the study and the settings are unchanged).
    2. Pick the b untrained sets predicted best: by the ranking's score until two sets are
       measured, then by the model's predicted gain (ties: the ranking's order).
    3. Train the sets picked so far and the baseline (the study narrowed to them, run as any
       study into OUT: finished jobs in the store are reused), read each set's measured gain
       (the average over the targets, its seeds' mean minus the baseline's, points).
    4. Refit the model: ridge regression (penalty RIDGE, intercept free) of the measured gains
       on the candidates' estimates (rank.csv's `average` rows: score, text_sim, task_sim,
       logme, set_lang_overlap, set_lang_distance, and log2 k), each standardised over all
       candidates; an estimate missing for some candidate, or constant, is left out.
    5. Repeat from 2 until B sets are trained (or none is left).

Every step (what was picked, by what, the predictions, the coefficients, the measured gains)
is written to OUT/select.json as it happens. Nothing is random beyond the study's seeds (the
samples of the estimates use the study's `seed`), so the same command makes the same choices:
killed, it is run again and replays the steps, reusing every finished job.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.artifacts import write_json_atomic
from xstilts.errors import XstiltsError
from xstilts.rank.combine import AVERAGE, read_rank
from xstilts.study import predicted
from xstilts.study.spec import Draw, Study

SELECT_FILE = "select.json"
RIDGE = 1.0
FEATURES = ["score", "text_sim", "task_sim", "logme", "set_lang_overlap", "set_lang_distance",
            "log2_k"]
logger = logging.getLogger(__name__)


def candidate_features(rank: pd.DataFrame) -> pd.DataFrame:
    """The candidates' standardised estimates (index: set), the model's inputs."""
    rows = rank[rank["target"] == AVERAGE].set_index("set")
    x = rows[[c for c in FEATURES if c != "log2_k"]].astype(float).copy()
    x["log2_k"] = np.log2(rows["k"].astype(float))
    x = x.loc[:, x.notna().all()]
    sd = x.std(ddof=0)
    x = x.loc[:, sd > 1e-12]
    return (x - x.mean()) / x.std(ddof=0)


def fit_ridge(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> tuple[float, np.ndarray]:
    """(intercept, weights) minimising ||y - b - x w||^2 + ridge ||w||^2 (b not penalised)."""
    x_mean, y_mean = x.mean(axis=0), float(y.mean())
    xc = x - x_mean
    weights = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ (y - y_mean))
    return y_mean - float(x_mean @ weights), weights


def narrowed(study: Study, chosen: list[str]) -> Study:
    """The study restricted to the chosen sets (as `fixed` draws) and the baseline."""
    sets = [tuple(s.split(",")) for s in chosen]
    sizes = sorted({len(s) for s in sets})
    spec = study.spec.model_copy(update={
        "sizes": [0, *sizes], "draw": "all",
        "draws": {k: Draw(fixed=[list(s) for s in sets if len(s) == k]) for k in sizes}})
    return Study(spec, study.base, study.languages, study.families)


def measured(out: Path) -> dict[str, float]:
    """Each trained set's measured gain on the average over the targets (points)."""
    from xstilts.study.analysis import arm_table
    from xstilts.study.results import open_study

    data = open_study(out)
    gains = predicted.measured_gains(arm_table(data.frame, data.targets), data.targets)
    rows = gains[gains["target"] == AVERAGE]
    return dict(zip(rows["set"], rows["gain"], strict=True))


def ranking(study: Study, study_path: Path, out: Path, settings, log) -> pd.DataFrame:
    """rank.csv for the study: the one in OUT when made for this study and these settings."""
    import json

    from xstilts.rank.ranking import META_FILE, RANK_FILE, rank_key, rank_study

    meta_path = out / META_FILE
    key = rank_key(study, settings)
    if meta_path.exists() and (out / RANK_FILE).exists():
        if json.loads(meta_path.read_text(encoding="utf-8")).get("key") == key:
            log(f"select: reusing the ranking in {out / RANK_FILE}")
            return read_rank(out / RANK_FILE)
    rank_study(study, study_path, out, settings, log=log)
    return read_rank(out / RANK_FILE)


def next_batch(remaining: list[str], prior: pd.Series, features: pd.DataFrame,
               gains: dict[str, float], size: int) -> dict:
    """The step's choice: {"by", "sets", "predicted" (every remaining set), "model"}."""
    if len(gains) >= 2 and features.shape[1]:
        trained = list(gains)
        intercept, weights = fit_ridge(features.loc[trained].to_numpy(),
                                       np.array([gains[s] for s in trained]))
        values = features.loc[remaining].to_numpy() @ weights + intercept
        predictions = dict(zip(remaining, (float(v) for v in values), strict=True))
        model = {"intercept": intercept, "ridge": RIDGE, "trained_on": len(trained),
                 "weights": dict(zip(features.columns, (float(w) for w in weights),
                                     strict=True))}
        by = "model"
    else:
        predictions = {s: float(prior[s]) for s in remaining}
        model, by = None, "ranking"
    order = sorted(remaining, key=lambda s: (-predictions[s], list(prior.index).index(s)))
    return {"by": by, "sets": order[:size], "predicted": predictions, "model": model}


def run_adaptive(study: Study, study_path: Path, out: Path, store_dir: Path | None = None,
                 backend: str = "local", workers: int | None = None,
                 address: str | None = None, log=None) -> dict:
    """Run the study's `select` (module docstring); returns select.json's content."""
    from xstilts.rank.estimates import SampleSettings
    from xstilts.rank.ranking import candidate_sets
    from xstilts.study.study import run_study

    select = study.spec.select
    say = log or logger.info
    if 0 not in study.spec.sizes:
        raise XstiltsError(f"{study_path}: `select` measures each set's gain over the baseline,"
                           " but sizes has no 0.\n  fix: add 0 to sizes.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = SampleSettings(examples=select.examples, seed=study.spec.seed)
    rank = ranking(study, study_path, out, settings, say)
    prior = rank[rank["target"] == AVERAGE].set_index("set")["score"]  # best first
    features = candidate_features(rank)
    candidates = [",".join(s) for s in candidate_sets(study)]
    budget = min(select.budget, len(candidates))
    record = {"study": study.spec.name, "by": select.by, "budget": select.budget,
              "batch": select.batch, "candidates": len(candidates), "seed": study.spec.seed,
              "features": list(features.columns), "steps": []}
    chosen: list[str] = []
    gains: dict[str, float] = {}
    while len(chosen) < budget:
        remaining = [s for s in candidates if s not in chosen]
        step = next_batch(remaining, prior.loc[remaining], features, gains,
                          min(select.batch, budget - len(chosen)))
        chosen += step["sets"]
        number = len(record["steps"]) + 1
        record["steps"].append({"step": number, **step, "measured": None})
        write_json_atomic(out / SELECT_FILE, record)
        say(f"select step {number}: by {step['by']}: training "
            + ", ".join(f"{s} (predicted {step['predicted'][s]:+.3g})" for s in step["sets"])
            + f"; {len(chosen)} of {budget} set(s)")
        run_study(narrowed(study, chosen), out, store_dir, backend, workers, address, log=log)
        gains = {s: g for s, g in measured(out).items() if s in chosen}
        record["steps"][-1]["measured"] = {s: gains.get(s, math.nan) for s in step["sets"]}
        write_json_atomic(out / SELECT_FILE, record)
    record["chosen"] = chosen
    record["measured"] = gains
    write_json_atomic(out / SELECT_FILE, record)
    say(f"select: {len(chosen)} set(s) trained of {len(candidates)} candidates; log in "
        f"{out / SELECT_FILE}")
    return record
