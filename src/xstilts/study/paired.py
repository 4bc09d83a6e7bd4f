"""Per-example scores of evaluation jobs, and paired bootstrap tests over test examples: the
significance of each single intermediate task's gain over the baseline (the transfer heatmap).

Each job's test set becomes units (sentences, questions, lines, source sentences) with additive
counts whose sums give the metric exactly as the project's metric functions do (accuracy,
macro F1, seqeval's micro chunk F1, SQuAD/MLQA EM and F1, BUCC's pair F1); a job whose units
do not reproduce its stored score is not tested. A resample draws units with replacement,
the same draw for the baseline's and the run's predictions (they score the same examples).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.evaluate.metrics import get_entities, mlqa_scores, squad_scores
from xstilts.evaluate.xtreme import read_label, read_qa_labels, read_qa_predictions, read_tag
from xstilts.study.results import StudyData

KIND = {"classification": "label", "multiple_choice": "label", "retrieval": "label",
        "tagging": "tag", "span_qa": "qa", "bitext_mining": "pairs"}
N_BOOT = 1000
LEVEL = 0.95


@dataclass
class Units:
    """A test set as units with additive counts; `score` maps count sums to the metric (%)."""

    stats: np.ndarray  # (units, counts)
    score: Callable[[np.ndarray], np.ndarray]  # (..., counts) -> (...)
    gold: str  # the gold file's text: paired jobs must share it


def _ratio(num, den):
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(100.0 * num, den, out=np.zeros(np.broadcast(num, den).shape),
                     where=den > 0)


def _label_units(gold: list[str], pred: list[str], metric: str):
    if metric == "macro_f1":  # per label: true positives, gold count, predicted count
        labels = sorted(set(gold) | set(pred))
        g, p = np.array(gold)[:, None], np.array(pred)[:, None]
        lab = np.array(labels)[None, :]
        stats = np.concatenate([(g == lab) & (p == lab), g == lab, p == lab], axis=1)

        def macro(s):
            n = len(labels)
            tp, ng, npred = s[..., :n], s[..., n:2 * n], s[..., 2 * n:]
            used = ng + npred > 0  # macro_f1 leaves out labels never gold nor predicted
            f1 = np.divide(2 * tp, ng + npred, out=np.zeros(tp.shape), where=used)
            return 100.0 * f1.sum(axis=-1) / np.maximum(used.sum(axis=-1), 1)

        return stats.astype(float), macro
    if metric != "accuracy":
        return None
    stats = np.array([[float(a == b), 1.0] for a, b in zip(gold, pred, strict=True)])
    return stats, lambda s: _ratio(s[..., 0], s[..., 1])


def _tag_units(gold: list[list[str]], pred: list[list[str]], metric: str):
    # seqeval's chunks never cross a sentence ("O" after each), so its counts add up.
    rows = []
    for g, p in zip(gold, pred, strict=True):
        true, found = set(get_entities([*g, "O"])), set(get_entities([*p, "O"]))
        rows.append([len(true & found), len(found), len(true),
                     sum(a == b for a, b in zip(g, p, strict=True)), len(g)])
    scores = {"f1": lambda s: _ratio(2 * s[..., 0], s[..., 1] + s[..., 2]),
              "precision": lambda s: _ratio(s[..., 0], s[..., 1]),
              "recall": lambda s: _ratio(s[..., 0], s[..., 2]),
              "accuracy": lambda s: _ratio(s[..., 3], s[..., 4])}
    return np.array(rows, dtype=float).reshape(-1, 5), scores.get(metric)


def _qa_units(preds: dict, refs: dict, metric: str, lang: str, mlqa: bool):
    rows = []
    with warnings.catch_warnings():  # an unanswered question scores 0, as intended here
        warnings.simplefilter("ignore")
        for qid, truths in refs.items():
            one = {qid: preds[qid]} if qid in preds else {}
            s = mlqa_scores(one, {qid: truths}, lang) if mlqa else squad_scores(one, {qid: truths})
            rows.append([s["exact_match"], s["f1"], 1.0])
    scores = {"exact_match": lambda s: s[..., 0] / s[..., 2],
              "f1": lambda s: s[..., 1] / s[..., 2],
              "em_f1": lambda s: (s[..., 0] + s[..., 1]) / 2 / s[..., 2]}
    return np.array(rows, dtype=float).reshape(-1, 3), scores.get(metric)


def _pair_units(gold: list[str], pred: list[str], metric: str):
    gold_pairs = {tuple(x.split("\t")) for x in gold if x}
    pred_pairs = {tuple(x.split("\t")) for x in pred if x}
    sources = sorted({p[0] for p in gold_pairs | pred_pairs})
    rows = [[sum(p[0] == s for p in pred_pairs & gold_pairs),
             sum(p[0] == s for p in pred_pairs), sum(p[0] == s for p in gold_pairs)]
            for s in sources]
    scores = {"f1": lambda s: _ratio(2 * s[..., 0], s[..., 1] + s[..., 2]),
              "precision": lambda s: _ratio(s[..., 0], s[..., 1]),
              "recall": lambda s: _ratio(s[..., 0], s[..., 2])}
    return np.array(rows, dtype=float).reshape(-1, 3), scores.get(metric)


def infer_kind(pred: Path, gold: Path) -> str:
    """The file kind of an evaluation (used when plan.json does not give the format)."""
    if gold.suffix == ".json":
        return "qa"
    lines = read_label(gold)
    if any("\t" in line for line in lines):
        return "pairs"
    return "tag" if "" in lines else "label"


def job_units(folder: Path, output: dict, metric: str, lang: str, fmt: str | None = None,
              options: dict | None = None) -> tuple[Units | None, str]:
    """The units of one finished evaluation job, or None and why it cannot be resampled."""
    if not output.get("labels"):
        return None, "no gold labels kept"
    pred, gold = folder / "predictions" / output["file"], folder / "labels" / output["file"]
    if not (pred.exists() and gold.exists()):
        return None, f"{pred.name} or its labels are missing in {folder}"
    kind = KIND.get(fmt) if fmt else infer_kind(pred, gold)
    if kind == "qa":
        mlqa = (options or {}).get("metric") == "mlqa"
        stats, score = _qa_units(read_qa_predictions(pred), read_qa_labels(gold), metric, lang,
                                 mlqa)
    elif kind == "tag":
        stats, score = _tag_units(read_tag(gold), read_tag(pred), metric)
    elif kind == "pairs":
        stats, score = _pair_units(read_label(gold), read_label(pred), metric)
    elif kind == "label":
        found = _label_units(read_label(gold), read_label(pred), metric)
        stats, score = found if found else (None, None)
    else:
        return None, f"format {fmt} has no per-example scores"
    if score is None or not len(stats):
        return None, f"metric {metric} has no per-example decomposition here"
    stored = output["metrics"].get(metric)
    if stored is None or not math.isclose(float(score(stats.sum(axis=0))), stored,
                                          abs_tol=1e-6):
        return None, f"per-example scores do not reproduce the stored {metric}"
    return Units(stats, score, gold.read_text(encoding="utf-8")), ""


def paired_bootstrap(runs: dict[str, list[Units]], bases: dict[str, list[Units]],
                     n_boot: int = N_BOOT, seed=0, level: float = LEVEL) -> dict:
    """Gain of the runs' mean over the baselines' mean, in the mean over languages of the
    metric, with a percentile interval and a two-sided p-value from resampling test units:
    per language (sorted), weights rng.multinomial(n, [1/n] * n, n_boot), the same for both
    groups (rng = np.random.default_rng(seed))."""
    rng = np.random.default_rng(seed)
    languages = sorted(runs)
    observed, draws = 0.0, np.zeros(n_boot)
    for lang in languages:
        n = len(runs[lang][0].stats)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)

        def mean_score(group, w):
            return np.mean([u.score(w @ u.stats) for u in group], axis=0)

        observed += float(mean_score(runs[lang], np.ones(n)) - mean_score(bases[lang], np.ones(n)))
        draws += mean_score(runs[lang], weights) - mean_score(bases[lang], weights)
    observed, draws = observed / len(languages), draws / len(languages)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    p = min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0)))
    return {"gain": observed, "ci_low": float(low), "ci_high": float(high), "p": float(p),
            "significant": bool(low > 0 or high < 0)}


def transfer_matrix(data: StudyData, n_boot: int = N_BOOT, seed: int = 0,
                    level: float = LEVEL) -> pd.DataFrame:
    """Each single intermediate task (k = 1) × target: the gain of its arms over the baseline
    arms in the target's main score, tested by a paired bootstrap over test examples (seeded
    with [seed, task row, target column]); seeds are averaged, not resampled."""
    frame = data.frame
    rows = frame[frame["main"] & (frame["language"] != "avg")]
    singles = sorted(rows.loc[rows["k"] == 1, "intermediate"].unique())
    described = (data.plan or {}).get("targets") or {}
    cache: dict[str, tuple[Units | None, str]] = {}

    def units(job: str, target: str, lang: str, metric: str):
        if job not in cache:
            output = data.store.output(job)
            folder = _folder(data, job)
            info = described.get(target, {})
            cache[job] = ((None, "evaluation not found") if output is None or folder is None
                          else job_units(folder, output, metric, lang, info.get("format"),
                                         info.get("options")))
        return cache[job]

    out = []
    for i, task in enumerate(singles):
        for j, target in enumerate(data.targets):
            here = rows[rows["target"] == target]
            run, base = here[here["intermediate"] == task], here[here["k"] == 0]
            cell = {"task": task, "target": target, "gain": math.nan, "ci_low": math.nan,
                    "ci_high": math.nan, "p": math.nan, "significant": False, "examples": 0,
                    "note": ""}
            if run.empty or base.empty:
                cell["note"] = "no baseline" if base.empty else "no results"
                out.append(cell)
                continue
            cell["gain"] = float(run.groupby("language")["value"].mean().mean()
                                 - base.groupby("language")["value"].mean().mean())
            groups, why = {}, ""
            for lang in sorted(set(run["language"]) & set(base["language"])):
                metric = data.main_metrics[target]
                found = {side: [units(job, target, lang, metric) for job in
                                sorted(set(df.loc[df["language"] == lang, "job"]))]
                         for side, df in (("run", run), ("base", base))}
                bad = [w for side in found.values() for u, w in side if u is None]
                if bad:
                    why = f"{lang}: {bad[0]}"
                    break
                every = [u for side in found.values() for u, _ in side]
                if len({u.gold for u in every}) != 1:
                    why = f"{lang}: baseline and run were tested on different examples"
                    break
                groups[lang] = ([u for u, _ in found["run"]], [u for u, _ in found["base"]])
            if why or not groups:
                cell["note"] = f"not tested ({why or 'no shared languages'})"
                out.append(cell)
                continue
            test = paired_bootstrap({k: v[0] for k, v in groups.items()},
                                    {k: v[1] for k, v in groups.items()}, n_boot,
                                    [seed, i, j], level)
            cell.update(test, examples=sum(len(v[0][0].stats) for v in groups.values()))
            out.append(cell)
    return pd.DataFrame(out, columns=["task", "target", "gain", "ci_low", "ci_high", "p",
                                      "significant", "examples", "note"])


def _folder(data: StudyData, job: str) -> Path | None:
    """An evaluation job's folder in the store (plan.json's, else found by its key)."""
    if data.plan and job in data.plan.get("jobs", {}):
        return data.store.root / data.plan["jobs"][job]["folder"]
    found = sorted((data.store.root / "evaluations").glob(f"*-{job}"))
    return found[0] if found else None
