"""`xstilts report DIR`: a study's answer with its uncertainty, as report.md, a self-contained
report.html, results.csv and the plots (PNG), all computed from the store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from xstilts import __version__
from xstilts.artifacts import write_bytes_atomic, write_text_atomic
from xstilts.evaluate.average import QA_SCORE, task_score_metric
from xstilts.evaluate.xtreme import average_caption
from xstilts.study import analysis, paired, plots
from xstilts.study.render import (
    Box,
    Bullets,
    Figure,
    Heading,
    Para,
    Table,
    interval,
    markdown,
    num,
    page,
)
from xstilts.study.results import StudyData, open_study

OUTPUTS = ("report.md", "report.html", "results.csv")


def write_report(folder: str | Path, study: str | None = None, out: str | Path | None = None,
                 n_boot: int = analysis.N_BOOT, n_boot_paired: int = paired.N_BOOT,
                 seed: int = 0) -> dict[str, Path]:
    """Write the report of the study in `folder` (its --out folder, or a store) into `out`
    (default `folder`); returns the written files by name."""
    data = open_study(folder, study)
    out = Path(out or data.folder)
    out.mkdir(parents=True, exist_ok=True)
    blocks = build(data, n_boot, n_boot_paired, seed)
    written = {}
    for block in blocks:
        if isinstance(block, Figure):
            write_bytes_atomic(out / block.file, block.png)
            written[block.file] = out / block.file
    title = f"Study report: {data.name}"
    write_text_atomic(out / "report.md", markdown(title, blocks))
    write_text_atomic(out / "report.html", page(title, blocks))
    write_text_atomic(out / "results.csv", data.frame.to_csv(index=False))
    written.update({name: out / name for name in OUTPUTS})
    return written


def build(data: StudyData, n_boot: int, n_boot_paired: int, seed: int) -> list:
    """The report's blocks, every number from the store."""
    frame, targets = data.frame, data.targets
    table = analysis.arm_table(frame, targets)
    by_k = analysis.mean_by_k(table, n_boot=n_boot, seed=seed)
    slope = analysis.slope_log2k(table)
    terms, reg_notes, reg_n = analysis.scaling_regression(table)
    by_lang = analysis.by_k_language(frame)
    effect = analysis.same_language_effect(frame, n_boot=n_boot, seed=seed)
    matrix = paired.transfer_matrix(data, n_boot_paired, seed)
    best, bench = analysis.best_sets(table, targets, dev_scores(data))
    split = "/".join(sorted(set(frame.loc[frame["language"] != "avg", "split"]) - {""})) or "test"
    described = analysis.average_description(frame, targets)
    caption = average_caption(described)
    metrics = ", ".join(f"{t} ({data.main_metrics[t]})" for t in targets)
    contributes = {t: task_score_metric(set(frame.loc[frame["target"] == t, "metric"]),
                                        data.main_metrics[t]) for t in targets}
    qa = [t for t, m in contributes.items() if m == QA_SCORE]
    blocks: list = [Para(f"{len(table)} arm(s) with results; targets and their main metrics: "
                         f"{metrics}; scores in percent, on the split "
                         f"{described.get('splits') or split}."),
                     Para(f"Average over the targets: the {caption}; each target's main metric "
                          "averaged over its languages, then the mean over the targets"
                          + (f", span QA as (EM + F1) / 2 (XTREME's rule): {', '.join(qa)}"
                             if qa else "") + ".")]
    blocks += summary(table, by_k, slope, terms, effect, matrix, bench, split)
    blocks += [Heading("Average over the targets vs the number of intermediate tasks"),
               Figure("average_vs_k.png", plots.average_vs_k(table, by_k, slope, len(targets),
                                                             described["label"]),
                      f"{described['label']} vs k",
                      f"The {caption}: each target's main metric ((EM + F1) / 2 for span QA) "
                      "averaged over its languages, then over the targets. Dots: arms; bars: "
                      "95% bootstrap intervals of the mean over sets and seeds "
                      f"({n_boot} resamples of the arms, seed {seed}).")]
    base = by_k.loc[by_k["k"] == 0, "mean"]
    base_mean = float(base.iloc[0]) if len(base) else math.nan
    few = [str(r.k) for r in by_k.itertuples() if r.arms < 10]
    blocks.append(Para("Arms are resampled as independent units; the seeds of one set share "
                       "that set, so with few sets the intervals are too narrow"
                       + (f", as they are with fewer than 10 arms (here k = {', '.join(few)})"
                          if few else "") + ". Read them as a lower bound on the uncertainty.",
                       note=True))
    blocks.append(Table(["k", "arms", "sets", "mean (%)", "95% CI", "gain over baseline"],
                        [[str(r.k), str(r.arms), str(r.sets), num(r.mean),
                          interval(r.ci_low, r.ci_high),
                          "–" if r.k == 0 else num(r.mean - base_mean, sign=True)]
                         for r in by_k.itertuples()]))
    blocks += [Heading("More tasks or more languages?"),
               Para(f"Least squares over the {reg_n} arm(s) with k ≥ 1: average ~ intercept + "
                    "log2(k) + number of distinct training languages + English in the set; "
                    "95% t intervals. The log2(k) term is the change per doubling of k at a "
                    "fixed number of languages; n_languages the change per added language at "
                    "a fixed k."),
               Table(["term", "estimate (points)", "95% CI", "p"],
                     [[r.term, num(r.estimate, sign=True), interval(r.ci_low, r.ci_high),
                       num(r.p, 3)] for r in terms.itertuples()])]
    blocks += [Para(n) for n in reg_notes]
    blocks += [Heading("Per target and language"),
               Figure("targets_vs_k.png", plots.targets_vs_k(by_lang, targets,
                                                             data.main_metrics),
                      "score and gain vs k per target and language",
                      "Left: mean main score over arms per k and language (dashed: the "
                      "baseline's). Right: gain over the baseline in percentage points."),
               Table(["target", "language", "split", "k", "arms", "mean (%)", "gain (points)"],
                     [[r.target, r.language, r.split, str(r.k), str(r.arms), num(r.mean),
                       "–" if r.k == 0 else num(r.gain, sign=True)]
                      for r in by_lang.itertuples()])]
    blocks += same_language_blocks(effect, data, n_boot, seed)
    blocks += transfer_blocks(matrix, targets, n_boot_paired, seed)
    blocks += best_blocks(best, bench, split)
    blocks.append(methods(data, table, n_boot, n_boot_paired, seed))
    return blocks


def _verdict(low: float, high: float, up: str, down: str) -> str:
    if math.isnan(low):
        return "no interval (too few arms)"
    if low > 0:
        return up
    if high < 0:
        return down
    return "the interval includes 0: no detectable effect with these arms"


def summary(table, by_k, slope, terms, effect, matrix, bench, split: str = "test") -> list:
    """The answers, each with its interval."""
    items = []
    for r in by_k.itertuples():
        label = "baseline (k = 0)" if r.k == 0 else f"k = {r.k}"
        items.append(f"Average, {label}: {num(r.mean)}% (95% CI {interval(r.ci_low, r.ci_high)}"
                     f", {r.arms} arm(s))")
    items.append(f"More tasks: {num(slope['slope'], sign=True)} points per doubling of k "
                 f"(95% CI {interval(slope['ci_low'], slope['ci_high'])}, {slope['n']} arms): "
                 + _verdict(slope["ci_low"], slope["ci_high"], "the average rises with k",
                            "the average falls with k"))
    for term, what in (("n_languages", "More languages (at a fixed k)"),
                       ("english_in_set", "English in the set (at fixed k and languages)")):
        row = terms[terms["term"] == term]
        if len(row):
            r = row.iloc[0]
            items.append(f"{what}: {num(r.estimate, sign=True)} points (95% CI "
                         f"{interval(r.ci_low, r.ci_high)}): "
                         + _verdict(r.ci_low, r.ci_high, "helps", "hurts"))
    for r in effect.itertuples():
        if not r.arms_with or not r.arms_without:
            items.append(f"Same language, {r.language}: not comparable ("
                         + ("no set has" if not r.arms_with else "every set has")
                         + " a task in it)")
            continue
        items.append(f"Same language, {r.language}: sets with a task in it gain "
                     f"{num(r.difference, sign=True)} points more than sets without (95% CI "
                     f"{interval(r.ci_low, r.ci_high)}): "
                     + _verdict(r.ci_low, r.ci_high, "helps", "hurts"))
    tested = matrix[matrix["note"] == ""]
    if len(matrix):
        items.append(f"Single tasks: {int(tested['significant'].sum())} of {len(tested)} tested "
                     "task × target cells differ from the baseline (paired bootstrap, 95%)")
    items.append(f"Best set per target, chosen on {split} (optimistic): average over the "
                 f"targets {num(bench['oracle'])}% vs the baseline's {num(bench['baseline'])}%")
    return [Heading("Answers"), Bullets(items)]


def same_language_blocks(effect: pd.DataFrame, data: StudyData, n_boot: int, seed: int) -> list:
    """The same-language section (needs the pool's languages from plan.json)."""
    blocks: list = [Heading("Same-language effect")]
    if data.pool_languages is None:
        return blocks + [Para("Not computed: the pool's languages are unknown without the "
                              "study's plan.json (report the study's --out folder).")]
    blocks.append(Para("For each target language: the mean gain over the baseline (main "
                       "metric, averaged over the targets tested in that language) of arms "
                       "whose set contains a task trained in the language, and of arms whose "
                       f"set has none; the difference's 95% interval resamples each group's "
                       f"arms ({n_boot} resamples, seed {seed})."))
    if len(effect):
        blocks.append(Figure("same_language.png", plots.same_language(effect),
                             "same-language effect per target language",
                             "Difference in gain (with − without) and its 95% bootstrap "
                             "interval; '–' rows have too few arms on one side."))
    blocks.append(Table(["language", "arms with", "arms without", "gain with", "gain without",
                         "difference", "95% CI"],
                        [[r.language, str(r.arms_with), str(r.arms_without),
                          num(r.gain_with, sign=True), num(r.gain_without, sign=True),
                          num(r.difference, sign=True), interval(r.ci_low, r.ci_high)]
                         for r in effect.itertuples()]))
    return blocks


def transfer_blocks(matrix: pd.DataFrame, targets: list[str], n_boot: int, seed: int) -> list:
    """The k = 1 transfer heatmap and its table."""
    blocks: list = [Heading("Transfer from single intermediate tasks (k = 1)")]
    if matrix.empty:
        return blocks + [Para("No arms with a single intermediate task (k = 1).")]
    blocks += [Figure("transfer_heatmap.png", plots.transfer_heatmap(matrix, targets),
                      "gain over the baseline per single task and target",
                      "Gain of each single task's arms over the baseline arms (main score, "
                      "mean over languages; seeds averaged). * : the 95% interval of a paired "
                      f"bootstrap over test examples ({n_boot} resamples, seed {seed}) "
                      "excludes 0."),
               Table(["intermediate task", "target", "gain (points)", "95% CI", "p",
                      "test units", "note"],
                     [[r.task, r.target, num(r.gain, sign=True), interval(r.ci_low, r.ci_high),
                       num(r.p, 3), str(r.examples), r.note] for r in matrix.itertuples()]),
               Para("The paired bootstrap resamples test examples (sentences, questions or "
                    "source sentences for F1-type metrics, recomputed with the project's "
                    "metric functions), not seeds: it says how sure the gain is on this test "
                    "set; seed-to-seed variation shows in the intervals per k above.",
                    note=True)]
    return blocks


def best_blocks(best: pd.DataFrame, bench: dict, split: str) -> list:
    """The best set per target and the average over the targets it gives."""
    rows = [[r.target, num(r.baseline), r.best_set or "–", num(r.k, 0), num(r.score),
             num(r.gain, sign=True), r.dev_set or "–", num(r.dev_set_score)]
            for r in best.itertuples()]
    undevved = [r.target for r in best.itertuples() if not r.dev_set]
    blocks = [Heading("Best intermediate set per target"),
              Table(["target", "baseline (%)", f"best set on {split}", "k", "its score (%)",
                     "gain", "set chosen on dev", "its score (%)"], rows),
              Bullets([f"Baseline average over the targets: {num(bench['baseline'])}%",
                       f"Each target's best set, chosen on {split}: {num(bench['oracle'])}%",
                       "Each target's set chosen on the targets' English dev scores: "
                       + (f"{num(bench['dev_chosen'])}%" if not undevved else
                          f"– ({', '.join(undevved)}: no dev scores; an untrained target "
                          "has none)"),
                       f"Best single set for all targets ({bench['best_single_set'] or '–'}): "
                       f"{num(bench['best_single_score'])}%"]),
              Para("Scores: each target's main metric averaged over its languages, (EM + F1) "
                   "/ 2 for span QA (what it contributes to the average over the targets)."),
              Para(f"Choosing the set on the same {split} examples it is scored on is "
                   "optimistic: the maximum over many noisy sets is biased upwards. The "
                   "dev-chosen column picks each target's set by the mean English dev score "
                   "of its target training (where the target is trained), then reports its "
                   f"{split} score.", note=True)]
    return blocks


def dev_scores(data: StudyData) -> pd.DataFrame:
    """Each arm's target dev score (the target training's best checkpoint score)."""
    rows = []
    for arm in (data.plan or {}).get("arms", []):
        for target, key in (arm.get("target_jobs") or {}).items():
            output = data.store.output(key) if key else None
            if output and output.get("best_score") is not None:
                rows.append({"run_id": arm["run_id"], "target": target,
                             "dev": float(output["best_score"])})
    return pd.DataFrame(rows, columns=["run_id", "target", "dev"])


def _compact(value):
    """A draw without its unset fields."""
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def _settings(values: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items() if v is not None) or "–"


def methods(data: StudyData, table: pd.DataFrame, n_boot: int, n_boot_paired: int,
            seed: int) -> Box:
    """What a reader needs to reproduce the study."""
    plan = data.plan or {}
    spec = plan.get("spec") or {}
    seconds, finished = data.compute_seconds()
    unknown = "unknown (no plan.json)"
    pool = plan.get("pool")
    items = [("study", data.name), ("store", str(data.store.root)),
             ("encoder", f"{plan.get('encoder', unknown)} "
                         f"({_settings((plan.get('settings') or {}).get('encoder'))})"),
             ("pool", "; ".join(f"{t} ({', '.join(langs)})" for t, langs in pool.items())
              if pool else unknown)]
    for name, info in (plan.get("targets") or {}).items():
        limit = info.get("test_limit")
        training = (f"training: {_settings(info.get('training'))}" if info.get("trained", True)
                    else "not trained (scored zero-shot with the start model)")
        items.append((f"target {name}", f"format {info['format']}, main metric "
                      f"{info['main_metric']}, languages {', '.join(info['languages'])}, "
                      f"{info['split']} split, "
                      + (f"first {limit} examples" if limit else "every example")
                      + f"; {training}"))
    draws = {str(k): _compact(v) for k, v in (spec.get("draws") or {}).items()}
    items += [("sizes k", ", ".join(map(str, spec.get("sizes", sorted(table["k"].unique()))))),
              ("draw", f"{json.dumps(_compact(spec.get('draw')))}; per k: "
                       f"{json.dumps(draws)}; seed {spec.get('seed', '–')}" if spec else unknown),
              ("seeds", f"intermediate {spec['seeds']['intermediate']}, target "
                        f"{spec['seeds']['target']}" if spec else unknown),
              ("intermediate training", _settings((plan.get("settings") or {})
                                                  .get("intermediate")) if plan else unknown),
              ("arms", f"{len(table)} with results"
                       + (f" of {len(plan['arms'])} planned" if plan else "")),
              ("jobs", ", ".join(f"{k} {v}" for k, v in plan["counts"].items()) + " planned; "
               f"{finished} finished" if plan else f"{finished} finished"),
              ("compute", f"{seconds:.0f} s ({seconds / 3600:.2f} h) of job time, summed over "
                          f"the {finished} finished jobs' records"),
              ("statistics", f"95% intervals; bootstrap over arms {n_boot} resamples, paired "
                             f"bootstrap over test examples {n_boot_paired} resamples, seed "
                             f"{seed}; regressions by least squares with t intervals"),
              ("xstilts", f"{__version__} (jobs by {plan.get('xstilts', unknown)})")]
    return Box("Methods", items)
