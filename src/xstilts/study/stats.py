"""The study's inference, with the intermediate-task set as the unit.

An arm is one set trained with one pair of seeds; the seeds of a set share that set, so they
are not independent draws of "a set of size k". Every interval here therefore treats sets as
the units, seeds nested within them:

- a mean over sets (per k, per target and language): each set's mean over its seeds is one
  unit; Student's t interval over the sets (n - 1 degrees of freedom);
- a difference of two groups (a k against the baseline, against the best single task, sets
  with and without a language at one k): Welch's t with Satterthwaite's degrees of freedom, so
  the baseline's own seed-to-seed variance is in the gain's interval; a side that is one
  fixed model (an untrained target scored with the base encoder: no seed enters it) has
  no variance and the test is one-sample;
- a regression over arms (the slope on log2(k), "more tasks or more languages"): least squares
  with cluster-robust (CR1) standard errors grouped by set, t with G - 1 degrees of freedom
  for G sets (statsmodels' cov_type="cluster"); a term that one set alone separates from the
  others gets no standard error (the fit passes through that set, leaving no spread);
- families of tests: Holm's correction across k, Benjamini-Hochberg's (false discovery rate)
  across heatmap cells and languages (statsmodels' multipletests).

A group needs two units for a variance; the figures draw an interval only from MIN_UNITS
units on, and say n.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
MIN_UNITS = 3  # fewer units: a figure shows the point without an interval
ALPHA = 0.05
TERM_COLUMNS = ["term", "estimate", "stderr", "ci_low", "ci_high", "p"]


def t_interval(values, level: float = LEVEL) -> dict:
    """The mean of independent units, their standard deviation and the t interval of the
    mean (n - 1 degrees of freedom); NaN bounds below two units."""
    v = np.asarray(values, dtype=float)
    out = {"n": len(v), "mean": float(v.mean()) if len(v) else math.nan, "sd": math.nan,
           "ci_low": math.nan, "ci_high": math.nan}
    if len(v) >= 2:
        sd = float(v.std(ddof=1))
        half = stats.t.ppf((1 + level) / 2, len(v) - 1) * sd / math.sqrt(len(v))
        out.update(sd=sd, ci_low=out["mean"] - half, ci_high=out["mean"] + half)
    return out


def difference(a, b, level: float = LEVEL, b_fixed: bool = False) -> dict:
    """mean(a) - mean(b) with Welch's interval and two-sided p (Satterthwaite's degrees of
    freedom). `b_fixed`: b is one fixed model, a constant (one-sample t of a against it).
    NaN interval and p where a side has fewer than two units (a fixed b needs one); where
    neither side varies, the interval is the point and p is NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = {"difference": math.nan, "stderr": math.nan, "df": math.nan, "ci_low": math.nan,
           "ci_high": math.nan, "p": math.nan}
    if not len(a) or not len(b):
        return out
    out["difference"] = d = float(a.mean() - b.mean())
    if len(a) < 2 or (len(b) < 2 and not b_fixed):
        return out
    va = a.var(ddof=1) / len(a)
    vb = 0.0 if b_fixed else b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        out.update(stderr=0.0, ci_low=d, ci_high=d)
        return out
    terms = [va ** 2 / (len(a) - 1)] + ([] if b_fixed else [vb ** 2 / (len(b) - 1)])
    df = (va + vb) ** 2 / sum(terms)
    half = stats.t.ppf((1 + level) / 2, df) * se
    out.update(stderr=se, df=float(df), ci_low=d - half, ci_high=d + half,
               p=float(2 * stats.t.sf(abs(d) / se, df)))
    return out


def adjust(p, method: str) -> np.ndarray:
    """p-values adjusted for a family of tests: "holm" or "fdr_bh" (statsmodels'
    multipletests) over the finite ones; a NaN (no test) stays NaN and is not counted."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=float)
    out = np.full(len(p), math.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = multipletests(p[tested], alpha=ALPHA, method=method)[1]
    return out


def resting_on_one_group(x: np.ndarray, groups) -> dict[int, object]:
    """{column: group} for each term that one group alone separates from the other terms:
    without that group's rows the column lies in the span of the others (the paper's grid:
    nine sets at k = 1 and one at k = 9, so the slope on log2(k) rests on the k = 9 set).
    The fit passes through that group's rows, so its residuals are 0 and a standard error
    clustered by group has nothing from which to measure that group's own spread."""
    x, groups = np.asarray(x, dtype=float), pd.Series(list(groups))
    out = {}
    for group in groups.unique():
        rest = x[(groups != group).to_numpy()]
        rank = np.linalg.matrix_rank(rest)
        if rank == x.shape[1]:
            continue
        for j in range(x.shape[1]):
            if j not in out and np.linalg.matrix_rank(np.delete(rest, j, axis=1)) == rank:
                out[j] = group
    return out


def cluster_ols(y, x: np.ndarray, names: list[str], groups, level: float = LEVEL
                ) -> pd.DataFrame:
    """Least squares y ~ x (x holds the intercept column if wanted) with CR1 cluster-robust
    standard errors by `groups` and t intervals with G - 1 degrees of freedom. With no more
    groups than terms the covariance cannot be estimated: estimates only. A term resting on
    one group (resting_on_one_group) gets its estimate only, and that group in `rests_on`
    (None for the other terms)."""
    import statsmodels.api as sm

    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    codes = pd.factorize(pd.Series(list(groups)))[0]
    if len(set(codes)) <= x.shape[1]:
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        nan = np.full(len(beta), math.nan)
        return pd.DataFrame({"term": names, "estimate": beta, "stderr": nan, "ci_low": nan,
                             "ci_high": nan, "p": nan, "rests_on": None})
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    with np.errstate(invalid="ignore"):  # such a term's variance can round below 0
        stderr, bounds, p = np.array(fit.bse), fit.conf_int(1 - level), np.array(fit.pvalues)
    resting = resting_on_one_group(x, groups)
    undefined = np.isin(np.arange(x.shape[1]), list(resting)) | ~np.isfinite(stderr)
    stderr[undefined], bounds[undefined], p[undefined] = math.nan, math.nan, math.nan
    return pd.DataFrame({"term": names, "estimate": fit.params, "stderr": stderr,
                         "ci_low": bounds[:, 0], "ci_high": bounds[:, 1], "p": p,
                         "rests_on": [resting.get(j) for j in range(x.shape[1])]})
