"""Predicted vs measured: the statistics on hand-made tables (Spearman against scipy, the
regret by hand), and the report section on a small real study ranked with `xstilts rank`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.fixtures import RANK_STUDY

from xstilts.cli import main
from xstilts.study import predicted


def arm_table(gains: dict[str, float], baseline=(50.0, 52.0)) -> pd.DataFrame:
    """An arm table as analysis.arm_table gives it: one target t, two seeds per set."""
    rows = [{"intermediate": "", "k": 0, "t": b, "average": b} for b in baseline]
    base = float(np.mean(baseline))
    for members, gain in gains.items():
        for wobble in (-1.0, 1.0):
            score = base + gain + wobble
            rows.append({"intermediate": members, "k": len(members.split(",")), "t": score,
                         "average": score})
    return pd.DataFrame(rows)


def rank_rows(scores: dict[str, float], target: str = "t") -> pd.DataFrame:
    ordered = sorted(scores, key=lambda s: -scores[s])
    return pd.DataFrame({"target": target, "set": ordered, "score": [scores[s] for s in ordered],
                         "rank": range(1, len(ordered) + 1)})


def test_measured_gain_is_the_set_mean_minus_the_baseline_mean():
    gains = predicted.measured_gains(arm_table({"a": 3.0, "b,c": -1.5}), ["t"])
    by = gains.set_index(["target", "set"])["gain"]
    assert by[("t", "a")] == pytest.approx(3.0) and by[("t", "b,c")] == pytest.approx(-1.5)
    assert by[(predicted.AVERAGE, "a")] == pytest.approx(3.0)


def test_rho_against_scipy_and_the_regret_by_hand():
    measured = {"a": 4.0, "b": 1.0, "c": 2.5, "d": -1.0, "e": 0.5, "f": 3.0}
    scores = {"a": 0.2, "b": 1.5, "c": 0.9, "d": -0.7, "e": 0.1, "f": 0.4}
    gains = predicted.measured_gains(arm_table(measured), ["t"])
    result = predicted.compare(rank_rows(scores), gains, n_boot=500, seed=1).set_index("target")
    sets = sorted(measured)
    expected = stats.spearmanr([scores[s] for s in sets], [measured[s] for s in sets])
    row = result.loc["t"]
    assert row["rho"] == pytest.approx(expected.statistic) and row["sets"] == 6
    assert row["ci_low"] <= row["rho"] <= row["ci_high"] and row["ci_low"] < row["ci_high"]
    # Ranked first: b (score 1.5), measured +1.0; the best measured is a (+4.0): regret 3.
    assert (row["top_set"], row["best_set"]) == ("b", "a")
    assert row["regret"] == pytest.approx(3.0) and row["note"] == ""


def test_a_perfect_ranking_has_rho_one_and_no_regret():
    measured = {s: float(i) for i, s in enumerate("abcdef")}
    gains = predicted.measured_gains(arm_table(measured), ["t"])
    row = predicted.compare(rank_rows(measured), gains, n_boot=200).iloc[0]
    assert row["rho"] == pytest.approx(1.0) and row["regret"] == 0.0
    assert row["ci_low"] == pytest.approx(1.0) and row["ci_high"] == pytest.approx(1.0)


def test_too_few_sets_are_said_plainly():
    measured = {"a": 1.0, "b": 2.0, "c": 0.0}
    gains = predicted.measured_gains(arm_table(measured), ["t"])
    row = predicted.compare(rank_rows({"a": 1, "b": 3, "c": 2}), gains).iloc[0]
    assert row["sets"] == 3 and "too few sets to tell" in row["note"]
    assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


@pytest.fixture(scope="module")
def ranked_study(tmp_path_factory):
    from xstilts.study.spec import load_study
    from xstilts.study.study import run_study

    root = tmp_path_factory.mktemp("ranked")
    (root / "study.yaml").write_text(RANK_STUDY, encoding="utf-8")
    assert main(["rank", str(root / "study.yaml"), "--out", str(root / "out"),
                 "--examples", "16"]) == 0
    run_study(load_study(root / "study.yaml"), root / "out")  # writes the report at its end
    return root / "out"


def test_the_report_compares_the_ranking_with_the_study(ranked_study):
    from xstilts.study.analysis import arm_table as study_arms
    from xstilts.study.results import open_study

    md = (ranked_study / "report.md").read_text(encoding="utf-8")
    assert "Predicted vs measured" in md
    assert (ranked_study / "predicted_vs_measured.png").stat().st_size > 0
    data = open_study(ranked_study)
    rank = pd.read_csv(ranked_study / "rank.csv", dtype={"set": str})
    gains = predicted.measured_gains(study_arms(data.frame, data.targets), data.targets)
    result = predicted.compare(rank, gains).set_index("target")
    row = result.loc["demo-retrieval"]
    assert row["sets"] == 5 and row["note"] == ""
    assert not math.isnan(row["ci_low"])
    # rho as scipy computes it over the five sets, printed with its interval.
    both = rank[rank["target"] == "demo-retrieval"].merge(gains, on=["target", "set"])
    assert row["rho"] == pytest.approx(stats.spearmanr(both["score"], both["gain"]).statistic)
    section = md[md.index("Predicted vs measured"):]
    line = next(x for x in section.splitlines() if x.startswith("| demo-retrieval |"))
    assert f"{row['rho']:+.2f}" in line and f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]" in line
