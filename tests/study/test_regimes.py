"""Budget regimes kept apart in the statistics (issue 27, point 2): a study folder made by
hand (plan.json, a store with known scores, the intermediate jobs' records with the tokens
they saw) where every set is trained under two regimes whose scores differ by a known
constant. Per-regime means are the hand-computed ones (pooling would give others), the
regression's log2(tokens seen) term is statsmodels' cluster-robust OLS, and the report shows
both regimes; with one regime it is the report it always was."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts.cli import main
from xstilts.study import analysis, regimes
from xstilts.study.coverage import coverage
from xstilts.study.results import open_study
from xstilts.study.store import Store

POOL = {"a": ["en"], "b": ["de"], "c": ["en"], "d": ["de"]}
TARGETS = {"nli": ["en", "de"], "pos": ["en", "de"]}  # both trained: each arm its own models
SETS = [(), ("a",), ("b",), ("c",), ("d",), ("a", "b"), ("c", "d"), ("a", "c"), ("b", "d"),
        ("a", "b", "c", "d")]
EFFECT = {(): 0.0, ("a",): 1.0, ("b",): -1.0, ("c",): 2.0, ("d",): 0.5, ("a", "b"): 1.5,
          ("c", "d"): 3.0, ("a", "c"): 2.5, ("b", "d"): 0.0, ("a", "b", "c", "d"): 4.0}
LANG = {"en": 10.0, "de": 0.0}
SHIFT = {"equal": 0.0, "proportional": 3.0}  # the known constant between the regimes
BUDGETS = {"equal": {"total_steps": 100}, "proportional": {"per_task_steps": 200}}
LENGTH = {"a": 20, "b": 24, "c": 18, "d": 22}  # tokens per example of each task
SEEDS = (0, 1)


def score(tasks: tuple, target: str, lang: str, si: int, st: int, regime: str) -> float:
    level = 60.0 if target == "nli" else 40.0
    return level + LANG[lang] + EFFECT[tasks] + 0.4 * max(si, 0) + 0.3 * st + (
        SHIFT[regime] if tasks else 0.0)


def average(tasks: tuple, si: int, st: int, regime: str) -> float:
    """An arm's average over the targets by hand: each target's mean over its languages."""
    return float(np.mean([np.mean([score(tasks, t, lang, si, st, regime) for lang in langs])
                          for t, langs in TARGETS.items()]))


def tokens(tasks: tuple, regime: str) -> int:
    """Tokens the set's intermediate job saw: its steps x 8 examples, at its tasks' lengths."""
    steps = 100 if regime == "equal" else 200 * len(tasks)
    return steps * 8 * sum(LENGTH[t] for t in tasks) // len(tasks)


def arms(names: tuple[str, ...]) -> list[dict]:
    out = []
    for tasks in SETS:
        for regime in (("",) if not tasks else names):
            for si in ((-1,) if not tasks else SEEDS):
                for st in SEEDS:
                    out.append({"run_id": f"{'+'.join(tasks) or 'base'}-{regime}-{si}-{st}",
                                "tasks": list(tasks), "intermediate_seed": si,
                                "target_seed": st, "budget": regime,
                                "intermediate_job": f"int-{'+'.join(tasks)}-{regime}-{si}"
                                if tasks else None, "target_jobs": {}})
    return out


def make_study(root: Path, names: tuple[str, ...] = ("equal", "proportional")) -> Path:
    store = Store(root / "store")
    rows = []
    for arm in arms(names):
        tasks, si, st = tuple(arm["tasks"]), arm["intermediate_seed"], arm["target_seed"]
        regime = arm["budget"]
        langs = len({lang for t in tasks for lang in POOL[t]})
        head = ("two", arm["run_id"], ",".join(tasks), len(tasks), langs, si, st)
        for target, languages in TARGETS.items():
            for lang in languages:
                rows.append((*head, target, lang, "accuracy",
                             score(tasks, target, lang, si, st, regime or "equal"),
                             f"{target}-{lang}-{arm['run_id']}"))
            rows.append((*head, target, "avg", "accuracy", np.mean(
                [score(tasks, target, lang, si, st, regime or "equal") for lang in languages]),
                ""))
        if arm["intermediate_job"]:
            seen = {t: {"examples": tokens(tasks, regime) // LENGTH[t] // len(tasks),
                        "tokens": tokens(tasks, regime) // len(tasks)} for t in tasks}
            path = store.record_path(arm["intermediate_job"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"key": arm["intermediate_job"], "seconds": 1.0,
                                        "output": {"summary": {"seen": seen}}}), "utf-8")
    store.write_results(rows)
    plan = {"study": "two", "store": str((root / "store").resolve()), "encoder": "hand-made",
            "counts": {"intermediate": 36, "target": 74, "evaluation": 296}, "jobs": {},
            "pool": POOL, "arms": arms(names),
            "spec": {"budgets": {n: BUDGETS[n] for n in names}, "sizes": [0, 1, 2, 4],
                     "seeds": {"intermediate": list(SEEDS), "target": list(SEEDS)}},
            "targets": {t: {"format": "classification", "trained": True, "languages": langs,
                            "split": "test", "main_metric": "accuracy", "test_limit": None,
                            "training": {}} for t, langs in TARGETS.items()}}
    (root / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("regimes") / "two")


def hand_mean(k: int, regime: str) -> float:
    """The mean over the k-sets of each set's mean over its four seed arms."""
    sets = [s for s in SETS if len(s) == k]
    return float(np.mean([np.mean([average(s, si, st, regime) for si in SEEDS for st in SEEDS])
                          for s in sets]))


def test_each_regime_has_its_own_means_and_the_baseline_is_shared(study):
    data = open_study(study)
    assert regimes.names(data.frame, data.plan) == ["equal", "proportional"]
    base = np.mean([average((), -1, st, "equal") for st in SEEDS])
    pooled = analysis.mean_by_k(analysis.arm_table(data.frame, data.targets)).set_index("k")
    for regime in SHIFT:
        table = analysis.arm_table(regimes.rows_of(data.frame, regime), data.targets)
        by_k = analysis.mean_by_k(table).set_index("k")
        assert by_k.loc[0, "mean"] == pytest.approx(base) and by_k.loc[0, "arms"] == 2
        for k in (1, 2, 4):
            assert by_k.loc[k, "mean"] == pytest.approx(hand_mean(k, regime))
            assert by_k.loc[k, "arms"] == 4 * sum(len(s) == k for s in SETS)
            # pooling the regimes lands halfway: neither regime's answer
            assert pooled.loc[k, "mean"] == pytest.approx(hand_mean(k, "equal") + 1.5)
            assert abs(pooled.loc[k, "mean"] - by_k.loc[k, "mean"]) == pytest.approx(1.5)
        versus = analysis.comparisons(table).query("against == 'baseline'").set_index("k")
        assert versus.loc[2, "difference"] == pytest.approx(hand_mean(2, regime) - base)
    # the known constant between the regimes, at every k
    equal = analysis.mean_by_k(analysis.arm_table(regimes.rows_of(data.frame, "equal"),
                                                  data.targets)).set_index("k")["mean"]
    prop = analysis.mean_by_k(analysis.arm_table(regimes.rows_of(data.frame, "proportional"),
                                                 data.targets)).set_index("k")["mean"]
    assert list(prop - equal) == pytest.approx([0.0, 3.0, 3.0, 3.0])


def test_the_tokens_term_is_statsmodels_cluster_robust_ols_by_set(study):
    import statsmodels.api as sm

    data = open_study(study)
    terms, notes, n = analysis.scaling_regression(analysis.arm_table(data.frame, data.targets))
    terms = terms.set_index("term")
    assert list(terms.index) == ["intercept", "log2(k)", "log2(tokens seen)", "n_languages",
                                 "english_in_set"] and not notes
    # The design by hand, from the arms' definitions (not from the results table).
    rows = [(tasks, si, st, regime) for tasks in SETS if tasks for regime in SHIFT
            for si in SEEDS for st in SEEDS]
    assert n == len(rows) == 9 * 2 * 4
    x = np.array([[1.0, math.log2(len(t)), math.log2(tokens(t, r)),
                   len({lang for task in t for lang in POOL[task]}),
                   float(any("en" in POOL[task] for task in t))] for t, _, _, r in rows])
    y = np.array([average(t, si, st, r) for t, si, st, r in rows])
    groups = pd.factorize(pd.Series([",".join(t) for t, *_ in rows]))[0]  # by set
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert terms["estimate"].to_numpy() == pytest.approx(fit.params)
    assert terms["stderr"].to_numpy() == pytest.approx(fit.bse)
    low, high = fit.conf_int(0.05)[2]
    assert (terms.loc["log2(tokens seen)", "ci_low"],
            terms.loc["log2(tokens seen)", "ci_high"]) == pytest.approx((low, high))
    # Without the term, "more tasks" would absorb the proportional regime's extra training.
    single = analysis.scaling_regression(analysis.arm_table(
        regimes.rows_of(data.frame, "proportional"), data.targets))
    assert "log2(tokens seen)" not in set(single[0]["term"]) and not single[1]


def test_tokens_not_separable_or_not_recorded_are_left_out_and_said():
    table = pd.DataFrame({"intermediate": ["a", "a", "b", "b", "a,b", "a,b"],
                          "k": [1, 1, 1, 1, 2, 2], "n_languages": [1, 1, 2, 2, 2, 2],
                          "english_in_set": True, "budget": ["x", "y"] * 3,
                          "average": [50.0, 51, 52, 54, 55, 57]})
    table["tokens_seen"] = 1000 * table["k"]  # the same in both regimes: follows k
    terms, notes, _ = analysis.scaling_regression(table)
    assert "log2(tokens seen)" not in set(terms["term"])
    assert any(n.startswith("log2(tokens seen): not separable from intercept, log2(k)")
               for n in notes)
    table["tokens_seen"] = [1000, None, 1000, 2000, 2000, 4000]
    terms, notes, _ = analysis.scaling_regression(table)
    assert "log2(tokens seen)" not in set(terms["term"])
    assert any(n.startswith("log2(tokens seen): not recorded for 1 arm(s)") for n in notes)


def test_coverage_counts_per_regime(tmp_path):
    root = make_study(tmp_path / "two")
    with sqlite3.connect(root / "store" / "store.sqlite") as conn:
        conn.execute("DELETE FROM results WHERE run_id = 'a+b+c+d-proportional-0-1' AND "
                     "language = 'de'")
    data = open_study(root)
    cover = coverage(data.frame, data.plan, data.targets)
    per = cover.by_k().set_index(["budget", "k"])
    assert per.loc[("", 0), "planned"] == 2 and per.loc[("equal", 2), "planned"] == 16
    assert (per.loc[("proportional", 4), "planned"], per.loc[("proportional", 4), "complete"],
            per.loc[("equal", 4), "complete"]) == (4, 3, 4)
    lang = cover.by_language(data.frame).set_index(["language", "budget", "k"])["complete"]
    assert (lang[("de", "proportional", 4)], lang[("en", "proportional", 4)]) == (3, 4)
    assert cover.of("proportional").summary() == "37 of 38 planned arm(s) complete"
    assert list(cover.incomplete["budget"]) == ["proportional"]


def test_the_report_shows_both_regimes(study, tmp_path):
    out = tmp_path / "report"
    assert main(["report", str(study), "--out", str(out), "--csv"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    for text in ("## More tasks or more training?", "## Budget regime: equal (total_steps 100)",
                 "## Budget regime: proportional (per_task_steps 200)",
                 "More training (per doubling of the tokens seen, at a fixed k): ",
                 "| log2(tokens seen) |", "- **budget regimes:** equal (total_steps 100)",
                 "| proportional | 4 | 1 | 4 | 134400 |"):  # budget, k, sets, arms, tokens
        assert text in md, text
    assert md.count("### Average over the targets vs the number of intermediate tasks") == 2
    for name in ("average_vs_k_by_budget.png", "average_vs_k-equal.png",
                 "average_vs_k-proportional.png", "targets_vs_k-proportional.png"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "average_vs_k.png").exists()
    by_k = pd.read_csv(out / "tables" / "by_k.csv", keep_default_na=False)
    means = by_k.set_index(["budget", "k"])["mean"]
    for regime in SHIFT:
        assert means[(regime, 4)] == pytest.approx(hand_mean(4, regime))
        assert f"- Average, k = 4: {hand_mean(4, regime):.2f}% " in md
    regression = pd.read_csv(out / "tables" / "regression.csv")
    assert "log2(tokens seen)" in set(regression.loc[regression["budget"] == "all", "term"])
    assert set(pd.read_csv(out / "tables" / "coverage.csv", keep_default_na=False)["budget"]) \
        == {"", "equal", "proportional"}


def test_one_regime_reports_as_before(tmp_path):
    root = make_study(tmp_path / "one", names=("equal",))
    out = tmp_path / "report"
    assert main(["report", str(root), "--out", str(out), "--csv"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Budget regime" not in md and "tokens" not in md and "budget" not in md.lower()
    assert (out / "average_vs_k.png").exists() and not (out / "average_vs_k_by_budget.png").exists()
    assert "budget" not in pd.read_csv(out / "tables" / "by_k.csv").columns
    assert "budget" not in pd.read_csv(out / "tables" / "incomplete.csv").columns
    assert f"- Average, k = 4: {hand_mean(4, 'equal'):.2f}% " in md


def test_a_regime_without_complete_arms_is_said_and_the_other_reported(tmp_path):
    root = make_study(tmp_path / "two")
    with sqlite3.connect(root / "store" / "store.sqlite") as conn:
        conn.execute("DELETE FROM results WHERE run_id LIKE '%-proportional-%'")
    out = tmp_path / "report"
    assert main(["report", str(root), "--out", str(out)]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "2 budget regimes: equal (total_steps 100); proportional (per_task_steps 200)" in md
    assert "## Budget regime: equal" in md and "## Budget regime: proportional" not in md
    assert "log2(tokens seen): only equal regime has complete arms; left out" in md
    assert f"- Average, k = 2: {hand_mean(2, 'equal'):.2f}% " in md
