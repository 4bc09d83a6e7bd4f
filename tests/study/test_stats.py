"""study/stats.py against scipy and hand-computed formulas (independent of statsmodels, which
the module uses)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from xstilts.study import stats


def test_t_interval_is_scipys_one_sample_interval():
    values = [56.0, 60.0, 50.0]
    out = stats.t_interval(values)
    ci = sps.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert out["mean"] == pytest.approx(166 / 3) and out["n"] == 3
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert out["sd"] == pytest.approx(math.sqrt(((56 - 166 / 3) ** 2 + (60 - 166 / 3) ** 2
                                                 + (50 - 166 / 3) ** 2) / 2))
    one = stats.t_interval([3.0])
    assert one["mean"] == 3.0 and math.isnan(one["ci_low"]) and math.isnan(one["sd"])


def test_difference_is_welchs_t_test():
    a, b = [56.0, 60.0, 50.0, 58.0], [50.0, 52.0, 49.0]
    out = stats.difference(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert out["difference"] == pytest.approx(56.0 - 151 / 3)
    assert out["p"] == pytest.approx(ref.pvalue)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high))
    # Satterthwaite by hand: (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 3
    assert out["df"] == pytest.approx((va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 2))


def test_a_fixed_reference_has_no_variance_and_a_single_seed_one_is_not_tested():
    a = [46.0, 42.0, 51.0]
    fixed = stats.difference(a, [40.0], b_fixed=True)
    ref = sps.ttest_1samp(a, 40.0)
    ci = ref.confidence_interval(0.95)
    assert fixed["p"] == pytest.approx(ref.pvalue)
    # scipy's interval is the mean's; the difference's is it less the fixed 40
    assert (fixed["ci_low"], fixed["ci_high"]) == pytest.approx((ci.low - 40, ci.high - 40))
    unknown = stats.difference(a, [40.0])  # one seed of a trained baseline: variance unknown
    assert unknown["difference"] == pytest.approx(np.mean(a) - 40.0)
    assert math.isnan(unknown["p"]) and math.isnan(unknown["ci_low"])


def test_holm_by_hand_and_benjamini_hochberg_as_scipy():
    p = [0.01, 0.04, math.nan, 0.03]
    # Holm over the three tested: sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04,
    # then running maximum -> 0.03, 0.06, 0.06.
    holm = stats.adjust(p, "holm")
    assert list(holm[[0, 1, 3]]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(holm[2])
    bh = stats.adjust(p, "fdr_bh")
    assert list(bh[[0, 1, 3]]) == pytest.approx(list(sps.false_discovery_control(
        [0.01, 0.04, 0.03])))
    assert math.isnan(stats.adjust([math.nan], "holm")[0])


def sandwich(y, x, groups):
    """CR1 cluster-robust covariance by hand: (X'X)^-1 (sum_g X_g'e_g e_g'X_g) (X'X)^-1 times
    G/(G-1) * (N-1)/(N-K)."""
    y, x, groups = np.asarray(y, float), np.asarray(x, float), np.asarray(groups)
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    labels = sorted(set(groups))
    meat = sum(np.outer(x[groups == g].T @ resid[groups == g], x[groups == g].T @
                        resid[groups == g]) for g in labels)
    g = len(labels)
    return beta, g / (g - 1) * (n - 1) / (n - k) * bread @ meat @ bread, g


def test_cluster_ols_is_the_cr1_sandwich_with_g_minus_1_degrees_of_freedom():
    groups = ["a", "a", "b", "b", "c", "c", "d", "e", "e"]
    x1 = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2.0])
    y = np.array([50, 51, 54, 54.5, 53, 52, 57, 55, 56.0])
    x = np.column_stack([np.ones(9), x1])
    out = stats.cluster_ols(y, x, ["intercept", "slope"], groups).set_index("term")
    beta, cov, g = sandwich(y, x, np.array(groups))
    se = np.sqrt(np.diag(cov))
    assert list(out["estimate"]) == pytest.approx(list(beta))
    assert list(out["stderr"]) == pytest.approx(list(se))
    t = sps.t.ppf(0.975, g - 1)
    assert (out.loc["slope", "ci_low"], out.loc["slope", "ci_high"]) == pytest.approx(
        (beta[1] - t * se[1], beta[1] + t * se[1]))
    assert out.loc["slope", "p"] == pytest.approx(2 * sps.t.sf(abs(beta[1] / se[1]), g - 1))


def test_cluster_ols_with_no_more_groups_than_terms_gives_estimates_only():
    x = np.column_stack([np.ones(4), [0, 0, 1, 1.0]])
    out = stats.cluster_ols([1, 2, 3, 5.0], x, ["intercept", "slope"], ["a", "a", "b", "b"])
    assert list(out["estimate"]) == pytest.approx([1.5, 2.5])
    assert out["stderr"].isna().all() and out["ci_low"].isna().all()


def test_a_term_one_set_alone_separates_gets_its_estimate_only():
    # Five sets with two arms each, and a dummy that only set "e" switches on: the fit passes
    # through e's arms, so clustered by set, e's own spread is nowhere in the dummy's error.
    groups = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    x1 = np.array([0, 1, 0, 2, 1, 1, 2, 0, 1, 2.0])
    dummy = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1.0])
    x = np.column_stack([np.ones(10), x1, dummy])
    y = np.array([50, 52, 51, 55, 53, 52, 56, 49, 60, 58.0])
    assert stats.resting_on_one_group(x, groups) == {2: "e"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' sqrt of a variance rounded below 0
        out = stats.cluster_ols(y, x, ["intercept", "x1", "dummy"], groups).set_index("term")
    beta, cov, _ = sandwich(y, x, np.array(groups))
    assert list(out["estimate"]) == pytest.approx(list(beta))
    assert out.loc["x1", "stderr"] == pytest.approx(math.sqrt(cov[1, 1]))  # still the sandwich
    assert out.loc["dummy", ["stderr", "ci_low", "ci_high", "p"]].isna().all()
    assert list(out["rests_on"]) == [None, None, "e"]


def test_the_paper_grids_slope_rests_on_its_one_set_at_k_9():
    # examples/paper/study/grid.yaml: nine single tasks (k = 1) and all nine at once (k = 9).
    groups = [f"t{i}" for i in range(9)] + ["all"]
    x = np.column_stack([np.ones(10), np.log2([1] * 9 + [9])])
    assert stats.resting_on_one_group(x, groups) == {1: "all"}
    # Three sizes with one set each at k = 4 and 9: no single set separates the slope.
    x3 = np.column_stack([np.ones(10), np.log2([1] * 8 + [4, 9])])
    assert stats.resting_on_one_group(x3, groups) == {}
