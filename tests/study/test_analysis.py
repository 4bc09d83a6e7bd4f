"""The study statistics on small cases computed by hand (and checked against scipy)."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.study import analysis


def arms(rows: list[tuple]) -> pd.DataFrame:
    """An arm table from (intermediate, k, n_languages, english_in_set, average) rows."""
    table = pd.DataFrame(rows, columns=["intermediate", "k", "n_languages", "english_in_set",
                                        "average"])
    table["intermediate_seed"] = 0
    table["target_seed"] = range(len(table))
    return table


def test_bootstrap_mean_is_the_mean_and_redrawable_percentile_bounds():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    mean, low, high = analysis.bootstrap_mean(values, n_boot=500, seed=7)
    assert mean == 4.0  # (1 + 2 + 3 + 4 + 10) / 5
    rng = np.random.default_rng(7)
    means = np.array(values)[rng.integers(0, 5, size=(500, 5))].mean(axis=1)
    assert (low, high) == tuple(np.quantile(means, [0.025, 0.975]))
    assert 1.0 <= low < mean < high <= 10.0
    assert math.isnan(analysis.bootstrap_mean([3.0])[1])  # one value: no interval


def test_mean_by_k_averages_arms_and_seeds_each_k_separately():
    table = arms([("", 0, 0, False, 50.0), ("", 0, 0, False, 52.0),
                  ("a", 1, 1, True, 55.0), ("a", 1, 1, True, 57.0), ("b", 1, 1, False, 60.0),
                  ("a,b", 2, 2, True, 58.0), ("a,b", 2, 2, True, 62.0)])
    out = analysis.mean_by_k(table, n_boot=300, seed=3).set_index("k")
    assert out.loc[0, "mean"] == 51.0 and out.loc[2, "mean"] == 60.0
    assert out.loc[1, "mean"] == pytest.approx(172 / 3)
    assert (out.loc[1, "arms"], out.loc[1, "sets"]) == (3, 2)
    assert out.loc[2, "sd"] == pytest.approx(math.sqrt(8))  # (2² + 2²) / (2 - 1)
    for k, values in ((1, [55.0, 57.0, 60.0]), (2, [58.0, 62.0])):
        rng = np.random.default_rng([3, k])  # the documented seed of size k
        means = np.array(values)[rng.integers(0, len(values), (300, len(values)))].mean(axis=1)
        low, high = np.quantile(means, [0.025, 0.975])
        assert (out.loc[k, "ci_low"], out.loc[k, "ci_high"]) == (low, high)


def test_slope_over_log2_k_and_its_t_interval():
    # log2(k) = 0, 0, 1, 1, 2, 2; by hand: slope = Sxy / Sxx = 8 / 4 = 2, intercept 11/3 - 2,
    # RSS = 22/3, s² = RSS / 4, se = sqrt(s² / Sxx) = sqrt(11/24).
    table = arms([("", 0, 0, False, 99.0)] + [(s, k, 1, True, y) for s, k, y in (
        ("a", 1, 1.0), ("b", 1, 3.0), ("a,b", 2, 2.0), ("b,c", 2, 4.0),
        ("a,b,c,d", 4, 5.0), ("b,c,d,e", 4, 7.0))])
    out = analysis.slope_log2k(table)
    assert out["slope"] == pytest.approx(2.0) and out["n"] == 6  # the baseline is left out
    assert out["intercept"] == pytest.approx(11 / 3 - 2)
    assert out["stderr"] == pytest.approx(math.sqrt(11 / 24))
    half = stats.t.ppf(0.975, 4) * math.sqrt(11 / 24)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((2 - half, 2 + half))
    fit = stats.linregress([0, 0, 1, 1, 2, 2], [1, 3, 2, 4, 5, 7])
    assert (out["slope"], out["stderr"], out["p"]) == pytest.approx(
        (fit.slope, fit.stderr, fit.pvalue))
    one_size = table[table["k"] <= 1]
    assert math.isnan(analysis.slope_log2k(one_size)["slope"])


def test_ols_on_an_orthogonal_design_by_hand():
    # Orthogonal centred columns: each coefficient is sum(x y) / sum(x²); residuals ±0.5,
    # RSS 1 with 1 degree of freedom, so every standard error is sqrt(1 / 4).
    a, b = np.array([-1, -1, 1, 1.0]), np.array([-1, 1, -1, 1.0])
    y = np.array([1, 2, 4, 7.0])
    out = analysis.ols(y, np.column_stack([np.ones(4), a, b]), ["intercept", "a", "b"])
    out = out.set_index("term")
    assert list(out["estimate"]) == pytest.approx([3.5, 2.0, 1.0])
    assert list(out["stderr"]) == pytest.approx([0.5, 0.5, 0.5])
    t = stats.t.ppf(0.975, 1)  # 12.706...
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx(
        (2 - 0.5 * t, 2 + 0.5 * t))
    assert out.loc["a", "p"] == pytest.approx(2 * stats.t.sf(4.0, 1))


def test_ols_with_one_regressor_is_linregress():
    x, y = np.array([0, 1, 2, 3, 4.0]), np.array([2.0, 2.5, 4.1, 3.9, 6.2])
    out = analysis.ols(y, np.column_stack([np.ones(5), x]), ["intercept", "x"]).set_index("term")
    fit = stats.linregress(x, y)
    assert (out.loc["x", "estimate"], out.loc["x", "stderr"], out.loc["x", "p"]) == \
        pytest.approx((fit.slope, fit.stderr, fit.pvalue))
    assert out.loc["intercept", "stderr"] == pytest.approx(fit.intercept_stderr)


def test_scaling_regression_leaves_out_what_the_arms_cannot_separate():
    table = arms([("", 0, 0, False, 50.0), ("a", 1, 1, True, 52.0), ("b", 1, 1, True, 53.0),
                  ("a,b", 2, 2, True, 55.0), ("a,c", 2, 1, True, 54.0),
                  ("a,b,c,d", 4, 2, True, 57.0)])
    terms, notes, n = analysis.scaling_regression(table)
    assert n == 5 and list(terms["term"]) == ["intercept", "log2(k)", "n_languages"]
    assert any(note.startswith("english_in_set: not separable") for note in notes)
    x = np.column_stack([np.ones(5), [0, 0, 1, 1, 2], [1, 1, 2, 1, 2]])
    beta = np.linalg.lstsq(x, [52, 53, 55, 54, 57.0], rcond=None)[0]
    assert list(terms["estimate"]) == pytest.approx(list(beta))


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Results rows from (run_id, intermediate, k, languages, language, value), one target."""
    out = pd.DataFrame(rows, columns=["run_id", "intermediate", "k", "languages", "language",
                                      "value"])
    out["target"], out["metric"], out["main"] = "t", "accuracy", True
    return out


def test_same_language_effect_by_hand():
    rows = [("b0", "", 0, "", "de", 50.0), ("b1", "", 0, "", "de", 52.0),  # baseline 51
            ("r1", "x-de", 1, "de", "de", 55.0), ("r2", "x-de", 1, "de", "de", 57.0),
            ("r3", "x-en", 1, "en", "de", 52.0), ("r4", "y-en", 1, "en", "de", 50.0),
            ("r5", "y-en", 1, "en", "de", 54.0)]
    out = analysis.same_language_effect(frame(rows), n_boot=400, seed=5).set_index("language")
    # gains with de: 4, 6 (mean 5); without: 1, -1, 3 (mean 1)
    assert (out.loc["de", "gain_with"], out.loc["de", "gain_without"]) == (5.0, 1.0)
    assert out.loc["de", "difference"] == 4.0
    assert (out.loc["de", "arms_with"], out.loc["de", "arms_without"]) == (2, 3)
    rng = np.random.default_rng([5, zlib.crc32(b"de")])
    with_, without = np.array([4.0, 6.0]), np.array([1.0, -1.0, 3.0])
    diffs = (with_[rng.integers(0, 2, (400, 2))].mean(axis=1)
             - without[rng.integers(0, 3, (400, 3))].mean(axis=1))
    assert (out.loc["de", "ci_low"], out.loc["de", "ci_high"]) == tuple(
        np.quantile(diffs, [0.025, 0.975]))


def test_best_set_per_target_and_the_benchmark_it_gives():
    table = pd.DataFrame({
        "intermediate": ["", "a", "a", "b", "b"], "k": [0, 1, 1, 1, 1],
        "t1": [50.0, 60.0, 62.0, 55.0, 55.0], "t2": [40.0, 41.0, 41.0, 48.0, 44.0]},
        index=["b0", "a0", "a1", "b0s", "b1s"])
    table["average"] = table[["t1", "t2"]].mean(axis=1)
    dev = pd.DataFrame({"run_id": ["a0", "a1", "b0s", "b1s"], "target": "t1",
                        "dev": [70.0, 70.0, 80.0, 80.0]})
    best, bench = analysis.best_sets(table, ["t1", "t2"], dev)
    best = best.set_index("target")
    assert (best.loc["t1", "best_set"], best.loc["t1", "score"]) == ("a", 61.0)
    assert (best.loc["t2", "best_set"], best.loc["t2", "score"]) == ("b", 46.0)
    assert best.loc["t1", "gain"] == 11.0
    assert (best.loc["t1", "dev_set"], best.loc["t1", "dev_set_score"]) == ("b", 55.0)
    assert bench["oracle"] == 53.5 and bench["baseline"] == 45.0  # (61 + 46) / 2, (50 + 40) / 2
    assert (bench["best_single_set"], bench["best_single_score"]) == ("a", 51.0)  # b: 50.5
    assert math.isnan(bench["dev_chosen"])  # t2 has no dev score


def results_rows(rows: list[tuple]) -> pd.DataFrame:
    """Results rows from (run_id, intermediate, k, target, language, metric, value, main,
    split)."""
    out = pd.DataFrame(rows, columns=["run_id", "intermediate", "k", "target", "language",
                                      "metric", "value", "main", "split"])
    for column in ("n_languages", "intermediate_seed", "target_seed"):
        out[column] = 0
    out["languages"], out["english_in_set"] = "", False
    return out


def qa_and_nli(run_id: str, k: int, em: float, f1: float, accuracy: float) -> list[tuple]:
    """One arm's average rows: a span-QA target (main metric f1) and a classification one."""
    name = "" if k == 0 else "a"
    return [(run_id, name, k, "xquad", "avg", "exact_match", em, False, "test"),
            (run_id, name, k, "xquad", "avg", "f1", f1, True, "test"),
            (run_id, name, k, "xquad", "avg", "em_f1", (em + f1) / 2, False, "test"),
            (run_id, name, k, "xquad", "de", "f1", f1, True, "test"),
            (run_id, name, k, "xnli", "avg", "accuracy", accuracy, True, "dev"),
            (run_id, name, k, "xnli", "avg", "macro_f1", 10.0, False, "dev"),
            (run_id, name, k, "xnli", "de", "accuracy", accuracy, True, "dev")]


def test_the_average_over_targets_takes_qa_as_the_mean_of_em_and_f1():
    frame = results_rows(qa_and_nli("b", 0, em=40.0, f1=60.0, accuracy=70.0)
                         + qa_and_nli("r", 1, em=50.0, f1=80.0, accuracy=72.0))
    table = analysis.arm_table(frame, ["xquad", "xnli"])
    # baseline: xquad (40 + 60) / 2 = 50, xnli 70 -> (50 + 70) / 2 = 60 (F1 would give 65)
    # k = 1: xquad (50 + 80) / 2 = 65, xnli 72 -> 68.5
    assert table.loc["b", "xquad"] == 50.0 and table.loc["b", "xnli"] == 70.0
    assert list(table["average"]) == [60.0, 68.5]
    described = analysis.average_description(frame, ["xquad", "xnli"])
    assert described["label"] == "partial average over 2 of 9 XTREME tasks"
    assert "missing tasks: pawsx, udpos, panx, mlqa, tydiqa, bucc2018, tatoeba" in \
        described["detail"]
    assert "xnli ar, bg, el, en" in described["detail"]  # the languages it lacks, named
    assert described["splits"] == "dev; test: xquad (de)"  # one language each; ties by name


def test_by_k_language_says_which_split_each_language_was_scored_on():
    rows = [("b", "", 0, "udpos", "de", "f1", 50.0, True, "dev"),
            ("b", "", 0, "udpos", "kk", "f1", 40.0, True, "test"),
            ("b", "", 0, "udpos", "fr", "f1", 60.0, True, "dev"),
            ("b", "", 0, "udpos", "avg", "f1", 50.0, True, "dev/test")]
    out = analysis.by_k_language(results_rows(rows)).set_index("language")
    assert out.loc["kk", "split"] == "test" and out.loc["de", "split"] == "dev"
    assert out.loc["avg", "split"] == "dev; test: kk"
