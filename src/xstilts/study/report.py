"""`xstilts report DIR`: a study's answer with its uncertainty, as report.md, a self-contained
report.html, results.csv and the plots (PNG), all computed from the store; with --latex /
--csv its main tables too (tables/*.tex, tables/*.csv).

The statistics use the complete arms only (study/coverage.py) and treat intermediate-task
sets as their units (study/stats.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from xstilts.artifacts import write_bytes_atomic, write_text_atomic
from xstilts.errors import XstiltsError
from xstilts.evaluate.average import QA_SCORE, task_score_metric
from xstilts.evaluate.xtreme import average_caption
from xstilts.study import (
    analysis,
    paired,
    plots,
    predicted,
    regime_sections,
    regimes,
    sections,
    stats,
    tables,
)
from xstilts.study.coverage import Coverage, coverage
from xstilts.study.render import (
    Bullets,
    Figure,
    Heading,
    Para,
    Table,
    interval,
    markdown,
    num,
    page,
    regression_table,
)
from xstilts.study.results import StudyData, open_study

OUTPUTS = ("report.md", "report.html", "results.csv")


@dataclass
class Findings:
    """Everything the report states, computed once from the complete arms."""

    table: pd.DataFrame  # analysis.arm_table
    by_k: pd.DataFrame
    versus: pd.DataFrame
    slope: dict
    terms: pd.DataFrame
    reg_notes: list[str]
    by_lang: pd.DataFrame
    effect: pd.DataFrame
    matrix: pd.DataFrame
    best: pd.DataFrame
    bench: dict


def write_report(folder: str | Path, study: str | None = None, out: str | Path | None = None,
                 n_boot_paired: int = paired.N_BOOT, seed: int = 0, latex: bool = False,
                 csv: bool = False) -> dict[str, Path]:
    """Write the report of the study in `folder` (its --out folder, or a store) into `out`
    (default `folder`), and with `latex` / `csv` its main tables into out/tables; returns
    the written files by name."""
    data = open_study(folder, study)
    out = Path(out or data.folder)
    out.mkdir(parents=True, exist_ok=True)
    blocks, found, cover = build(data, n_boot_paired, seed)
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
    if latex or csv:
        main = (tables.main_tables(cover, data.frame, found) if isinstance(found, Findings)
                else tables.regime_tables(cover, found.found, found.terms))
        written.update(tables.write_tables(out / "tables", main, latex=latex, csv=csv))
    return written


def untrained_targets(data: StudyData) -> frozenset[str]:
    """Targets scored without target training (plan.json says; without it, a target whose
    baseline arms, two or more, share one evaluation per language)."""
    described = (data.plan or {}).get("targets") or {}
    if described:
        return frozenset(t for t, info in described.items() if info.get("trained") is False)
    rows = data.frame[(data.frame["k"] == 0) & (data.frame["language"] != "avg")]
    return frozenset(t for t, g in rows.groupby("target") if g["run_id"].nunique() > 1
                     and g.groupby("language")["job"].nunique().eq(1).all())


def findings(frame: pd.DataFrame, data: StudyData, n_boot_paired: int, seed: int) -> Findings:
    """The statistics over `frame` (the complete arms' rows)."""
    targets = data.targets
    untrained = untrained_targets(data)
    table = analysis.arm_table(frame, targets)
    matrix = paired.transfer_matrix(replace(data, frame=frame), n_boot_paired, seed)
    matrix["p_bh"] = stats.adjust(matrix["p"], "fdr_bh")
    matrix["significant"] = matrix["p_bh"] < stats.ALPHA
    terms, notes, _ = analysis.scaling_regression(table)
    best, bench = analysis.best_sets(table, targets, sections.dev_scores(data))
    return Findings(table, analysis.mean_by_k(table),
                    analysis.comparisons(table, fixed_baseline=set(targets) <= untrained),
                    analysis.slope_log2k(table), terms, notes,
                    analysis.by_k_language(frame, untrained=untrained),
                    analysis.same_language_effect(frame), matrix, best, bench)


def build(data: StudyData, n_boot_paired: int, seed: int
          ) -> tuple[list, Findings | regime_sections.ByRegime, Coverage]:
    """The report's blocks, every number from the store's complete arms; with the findings
    and the coverage they come from (with several budget regimes, each one's sections:
    by_regime)."""
    cover = coverage(data.frame, data.plan, data.targets)
    frame = data.frame[data.frame["run_id"].isin(cover.complete_ids)]
    if frame.empty:
        raise XstiltsError(f"{data.folder}: none of the {len(cover.arms)} planned arms of study "
                           f"{data.name!r} has all its results yet ({cover.summary()}).\n  fix: "
                           "run the study to the end (finished jobs are reused); `xstilts "
                           "study status` says what is left.")
    targets = data.targets
    split = "/".join(sorted(set(frame.loc[frame["language"] != "avg", "split"]) - {""})) or "test"
    described = analysis.average_description(frame, targets, limited=[
        t for t, d in ((data.plan or {}).get("targets") or {}).items() if d.get("test_limit")])
    metrics = ", ".join(f"{t} ({data.main_metrics[t]})" for t in targets)
    contributes = {t: task_score_metric(set(frame.loc[frame["target"] == t, "metric"]),
                                        data.main_metrics[t]) for t in targets}
    qa = [t for t, m in contributes.items() if m == QA_SCORE]
    blocks: list = [sections.coverage_note(cover),
                    Para(f"Targets and their main metrics: {metrics}; scores in percent, on "
                         f"the split {described.get('splits') or split}."),
                    Para(f"Average over the targets: the {average_caption(described)}; each "
                         "target's main metric averaged over its languages, then the mean over "
                         "the targets" + (f", span QA as (EM + F1) / 2 (XTREME's rule): "
                                          f"{', '.join(qa)}" if qa else "") + ".")]
    names = regimes.names(frame, data.plan)  # those with complete arms
    several = len(names) > 1 or len(cover.regimes) > 1
    if several:
        found, body = by_regime(data, frame, cover, names, described=described, split=split,
                                n_boot_paired=n_boot_paired, seed=seed)
    else:
        found = findings(frame, data, n_boot_paired, seed)
        body = summary(found, cover, split) + sections.coverage_blocks(cover, data.frame)
        body += regime_body(found, data, described, split, n_boot_paired, seed)
    box = sections.methods(data, found.table, cover, n_boot_paired, seed)
    if several:
        at = [key for key, _ in box.items].index("arms")
        box.items.insert(at, ("budget regimes", "; ".join(found.described.values())
                              + "; each analysed apart, the baseline shared"))
    return blocks + body + [box], found, cover


def regime_body(found: Findings, data: StudyData, described: dict, split: str,
                n_boot_paired: int, seed: int) -> list:
    """The sections after the coverage over one regime's findings (or the whole study's)."""
    targets = data.targets
    blocks = scaling_blocks(found, described, len(targets))
    blocks += sections.language_blocks(found.by_lang, targets, data.main_metrics)
    blocks += sections.same_language_blocks(found.effect, data)
    blocks += sections.transfer_blocks(found.matrix, targets, n_boot_paired, seed)
    blocks += sections.best_blocks(found.best, found.bench, split)
    return blocks + predicted.report_blocks(data.folder, found.table, targets, seed)  # rank.csv


def by_regime(data: StudyData, frame: pd.DataFrame, cover: Coverage, names: list[str], *,
              described: dict, split: str, n_boot_paired: int, seed: int
              ) -> tuple[regime_sections.ByRegime, list]:
    """Several budget regimes (study/regimes.py): each regime's statistics over its arms and
    the baseline's, the regression over all of them with log2(tokens seen)."""
    table = analysis.arm_table(frame, data.targets)
    terms, notes, arms = analysis.scaling_regression(table)
    if len(names) < 2:
        notes.append(f"{analysis.TOKENS}: only {', '.join(names) or 'no'} regime has complete "
                     "arms; left out")
    found = regime_sections.ByRegime(
        {n: findings(regimes.rows_of(frame, n), data, n_boot_paired, seed) for n in names},
        {n: regimes.describe(data.plan, n) for n in dict.fromkeys(cover.regimes + names)},
        table, terms, notes, arms)
    answers = []
    for term, what in (("log2(k)", "More tasks (per doubling of k, at a fixed number of "
                        "tokens)"), (analysis.TOKENS, "More training (per doubling of the "
                                     "tokens seen, at a fixed k)")):
        row = terms.set_index("term").reindex([term]).iloc[0]
        answers.append(f"{what}: " + ("not estimated (see the notes below)"
                                      if math.isnan(row["estimate"]) else
                                      f"{num(row['estimate'], sign=True)} points (95% CI "
                                      f"{interval(row['ci_low'], row['ci_high'])}): "
                                      + _verdict(row["ci_low"], row["ci_high"], "helps",
                                                 "hurts")))
    body = regime_sections.training_blocks(found, described["label"], len(data.targets),
                                           answers)
    body += sections.coverage_blocks(cover, data.frame)
    for name in names:
        part = summary(found.found[name], cover.of(name), split)
        part += regime_body(found.found[name], data, described, split, n_boot_paired, seed)
        body += [Heading(f"Budget regime: {found.described[name]}")]
        body += regime_sections.within(part, name)
    return found, body


def scaling_blocks(found: Findings, described: dict, n_targets: int) -> list:
    """The average over the targets against k: the plot, the per-k table, the tests against
    the baseline and the best single task, and the regression."""
    label = described["label"]
    by_k, versus = found.by_k, found.versus
    blocks: list = [
        Heading("Average over the targets vs the number of intermediate tasks"),
        Figure("average_vs_k.png", plots.average_vs_k(found.table, by_k, found.slope,
                                                      n_targets, label),
               f"{label} vs k",
               f"The {average_caption(described)}: each target's main metric ((EM + F1) / 2 "
               "for span QA) averaged over its languages, then over the targets. Dots: arms; "
               "bars: 95% t intervals of the mean over sets (each set's seeds averaged "
               f"first), drawn where a k has {stats.MIN_UNITS} or more sets (n: sets); the "
               "dotted line: least squares on log2(k)."),
        Table(["k", "sets", "arms", "mean (%)", "95% CI"],
              [[str(r.k), "–" if r.k == 0 else str(r.sets), str(r.arms), num(r.mean),
                interval(r.ci_low, r.ci_high)] for r in by_k.itertuples()]),
        Para("Each set's mean over its seeds is one unit (the baseline's units are its "
             "seeds): seeds of one set share it and are not independent draws of a set of "
             "size k. An interval needs 2 units; with few sets it is wide, as it should be.")]
    if len(versus):
        blocks += [Table(["k", "against", "difference (points)", "95% CI", "p (Holm)",
                          "units (k / reference)"],
                         [[str(r.k), r.reference if r.against == "baseline"
                           else f"best single task: {r.reference}",
                           num(r.difference, sign=True), interval(r.ci_low, r.ci_high),
                           num(r.p_holm, 3), f"{r.units} / {r.reference_units}"]
                          for r in versus.itertuples()]),
                   Para("Welch's t: the k's sets against the reference's seeds, so a gain's "
                        "interval includes the baseline's own variance; Holm's correction "
                        "within each reference's comparisons. The best single task is picked "
                        "on these same scores, which favours it.", note=True)]
    blocks += [Heading("More tasks or more languages?"),
               Para(f"Least squares over the {found.slope['n']} arm(s) with k ≥ 1: average ~ "
                    "intercept + log2(k) + number of distinct training languages + English in "
                    "the set; 95% t intervals from standard errors clustered by set. The "
                    "log2(k) term is the change per doubling of k at a fixed number of "
                    "languages; n_languages the change per added language at a fixed k."),
               regression_table(found.terms)]
    return blocks + [Para(n) for n in found.reg_notes]


def _verdict(low: float, high: float, up: str, down: str, why: str = "too few sets") -> str:
    if math.isnan(low):
        return f"no interval ({why})"
    if low > 0:
        return up
    if high < 0:
        return down
    return "the interval includes 0: no detectable effect with these sets"


def _tested(estimate: float, p: float, up: str, down: str) -> str:
    """A verdict from a corrected p-value."""
    if math.isnan(p):
        return "not tested (too few units)"
    if p < stats.ALPHA:
        return up if estimate > 0 else down
    return "no detectable difference after the correction"


def summary(found: Findings, cover: Coverage, split: str = "test") -> list:
    """The answers, each with its interval."""
    items = [f"Coverage: {cover.summary()}; the statistics use the complete ones"]
    seeds = analysis.seeds_as_units(found.table)
    for r in found.by_k.itertuples():
        label = "baseline (k = 0)" if r.k == 0 else f"k = {r.k}"
        units = (f"{r.sets} set(s), {r.arms} arm(s)" if r.k not in seeds
                 else f"{r.arms} arm(s)" if r.k == 0
                 else f"the whole pool, its {r.arms} arm(s) as the units")
        items.append(f"Average, {label}: {num(r.mean)}% (95% CI {interval(r.ci_low, r.ci_high)}"
                     f", {units})")
    for r in found.versus.itertuples():
        against = ("the baseline" if r.against == "baseline"
                   else f"the best single task ({r.reference})")
        items.append(f"k = {r.k} against {against}: {num(r.difference, sign=True)} points "
                     f"(95% CI {interval(r.ci_low, r.ci_high)}, Holm p {num(r.p_holm, 3)}): "
                     + _tested(r.difference, r.p_holm, "higher", "lower"))
    slope = found.slope
    items.append(f"More tasks: {num(slope['slope'], sign=True)} points per doubling of k "
                 f"(95% CI {interval(slope['ci_low'], slope['ci_high'])}, {slope['n']} arms in "
                 f"{slope['sets']} sets, clustered by set): "
                 + _verdict(slope["ci_low"], slope["ci_high"], "the average rises with k",
                            "the average falls with k", slope["note"] or "too few sets"))
    for term, what in (("n_languages", "More languages (at a fixed k)"),
                       ("english_in_set", "English in the set (at fixed k and languages)")):
        row = found.terms[found.terms["term"] == term]
        if len(row):
            r = row.iloc[0]
            items.append(f"{what}: {num(r.estimate, sign=True)} points (95% CI "
                         f"{interval(r.ci_low, r.ci_high)}): "
                         + _verdict(r.ci_low, r.ci_high, "helps", "hurts",
                                    "see the regression's notes"))
    for r in found.effect.itertuples():
        where = f"Same language, {r.language} at k = {r.k}"
        if not r.sets_with or not r.sets_without:
            items.append(f"{where}: not comparable (" + ("no set has" if not r.sets_with
                                                         else "every set has") + " a task in it)")
            continue
        items.append(f"{where}: sets with a task in it gain {num(r.difference, sign=True)} "
                     f"points more than sets without (95% CI {interval(r.ci_low, r.ci_high)}, "
                     f"{r.sets_with} vs {r.sets_without} sets, BH p {num(r.p_bh, 3)}): "
                     + _tested(r.difference, r.p_bh, "helps", "hurts"))
    matrix = found.matrix
    if len(matrix):
        tested = matrix[matrix["p"].notna()]
        items.append(f"Single tasks: {int(tested['significant'].sum())} of {len(tested)} tested "
                     "task × target cells differ from the baseline (paired bootstrap, "
                     "Benjamini-Hochberg at 5%)")
    items.append(f"Best set per target, chosen on {split} (optimistic): average over the "
                 f"targets {num(found.bench['oracle'])}% vs the baseline's "
                 f"{num(found.bench['baseline'])}%")
    return [Heading("Answers"), Bullets(items)]
