"""Budget regimes in a study's results: each analysed apart, the baseline shared by all.

A study with `budgets:` (study/budget.py) trains every set under each regime, so its results
hold each set once per regime. Pooling them would mix "more tasks" with "more training" (a
per-k mean over an equal-total and a per-task regime averages two different amounts of
training), so every per-k statistic, table and figure is computed per regime, over that
regime's arms and the baseline's (k = 0: no intermediate training, hence no regime; its arms
belong to every regime's analysis). Only the regression over all regimes
(analysis.scaling_regression with log2(tokens seen) as a term) pools them, to tell the two
apart. With one regime or none, nothing changes.
"""

from __future__ import annotations

import pandas as pd


def names(frame: pd.DataFrame, plan: dict | None = None) -> list[str]:
    """The regimes with arms of k ≥ 1 in `frame` (its `budget` column), in the study file's
    order (plan.json's spec), else alphabetical; [] for a study without budgets."""
    if "budget" not in frame:
        return []
    present = set(frame.loc[frame["k"] >= 1, "budget"].dropna()) - {""}
    spec = (plan or {}).get("spec") or {}
    order = list(spec.get("budgets") or {})
    if spec.get("budget"):  # a single `budget:` is named by its kind
        order.append(next(kind for kind, value in spec["budget"].items() if value is not None))
    return [n for n in order if n in present] + sorted(present - set(order))


def rows_of(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one regime's analysis: its arms and the baseline's."""
    return frame[(frame["budget"] == name) | (frame["k"] == 0)]


def describe(plan: dict | None, name: str) -> str:
    """'equal (total_steps 20,000)' from plan.json's spec; the bare name without one."""
    budget = (((plan or {}).get("spec") or {}).get("budgets") or {}).get(name) or {}
    given = [(kind, value) for kind, value in budget.items() if value is not None]
    return f"{name} ({given[0][0]} {given[0][1]:,})" if given else name
