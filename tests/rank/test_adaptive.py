"""The adaptive study (`select: {by: rank, budget: B}`) on a tiny pool: it trains exactly the
sets it logs, picks them as documented, and a run killed mid-way replays its steps when run
again, training nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from tests.fixtures import RANK_STUDY

from xstilts.cli import main
from xstilts.rank.adaptive import SELECT_FILE, candidate_features, fit_ridge
from xstilts.rank.combine import AVERAGE
from xstilts.study.store import Store

# Five single tasks, budget 3: the first pick by the ranking, the third by the model (two
# sets measured). The target is retrieval (untrained): each set's score is its own.
STUDY = (RANK_STUDY.replace("name: rank-small", "name: rank-adaptive")
         + "select: {by: rank, budget: 3, examples: 16}\n")


def test_ridge_against_least_squares_on_augmented_rows():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    intercept, weights = fit_ridge(x, y, ridge=2.0)
    # Ridge with a free intercept = least squares on centred data plus sqrt(ridge) I rows.
    xc, yc = x - x.mean(0), y - y.mean()
    augmented = np.vstack([xc, np.sqrt(2.0) * np.eye(3)])
    expected = np.linalg.lstsq(augmented, np.concatenate([yc, np.zeros(3)]), rcond=None)[0]
    assert np.allclose(weights, expected)
    assert intercept == pytest.approx(y.mean() - x.mean(0) @ expected)


def test_features_leave_out_missing_and_constant_estimates():
    rank = pd.DataFrame({"target": AVERAGE, "set": ["a", "b", "c"], "k": [1, 1, 1],
                         "score": [1.0, 0.0, -1.0], "text_sim": [0.1, 0.3, 0.2],
                         "task_sim": [np.nan, 0.2, 0.3], "logme": [np.nan] * 3,
                         "set_lang_overlap": [0.5] * 3, "set_lang_distance": [0.0, 1.0, 0.5]})
    x = candidate_features(rank)
    assert list(x.columns) == ["score", "text_sim", "set_lang_distance"]  # k constant too
    assert np.allclose(x.mean(), 0) and np.allclose(x.std(ddof=0), 1)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """The adaptive study killed while training its second set, then run again."""
    root = tmp_path_factory.mktemp("adaptive")
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    out = root / "out"
    args = ["study", str(root / "study.yaml"), "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "xstilts.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    log = out / SELECT_FILE
    before = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists():
            steps = json.loads(log.read_text(encoding="utf-8"))["steps"]
            if len(steps) >= 2:  # step 1 measured, step 2 picked and training
                before = steps
                break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert before is not None, "the run ended before its second step"
    assert main(args) == 0
    return out, before, json.loads(log.read_text(encoding="utf-8"))


def test_it_trains_exactly_the_logged_sets(resumed):
    out, _, record = resumed
    chosen = record["chosen"]
    assert len(chosen) == 3 == len(set(chosen)) and [len(s["sets"]) for s in record["steps"]] \
        == [1, 1, 1]
    store = Store(out / "store")
    done = Counter(e["key"] for e in store.events("done") if e["kind"] == "intermediate")
    assert len(done) == 3 and set(done.values()) == {1}  # nothing trained twice
    trained = {r["intermediate"] for r in store.results("rank-adaptive")}
    assert trained == {"", *chosen}  # the chosen sets and the baseline, nothing else
    assert set(record["measured"]) == set(chosen)


def test_the_steps_follow_the_ranking_then_the_model(resumed):
    out, _, record = resumed
    rank = pd.read_csv(out / "rank.csv", dtype={"set": str})
    best = rank[rank["target"] == AVERAGE].sort_values("rank")["set"].iloc[0]
    first, second, third = record["steps"]
    assert first["by"] == "ranking" and first["sets"] == [best]
    assert second["by"] == "ranking"  # one set measured: not enough for a model
    assert third["by"] == "model" and third["model"]["trained_on"] == 2
    for step in record["steps"]:  # each pick: the best prediction among the untrained sets
        picked = step["sets"][0]
        assert step["predicted"][picked] == max(step["predicted"].values())
    assert set(third["predicted"]) == set(rank.loc[rank["target"] == AVERAGE, "set"]) \
        - set(first["sets"]) - set(second["sets"])


def test_a_killed_run_replays_its_steps(resumed):
    _, before, record = resumed
    for old, new in zip(before, record["steps"], strict=False):
        assert old["sets"] == new["sets"] and old["by"] == new["by"]
        if old["measured"] is not None:
            assert old["measured"] == pytest.approx(new["measured"])


def test_select_without_a_baseline_is_refused_before_any_work(tmp_path, capsys):
    text = STUDY.replace("sizes: [0, 1]", "sizes: [1]")
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    assert main(["study", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "sizes has no 0" in err and "add 0 to sizes" in err
    assert not (tmp_path / "out" / "rank.csv").exists()
