"""The report's main tables as files for a paper: `xstilts report DIR --csv` writes
tables/NAME.csv (full precision), `--latex` tables/NAME.tex (pandas' to_latex: booktabs rules,
two decimals, three for p-values, special characters escaped)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from xstilts.artifacts import write_text_atomic
from xstilts.errors import XstiltsError
from xstilts.study.coverage import Coverage

if TYPE_CHECKING:
    from xstilts.study.report import Findings

CAPTIONS = {
    "coverage": "Planned and complete arms per k.",
    "incomplete": "Incomplete arms (left out of every statistic) and what they miss.",
    "by_k": "Average over the targets per k: mean over sets (each set's seeds averaged), "
            "95% t interval.",
    "versus": "Each k against the baseline and against the best single task: Welch's t, "
              "Holm-adjusted p.",
    "regression": "Least squares over arms with k >= 1, standard errors clustered by set.",
    "by_language": "Main metric per target, language and k: mean over sets, gain over the "
                   "baseline, Welch's 95% interval, Benjamini-Hochberg-adjusted p.",
    "same_language": "Sets with a task in the target language against sets without, at the "
                     "same k: Welch's 95% interval, Benjamini-Hochberg-adjusted p.",
    "transfer": "Single intermediate tasks (k = 1) against the baseline: paired bootstrap "
                "over test examples, Benjamini-Hochberg-adjusted p.",
}


def main_tables(cover: Coverage, frame: pd.DataFrame, found: Findings) -> dict[str, pd.DataFrame]:
    """The report's main tables as numbers, by file name."""
    out = {"coverage": cover.by_k(),
           "incomplete": cover.incomplete.drop(columns="complete"),
           "by_k": found.by_k,
           "versus": found.versus,
           "regression": found.terms,
           "by_language": found.by_lang,
           "same_language": found.effect,
           "transfer": found.matrix}
    return {name: table.reset_index(drop=True) for name, table in out.items()}


def regime_tables(cover: Coverage, found: dict[str, Findings], terms: pd.DataFrame
                  ) -> dict[str, pd.DataFrame]:
    """main_tables of a study with several budget regimes: each statistic's rows per regime
    with a `budget` column first; the regression of each regime, then the one over all of
    them (budget "all", with log2(tokens seen))."""
    per = {name: main_tables(cover, pd.DataFrame(), f) for name, f in found.items()}
    out = {"coverage": cover.by_k(), "incomplete": cover.incomplete.drop(columns="complete")}
    for key in ("by_k", "versus", "regression", "by_language", "same_language", "transfer"):
        parts = [t[key].assign(budget=name) for name, t in per.items()]
        if key == "regression":
            parts.append(terms.assign(budget="all"))
        joined = pd.concat([p for p in parts if len(p)] or parts, ignore_index=True)
        out[key] = joined[["budget", *[c for c in joined.columns if c != "budget"]]]
    return out


def _cell(column: str):
    digits = 3 if column == "p" or column.startswith("p_") else 2
    return lambda v: "--" if isinstance(v, float) and math.isnan(v) else (
        f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def latex_table(name: str, table: pd.DataFrame) -> str:
    """One table as a LaTeX tabular in a table float (needs jinja2, as pandas' to_latex)."""
    try:
        return table.to_latex(index=False, escape=True, na_rep="--", caption=CAPTIONS.get(name),
                              label=f"tab:{name.replace('_', '-')}",
                              formatters={c: _cell(str(c)) for c in table.columns})
    except ImportError as exc:
        raise XstiltsError(f"writing tables/{name}.tex: {exc}.\n  fix: pip install jinja2 "
                           "(pandas' to_latex needs it), or leave out --latex.") from None


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], latex: bool = False,
                 csv: bool = False) -> dict[str, Path]:
    """Write each table as NAME.tex and/or NAME.csv into `folder`; returns them by file name."""
    written = {}
    for name, table in tables.items():
        if csv:
            written[f"tables/{name}.csv"] = path = folder / f"{name}.csv"
            write_text_atomic(path, table.to_csv(index=False))
        if latex:
            written[f"tables/{name}.tex"] = path = folder / f"{name}.tex"
            write_text_atomic(path, latex_table(name, table))
    return written
