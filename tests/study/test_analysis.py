"""The study statistics on small cases computed by hand (and checked against scipy)."""

from __future__ import annotations

import math

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


def seeded(rows: list[tuple]) -> pd.DataFrame:
    """An arm table from (intermediate, k, intermediate_seed, target_seed, average) rows; each
    arm its own model (every target trained)."""
    table = pd.DataFrame(rows, columns=["intermediate", "k", "intermediate_seed",
                                        "target_seed", "average"])
    table["n_languages"], table["english_in_set"] = table["k"], True
    table["model"] = [f"m{i}" for i in range(len(table))]
    return table


# Baseline seeds 50, 52; k = 1 sets a (55, 57), b (59, 61), c (49, 51); k = 2 sets a,b (58,
# 62) and b,c with one complete seed (52).
CLUSTERED = seeded([("", 0, -1, 0, 50.0), ("", 0, -1, 1, 52.0),
                    ("a", 1, 0, 0, 55.0), ("a", 1, 1, 0, 57.0), ("b", 1, 0, 0, 59.0),
                    ("b", 1, 1, 0, 61.0), ("c", 1, 0, 0, 49.0), ("c", 1, 1, 0, 51.0),
                    ("a,b", 2, 0, 0, 58.0), ("a,b", 2, 1, 0, 62.0), ("b,c", 2, 0, 0, 52.0)])


def test_mean_by_k_is_a_mean_over_sets_with_a_t_interval_over_them():
    out = analysis.mean_by_k(CLUSTERED).set_index("k")
    # k = 1: set means 56, 60, 50; k = 2: 60 and 52 (not the arms' 57.33: sets weigh equally)
    assert out.loc[1, "mean"] == pytest.approx(166 / 3) and out.loc[2, "mean"] == 56.0
    assert (out.loc[1, "arms"], out.loc[1, "sets"], out.loc[1, "units"]) == (6, 3, 3)
    assert (out.loc[2, "arms"], out.loc[2, "sets"], out.loc[2, "units"]) == (3, 2, 2)
    assert (out.loc[0, "units"], out.loc[0, "mean"]) == (2, 51.0)  # baseline: its seeds
    for k, units in ((0, [50.0, 52.0]), (1, [56.0, 60.0, 50.0]), (2, [60.0, 52.0])):
        ci = stats.ttest_1samp(units, 0.0).confidence_interval(0.95)
        assert (out.loc[k, "ci_low"], out.loc[k, "ci_high"]) == pytest.approx((ci.low, ci.high))
    # Arms as units (the old bootstrap's view) would give a much narrower k = 1 interval.
    naive = stats.ttest_1samp([55, 57, 59, 61, 49, 51.0], 0).confidence_interval(0.95)
    assert naive.high - naive.low < out.loc[1, "ci_high"] - out.loc[1, "ci_low"]


def test_each_k_against_the_baseline_and_the_best_single_task_with_holm():
    out = analysis.comparisons(CLUSTERED)
    base = out[out["against"] == "baseline"].set_index("k")
    p = {}
    for k, units in ((1, [56.0, 60.0, 50.0]), (2, [60.0, 52.0])):
        ref = stats.ttest_ind(units, [50.0, 52.0], equal_var=False)  # the baseline's variance in
        ci = ref.confidence_interval(0.95)
        assert base.loc[k, "difference"] == pytest.approx(np.mean(units) - 51.0)
        assert (base.loc[k, "ci_low"], base.loc[k, "ci_high"]) == pytest.approx((ci.low, ci.high))
        assert base.loc[k, "p"] == pytest.approx(ref.pvalue)
        p[k] = ref.pvalue
    low, high = sorted(p.values())  # Holm by hand: 2 * smallest, then the running maximum
    assert sorted(base["p_holm"]) == pytest.approx([2 * low, max(2 * low, high)])
    best = out[out["against"] == "best single task"]
    assert list(best["k"]) == [2] and best["reference"].iloc[0] == "b"  # set mean 60
    ref = stats.ttest_ind([60.0, 52.0], [59.0, 61.0], equal_var=False)
    assert best["p"].iloc[0] == pytest.approx(ref.pvalue)
    assert best["p_holm"].iloc[0] == pytest.approx(ref.pvalue)  # a family of one
    assert tuple(best[["units", "reference_units"]].iloc[0]) == (2, 2)


def test_slope_is_clustered_by_set_and_wider_than_over_arms():
    # Seeds of a set agree almost exactly: 12 arms but 6 independent sets.
    rows = [("", 0, -1, 0, 40.0)]
    for name, k, y in (("a", 1, 50.0), ("b", 1, 54.0), ("a,b", 2, 53.0), ("b,c", 2, 57.0),
                       ("a,b,c,d", 4, 55.0), ("b,c,d,e", 4, 61.0)):
        rows += [(name, k, 0, 0, y), (name, k, 1, 0, y + 0.2)]
    table = seeded(rows)
    out = analysis.slope_log2k(table)
    arms = table[table["k"] >= 1]
    x = np.column_stack([np.ones(12), np.log2(arms["k"].to_numpy(float))])
    y = arms["average"].to_numpy(float)
    groups = arms["intermediate"].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    meat = sum(np.outer(x[groups == g].T @ e[groups == g], x[groups == g].T @ e[groups == g])
               for g in set(groups))
    se = math.sqrt((6 / 5 * 11 / 10 * bread @ meat @ bread)[1, 1])  # CR1, G = 6, N = 12, K = 2
    half = stats.t.ppf(0.975, 5) * se
    assert (out["slope"], out["stderr"]) == pytest.approx((beta[1], se))
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((beta[1] - half, beta[1] + half))
    assert (out["n"], out["sets"]) == (12, 6)
    naive = stats.linregress(x[:, 1], y)
    naive_half = stats.t.ppf(0.975, 10) * naive.stderr
    assert out["slope"] == pytest.approx(naive.slope)
    assert out["ci_high"] - out["ci_low"] > 2 * naive_half  # the arms' interval was too narrow
    assert math.isnan(analysis.slope_log2k(table[table["k"] <= 1])["slope"])
    two_sets = analysis.slope_log2k(table[table["intermediate"].isin(["", "a", "a,b"])])
    assert math.isfinite(two_sets["slope"]) and math.isnan(two_sets["ci_low"])


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


def test_same_language_effect_compares_sets_of_one_size():
    rows = [("b0", "", 0, "", "de", 50.0), ("b1", "", 0, "", "de", 52.0)]  # baseline 51
    scores = {("x-de", 1, "de"): [55.0, 57.0], ("y-de", 1, "de"): [60.0],
              ("x-en", 1, "en"): [52.0], ("y-en", 1, "en"): [50.0, 54.0],
              ("z-en", 1, "en"): [49.0],
              ("x-de,x-en", 2, "de,en"): [62.0], ("y-de,y-en", 2, "de,en"): [58.0, 60.0],
              ("x-en,y-en", 2, "en"): [53.0], ("y-en,z-en", 2, "en"): [57.0]}
    for (name, k, langs), values in scores.items():
        rows += [(f"{name}-{i}", name, k, langs, "de", v) for i, v in enumerate(values)]
    out = analysis.same_language_effect(frame(rows)).set_index(["language", "k"])
    p = []
    for k, with_, without in ((1, [56.0, 60.0], [52.0, 52.0, 49.0]),
                              (2, [62.0, 59.0], [53.0, 57.0])):  # set means, seeds averaged
        row = out.loc[("de", k)]
        ref = stats.ttest_ind(with_, without, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert (row["sets_with"], row["sets_without"]) == (2, len(without))
        assert row["gain_with"] == pytest.approx(np.mean(with_) - 51.0)
        assert row["difference"] == pytest.approx(np.mean(with_) - np.mean(without))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
        p.append(ref.pvalue)
    assert list(out["p_bh"]) == pytest.approx(list(stats.false_discovery_control(p)))


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


def test_an_untrained_target_counts_once_per_model_and_its_baseline_is_fixed():
    # Tatoeba-like: no target training, so the two target seeds of an intermediate model share
    # one evaluation (job); the baseline is the base encoder, one fixed model.
    rows = [(f"b{st}", "", 0, "de", 40.0, "e-base") for st in (0, 1)]
    for name, values in (("a", (45.0, 47.0)), ("b", (41.0, 43.0)), ("c", (50.0, 52.0))):
        for si, value in enumerate(values):
            rows += [(f"{name}{si}{st}", name, 1, "de", value, f"e-{name}{si}") for st in (0, 1)]
    table = pd.DataFrame(rows, columns=["run_id", "intermediate", "k", "language", "value",
                                        "job"])
    table["target"], table["metric"], table["main"], table["split"] = "tatoeba", "acc", True, ""
    out = analysis.by_k_language(table, untrained=frozenset({"tatoeba"}))
    out = out.set_index(["language", "k"])
    assert (out.loc[("de", 0), "arms"], out.loc[("de", 1), "arms"]) == (1, 6)  # not 2 and 12
    assert out.loc[("de", 1), "sets"] == 3
    ref = stats.ttest_1samp([46.0, 42.0, 51.0], 40.0)  # set means against the fixed 40
    ci = ref.confidence_interval(0.95)
    assert out.loc[("de", 1), "gain"] == pytest.approx(139 / 3 - 40)
    assert out.loc[("de", 1), "p"] == pytest.approx(ref.pvalue)
    assert (out.loc[("de", 1), "ci_low"], out.loc[("de", 1), "ci_high"]) == pytest.approx(
        (ci.low - 40, ci.high - 40))
    # As a trained target, one baseline model would leave the gain's variance unknown.
    trained = analysis.by_k_language(table).set_index(["language", "k"])
    assert math.isnan(trained.loc[("de", 1), "p"])


def test_language_gains_are_welch_against_the_baseline_seeds_with_bh_over_the_cells():
    base = {"de": [50.0, 52.0, 51.0], "fr": [60.0, 61.0, 59.0]}
    runs = {"de": {"a": 55.0, "b": 53.0, "c": 58.0}, "fr": {"a": 60.0, "b": 62.0, "c": 59.5}}
    rows = []
    for lang in ("de", "fr"):
        rows += [(f"b{i}", "", 0, "t", lang, "acc", v, True, "test")
                 for i, v in enumerate(base[lang])]
        rows += [(f"r{name}", name, 1, "t", lang, "acc", v, True, "test")
                 for name, v in runs[lang].items()]
    for run in ("b0", "b1", "b2", "ra", "rb", "rc"):  # the target's mean over de and fr
        here = [r for r in rows if r[0] == run]
        rows.append((run, here[0][1], here[0][2], "t", "avg", "acc",
                     sum(r[6] for r in here) / 2, True, "test/test"))
    out = analysis.by_k_language(results_rows(rows)).set_index(["language", "k"])
    p = []
    for lang in ("de", "fr"):
        ref = stats.ttest_ind(list(runs[lang].values()), base[lang], equal_var=False)
        assert out.loc[(lang, 1), "p"] == pytest.approx(ref.pvalue)
        assert out.loc[(lang, 1), "gain"] == pytest.approx(np.mean(list(runs[lang].values()))
                                                           - np.mean(base[lang]))
        p.append(ref.pvalue)
    bh = stats.false_discovery_control(p)
    assert (out.loc[("de", 1), "p_bh"], out.loc[("fr", 1), "p_bh"]) == pytest.approx(tuple(bh))
    assert out.loc[("avg", 1), "p_bh"] == pytest.approx(out.loc[("avg", 1), "p"])  # own family
    assert math.isnan(out.loc[("de", 0), "p_bh"])


def test_a_slope_resting_on_one_set_says_so_and_keeps_its_estimate():
    # The paper's grid: nine sets at k = 1, one at k = 9 (examples/paper/study/grid.yaml).
    singles = [55.0, 57.0, 51.0, 60.0, 58.0, 52.0, 54.0, 56.0, 59.0]
    table = arms([(f"t{i}", 1, 1, True, v) for i, v in enumerate(singles)]
                 + [("all", 9, 1, True, 61.0)])
    out = analysis.slope_log2k(table)
    # Least squares on two x values passes through the k = 9 point and the singles' mean.
    assert out["slope"] == pytest.approx((61.0 - np.mean(singles)) / math.log2(9))
    assert math.isnan(out["ci_low"]) and math.isnan(out["stderr"]) and out["sets"] == 10
    assert "the one set at k = 9" in out["note"]
    terms, notes, _ = analysis.scaling_regression(table)
    assert terms.loc[terms["term"] == "log2(k)", "ci_low"].isna().all()
    assert any(note.startswith("log2(k): rests on one set (all)") for note in notes)


def test_the_whole_pools_set_has_its_seeds_as_units_as_the_baseline():
    # Pool a, b, c: the k = 3 set is every pool task, the only set of its size (the paper's
    # all-nine set), so only its seeds vary; a k = 1 set stays one unit, its seeds averaged.
    table = seeded([("", 0, -1, 0, 50.0), ("", 0, -1, 1, 52.0), ("", 0, -1, 2, 51.0),
                    ("a", 1, 0, 0, 55.0), ("b", 1, 0, 0, 59.0), ("c", 1, 0, 0, 49.0),
                    ("c", 1, 1, 0, 51.0),
                    ("a,b,c", 3, 0, 0, 56.0), ("a,b,c", 3, 1, 0, 58.0), ("a,b,c", 3, 2, 0, 57.5)])
    table["whole_pool"] = table["intermediate"] == "a,b,c"
    whole, units = [56.0, 58.0, 57.5], analysis.units_by_k(table)
    assert list(units[3]) == whole and sorted(units[1]) == [50.0, 55.0, 59.0]
    by_k = analysis.mean_by_k(table).set_index("k")
    ci = stats.ttest_1samp(whole, 0.0).confidence_interval(0.95)
    assert (by_k.loc[3, "units"], by_k.loc[3, "sets"]) == (3, 1)
    assert (by_k.loc[3, "ci_low"], by_k.loc[3, "ci_high"]) == pytest.approx((ci.low, ci.high))
    versus = analysis.comparisons(table).set_index(["against", "k"])
    welch = stats.ttest_ind(whole, [50.0, 52.0, 51.0], equal_var=False)
    assert versus.loc[("baseline", 3), "p"] == pytest.approx(welch.pvalue)
    assert versus.loc[("baseline", 3), "units"] == 3
    # Without the pool (no plan.json), one set is one unit: no test.
    blind = analysis.comparisons(table.drop(columns="whole_pool")).set_index(["against", "k"])
    assert math.isnan(blind.loc[("baseline", 3), "p"])


def test_language_gains_of_the_whole_pools_set_take_its_models_as_units():
    base, whole = [50.0, 52.0, 51.0], [56.0, 58.0, 57.5]
    rows = [(f"b{i}", "", 0, "t", "de", "acc", v, True, "test") for i, v in enumerate(base)]
    rows += [(f"w{i}", "a,b", 2, "t", "de", "acc", v, True, "test") for i, v in enumerate(whole)]
    frame = results_rows(rows)
    frame["whole_pool"] = frame["intermediate"] == "a,b"
    out = analysis.by_k_language(frame).set_index(["language", "k"])
    welch = stats.ttest_ind(whole, base, equal_var=False)
    assert out.loc[("de", 2), "p"] == pytest.approx(welch.pvalue)
    assert math.isnan(analysis.by_k_language(results_rows(rows)).set_index(
        ["language", "k"]).loc[("de", 2), "p"])
