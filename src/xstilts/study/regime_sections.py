"""The report of a study with several budget regimes (study/regimes.py): up front, the
average per k of each regime side by side and the regression over all of them with
log2(tokens seen) ("more tasks or more training?"); then each regime's own sections, whose
headings sit one level lower and whose figures are named after it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePath

import pandas as pd

from xstilts.study import plots, render
from xstilts.study.render import Bullets, Figure, Heading, Para, Table, interval, num
from xstilts.study.stats import MIN_UNITS


@dataclass
class ByRegime:
    """The findings of a study with several budget regimes."""

    found: dict  # regime -> report.Findings over its arms and the baseline's
    described: dict[str, str]  # planned regime -> 'equal (total_steps 20,000)'
    table: pd.DataFrame  # analysis.arm_table of every complete arm
    terms: pd.DataFrame  # the regression over every regime (analysis.scaling_regression)
    reg_notes: list[str]
    reg_arms: int


def within(blocks: list, regime: str) -> list:
    """A regime's sections: headings one level lower, figure files suffixed by its name."""
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            block = replace(block, level=block.level + 1)
        elif isinstance(block, Figure):
            name = PurePath(block.file)
            block = replace(block, file=f"{name.stem}-{regime}{name.suffix}")
        out.append(block)
    return out


def _tokens(table: pd.DataFrame) -> pd.Series:
    """Mean tokens seen by the intermediate phase per arm, per k."""
    if "tokens_seen" not in table:
        return pd.Series(dtype=float)
    return pd.to_numeric(table["tokens_seen"], errors="coerce").groupby(table["k"]).mean()


def training_blocks(by: ByRegime, label: str, n_targets: int, answers: list[str]) -> list:
    """"More tasks or more training?": each regime's mean per k, the figure, and the regression
    over every regime; `answers`: the bullets report.py words from it."""
    by_k = {name: found.by_k for name, found in by.found.items()}
    rows = [[name, str(r.k), "–" if r.k == 0 else str(r.sets), str(r.arms),
             num(_tokens(by.found[name].table).get(r.k), 0), num(r.mean),
             interval(r.ci_low, r.ci_high)]
            for name, table in by_k.items() for r in table.itertuples()]
    blocks: list = [
        Heading("More tasks or more training?"),
        Para(f"Every set is trained under each of {len(by.described)} budget regimes: "
             + "; ".join(by.described.values()) + ". A per-k mean over regimes would mix more "
             "tasks with more training, so every statistic below is computed per regime, over "
             "its arms and the baseline's (no intermediate training: shared by all regimes); "
             "only the regression here pools them, with the tokens the intermediate phase saw "
             "as a term."),
        Bullets(answers),
        Figure("average_vs_k_by_budget.png",
               plots.average_vs_k_by_budget(by_k, n_targets, label),
               f"{label} vs k per budget regime",
               f"The {label} per k under each regime: the mean over sets (each set's seeds "
               f"averaged first), with its 95% t interval where a k has {MIN_UNITS} or more "
               "sets; dashed: the baseline, shared by the regimes."),
        Table(["budget", "k", "sets", "arms", "tokens seen (mean per arm)", "mean (%)",
               "95% CI"], rows),
        Para(f"Least squares over the {by.reg_arms} arm(s) with k ≥ 1 of every regime: average "
             "~ intercept + log2(k) + log2(tokens seen by the intermediate phase) + number of "
             "distinct training languages + English in the set; 95% t intervals from standard "
             "errors clustered by set (a set's arms under every regime are one cluster). "
             "log2(k) is the change per doubling of k at a fixed number of tokens (more "
             "tasks); log2(tokens seen) the change per doubling of the training tokens at a "
             "fixed k (more training)."),
        render.regression_table(by.terms)]
    return blocks + [Para(note) for note in by.reg_notes]
