"""`xstilts rank` end to end on the CI study (tiny-random encoder), and the encoder-side
estimates (pooled vectors, labelled views, Fisher vectors) on tiny-random."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts.cli import main
from xstilts.rank.combine import AVERAGE
from xstilts.study.spec import load_study

STUDY = Path(__file__).resolve().parents[2] / "examples" / "study-tiny.yaml"


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    out = tmp_path_factory.mktemp("rank")
    assert main(["rank", str(STUDY), "--out", str(out), "--top", "3", "--examples", "24"]) == 0
    return out


def test_rank_writes_every_target_and_set(ranked, capsys):
    frame = pd.read_csv(ranked / "rank.csv", dtype={"set": str})
    sets = {",".join(s) for k in (1, 2, 4) for s in load_study(STUDY).sets(k)}
    assert len(sets) == 8
    for target in ("demo-nli", "demo-retrieval", AVERAGE):
        rows = frame[frame["target"] == target]
        assert set(rows["set"]) == sets and list(rows["rank"]) == list(range(1, 9))
        assert rows["score"].is_monotonic_decreasing
    nli = frame[frame["target"] == "demo-nli"]
    retrieval = frame[frame["target"] == "demo-retrieval"]
    assert nli["logme"].notna().all() and nli["task_sim"].notna().all()
    assert nli["logme_target"].nunique() == 1 and not math.isnan(nli["logme_target"].iloc[0])
    # An untrained retrieval target: no labels, no loss; text similarity only (and languages).
    assert retrieval["logme"].isna().all() and retrieval["task_sim"].isna().all()
    assert retrieval["text_sim"].notna().all()
    # A set's score is the mean of its members' single-task scores (the documented rule).
    single = nli[nli["k"] == 1].set_index("set")["score"]
    for row in nli[nli["k"] > 1].itertuples():
        assert row.score == pytest.approx(np.mean([single[t] for t in row.set.split(",")]),
                                          abs=1e-9)
    # Language features: demo-nli is scored on en and de; demo-topic-de covers de.
    topic_de = nli.set_index("set").loc["demo-topic-de"]
    assert topic_de["set_lang_overlap"] == 0.5 and topic_de["lang_distance"] == 0.125


def test_top_writes_a_study_of_the_best_sets_and_the_baseline(ranked):
    frame = pd.read_csv(ranked / "rank.csv", dtype={"set": str})
    best = frame[frame["target"] == AVERAGE].sort_values("rank")["set"].head(3)
    top = load_study(ranked / "study-tiny-top3.yaml")
    assert top.spec.name == "study-tiny-top3"
    trained = {",".join(arm.tasks) for arm in top.arms() if arm.tasks}
    assert trained == set(best)
    assert any(not arm.tasks for arm in top.arms())  # the baseline


def test_rank_refuses_a_bad_top(tmp_path, capsys):
    assert main(["rank", str(STUDY), "--out", str(tmp_path), "--top", "0"]) == 2
    assert "--top 0" in capsys.readouterr().err
    assert not (tmp_path / "rank.csv").exists()


@pytest.fixture(scope="module")
def tiny():
    from xstilts.models.encoder import load_encoder, resolve_encoder
    from xstilts.tasks.demo.suite import make_tasks

    tasks = make_tasks({"train": 12, "dev": 4, "test": 4})
    data = {n: tasks[n].load_training("train") for n in
            ("demo-topic-en", "demo-mc-en", "demo-pos-en", "demo-qa")}
    texts = [str(v) for exs in data.values() for ex in exs for v in ex.values()]
    encoder, tokenizer = load_encoder(resolve_encoder("tiny-random", texts))
    encoder.eval()
    return tasks, data, encoder, tokenizer


def test_labelled_views_and_fisher_on_tiny_random(tiny):
    from xstilts.rank.estimates import SampleSettings, labelled_view, pooled, task_sample

    tasks, data, encoder, tokenizer = tiny
    settings = SampleSettings(examples=12, max_length=64)
    hidden = encoder.config.hidden_size
    topic = task_sample(tasks["demo-topic-en"], data["demo-topic-en"], encoder, tokenizer,
                        settings)
    features, labels = topic.labelled
    assert features.shape == (12, hidden + 1) and np.all(features[:, -1] == 1)
    names = list(tasks["demo-topic-en"].labels)
    assert list(labels) == [names.index(ex["label"]) for ex in data["demo-topic-en"]]
    # The classification view is the pooled vector of the (text_a, text_b) pair.
    pair = [(ex["text_a"], ex.get("text_b")) for ex in data["demo-topic-en"]]
    assert np.allclose(features[:, :-1], pooled(encoder, tokenizer, pair, settings), atol=1e-6)
    mc = labelled_view(tasks["demo-mc-en"], data["demo-mc-en"], encoder, tokenizer, settings)
    # 4 choices a question: the first 3 questions make the 12 rows asked for, one right each.
    assert mc[0].shape == (12, hidden + 1) and list(mc[1]) == [
        int(j == ex["label"]) for ex in data["demo-mc-en"][:3] for j in range(4)]
    pos = labelled_view(tasks["demo-pos-en"], data["demo-pos-en"], encoder, tokenizer, settings)
    assert len(pos[1]) == sum(len(ex["tokens"]) for ex in data["demo-pos-en"])  # one per word
    assert labelled_view(tasks["demo-qa"], data["demo-qa"], encoder, tokenizer, settings) is None
    # The Fisher vector: squared gradients (>= 0, some > 0), the same when computed again.
    again = task_sample(tasks["demo-topic-en"], data["demo-topic-en"], encoder, tokenizer,
                        settings)
    assert topic.fisher is not None and (topic.fisher >= 0).all() and topic.fisher.max() > 0
    assert np.array_equal(topic.fisher, again.fisher)
    n_params = sum(p.numel() for p in encoder.encoder.layer[-1].parameters())
    assert topic.fisher.shape == (n_params,)
    assert all(p.requires_grad for p in encoder.parameters())  # left as found
