"""Bitext mining (BUCC): margin mining by hand, dev-chosen threshold, reader, end to end."""

from __future__ import annotations

import numpy as np
import pytest
from tests.fixtures import bare_task

from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.metrics import margin_scores
from xstilts.formats import get_format
from xstilts.formats.bitext_mining import BitextMiningFormat, mine
from xstilts.study.run import run_config
from xstilts.tasks.readers import read_examples
from xstilts.tasks.task import Task

FMT = BitextMiningFormat()


def make_task(**options) -> Task:
    return bare_task("bucc", "bitext_mining", ["de"], **options)


def sentences(sources: dict, targets: dict, gold: dict | None = None) -> list[dict]:
    out = [{"id": i, "side": "source", "text": t} for i, t in sources.items()]
    if gold is not None:
        for ex in out:
            ex["gold"] = gold.get(ex["id"], [])
    return out + [{"id": i, "side": "target", "text": t} for i, t in targets.items()]


def test_registered_and_not_trainable():
    fmt = get_format("bitext_mining")
    assert isinstance(fmt, BitextMiningFormat)
    assert (fmt.trainable, fmt.main_metric, fmt.prediction_suffix) == (False, "f1", "tsv")
    assert fmt.tunes_on_dev


def test_margin_prefers_the_non_hub_target():
    # x0 = (1, 0), x1 = (.8, .6); y0 = (1, 0), y1 = (0, 1). k = 4 shrinks to the 2 on each side.
    # cos:  x0·y0 = 1   x0·y1 = 0
    #       x1·y0 = .8  x1·y1 = .6
    # neighbourhood means: x0 (1 + 0)/2 = .5, x1 (.8 + .6)/2 = .7,
    #                      y0 (1 + .8)/2 = .9, y1 (0 + .6)/2 = .3
    # margin = cos / ((mean x + mean y) / 2):
    #   (x0, y0) 1 / .7 = 1.428571    (x0, y1) 0 / .4 = 0
    #   (x1, y0) .8 / .8 = 1.0        (x1, y1) .6 / .5 = 1.2
    # By cosine x1's nearest is y0, but y0 is close to everything (a hub): the margin picks y1.
    x = np.array([[1.0, 0.0], [0.8, 0.6]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(margin_scores(x, y), [[1 / 0.7, 0.0], [1.0, 1.2]], rtol=1e-6)
    pairs = mine(x, y)
    assert [(s, t) for s, t, _ in pairs] == [(0, 0), (1, 1)]
    np.testing.assert_allclose([m for _, _, m in pairs], [1 / 0.7, 1.2], rtol=1e-6)


def test_pairs_are_taken_one_to_one_best_first():
    # x0 = (1, 0), x1 = (.6, .8); one target y0 = (1, 0). Forward k = min(4, 1) = 1, backward 2.
    # cos x0·y0 = 1, x1·y0 = .6; means: x0 1, x1 .6, y0 (1 + .6)/2 = .8.
    # margins: (x0, y0) 1 / .9 = 1.1111, (x1, y0) .6 / .7 = .857143.
    # Both sources' best is y0; the better pair takes it, so x1 gets no candidate.
    pairs = mine(np.array([[1.0, 0.0], [0.6, 0.8]]), np.array([[1.0, 0.0]]))
    assert len(pairs) == 1 and pairs[0][:2] == (0, 0)
    assert pairs[0][2] == pytest.approx(1 / 0.9, rel=1e-6)


def reference_mine(x, y, k=4):
    """XTREME's mine_bitext ("max" retrieval) written directly on the full margin matrix."""
    m, cos = margin_scores(x, y, k), x @ y.T
    fwd_nn = np.argsort(-cos, axis=1, kind="stable")[:, :min(k, len(y))]
    bwd_nn = np.argsort(-cos.T, axis=1, kind="stable")[:, :min(k, len(x))]
    fwd = [(i, int(nn[np.argmax(m[i, nn])]), m[i, nn].max()) for i, nn in enumerate(fwd_nn)]
    bwd = [(int(nn[np.argmax(m[nn, j])]), j, m[nn, j].max()) for j, nn in enumerate(bwd_nn)]
    out, seen_s, seen_t = set(), set(), set()
    for s, t, score in sorted(fwd + bwd, key=lambda c: -c[2]):
        if s not in seen_s and t not in seen_t:
            seen_s.add(s)
            seen_t.add(t)
            if score > 0:
                out.add((s, t))
    return out


def test_mining_matches_the_full_margin_matrix_on_random_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 8))
    y = np.concatenate([x[:15] + 0.3 * rng.normal(size=(15, 8)), rng.normal(size=(11, 8))])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    got = mine(x, y)
    assert {(s, t) for s, t, _ in got} == reference_mine(x, y)
    m = margin_scores(x, y)
    for s, t, score in got:
        assert score == pytest.approx(m[s, t], rel=1e-5)


def test_decode_embeds_repeated_texts_once_and_drops_their_ids():
    examples = sentences({"s1": "a", "s2": "b", "s3": "b"}, {"t1": "A", "t2": "B"})
    vec = {"a": [1.0, 0.0], "b": [0.0, 1.0], "A": [1.0, 0.0], "B": [0.0, 1.0]}
    features = [{"example_index": i} for i in range(len(examples))]
    outputs = [np.array(vec[ex["text"]], dtype=np.float32) for ex in examples]
    predictions = FMT.decode(examples, features, outputs, make_task())
    # "b" is one sentence for mining but has two ids, so (as XTREME) its pair is left out.
    assert set(predictions) == {"s1"} and predictions["s1"][0] == "t1"


# Dev: three candidates, the first two right. Scanning best-first: after 1.5 P=1 R=.5 F1=.667;
# after 1.3 P=1 R=1 F1=1 (best); after 1.1 P=.667 R=1 F1=.8. Threshold = (1.3 + 1.1) / 2 = 1.2.
DEV = sentences({"d1": "x", "d2": "y", "d3": "z"}, {"e1": "X", "e2": "Y", "e3": "Z"},
                gold={"d1": ["e1"], "d2": ["e2"]})
DEV_PRED = {"d1": ("e1", 1.5), "d2": ("e2", 1.3), "d3": ("e3", 1.1)}
# Test: both candidates right, but only a1 reaches the dev threshold 1.2.
TEST = sentences({"a1": "p", "a2": "q"}, {"b1": "P", "b2": "Q"}, gold={"a1": ["b1"], "a2": ["b2"]})
TEST_PRED = {"a1": ("b1", 1.25), "a2": ("b2", 1.15)}


def test_threshold_chosen_on_dev_is_applied_to_test(tmp_path):
    assert FMT.choose_threshold(DEV, DEV_PRED) == pytest.approx(1.2)
    seen = []

    def predict(task, examples):
        seen.append((task.options.get("threshold"), examples))
        return DEV_PRED

    task = FMT.prepare(make_task(layer=-1), DEV, predict)
    assert task.options == {"layer": -1, "threshold": pytest.approx(1.2)}
    assert seen == [(None, DEV)]  # dev is predicted once, without a threshold
    # P = 1/1, R = 1/2, F1 = 2·1·.5/1.5 = 66.67 (the test set's own best threshold would give 100)
    scores = FMT.score(TEST, TEST_PRED, task, "de")
    assert scores == pytest.approx({"precision": 100.0, "recall": 50.0, "f1": 200 / 3})
    assert FMT.score(TEST, TEST_PRED, make_task(), "de")["f1"] == pytest.approx(100.0)
    path = tmp_path / "test-de.tsv"
    FMT.write_predictions(TEST, TEST_PRED, task, path)
    assert path.read_text() == "a1\tb1\n"
    FMT.write_labels(TEST, task, tmp_path / "gold.tsv")
    assert (tmp_path / "gold.tsv").read_text() == "a1\tb1\na2\tb2\n"


def test_a_threshold_set_in_the_task_is_kept():
    task = make_task(threshold=1.0)
    assert FMT.prepare(task, DEV, lambda t, e: pytest.fail("dev should not be predicted")) is task
    assert FMT.score(TEST, TEST_PRED, task, "de")["f1"] == pytest.approx(100.0)


def test_no_gold_fails_clearly():
    no_gold = sentences({"a1": "p"}, {"b1": "P"})
    with pytest.raises(XstiltsError, match="no gold pairs(?s:.*)training-gold"):
        FMT.score(no_gold, {"a1": ("b1", 1.0)}, make_task(), "de")
    with pytest.raises(XstiltsError, match="gold pairs on the dev split"):
        FMT.choose_threshold(no_gold, {"a1": ("b1", 1.0)})


def test_unknown_side_fails(tiny_tokenizer):
    with pytest.raises(XstiltsError, match="side"):
        FMT.featurize([{"id": "1", "side": "left", "text": "a"}], tiny_tokenizer, make_task(), 32)


def write_bucc(folder, lang, split, sources, targets, gold):
    stem = folder / f"{lang}-en.{split}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem.name}.{lang}").write_text("".join(f"{i}\t{t}\n" for i, t in sources))
    (folder / f"{stem.name}.en").write_text("".join(f"{i}\t{t}\n" for i, t in targets))
    (folder / f"{stem.name}.gold").write_text("".join(f"{s}\t{t}\n" for s, t in gold))
    return folder / f"{stem.name}.{lang}"


def test_bucc_reader(tmp_path):
    path = write_bucc(tmp_path, "de", "dev", [("de-1", "Hallo Welt"), ("de-2", "Guten Tag")],
                      [("en-1", "Good day"), ("en-2", "Hello world"), ("en-3", "Noise")],
                      [("de-1", "en-2")])
    examples = read_examples("bucc", path)
    assert examples == [
        {"id": "de-1", "side": "source", "text": "Hallo Welt", "gold": ["en-2"]},
        {"id": "de-2", "side": "source", "text": "Guten Tag", "gold": []},
        {"id": "en-1", "side": "target", "text": "Good day"},
        {"id": "en-2", "side": "target", "text": "Hello world"},
        {"id": "en-3", "side": "target", "text": "Noise"},
    ]


WORDS = ("red blue green car house door ball tree river city cat dog table lamp sun moon "
         "book road ship bird").split()


def corpus(lang: str, split: str, n_pairs: int, n_noise: int, seed: int):
    """Sentences whose translation is the same text (so any encoder embeds a pair identically),
    plus unpaired noise on both sides."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=6)) + f" {split} {i}"
             for i in range(n_pairs + 2 * n_noise)]
    pairs, src_noise, tgt_noise = (texts[:n_pairs], texts[n_pairs:n_pairs + n_noise],
                                   texts[n_pairs + n_noise:])
    sources = [(f"{lang}-{split}-{i}", t) for i, t in enumerate(pairs + src_noise)]
    targets = [(f"en-{split}-{i}", t) for i, t in enumerate(tgt_noise + pairs)]
    gold = [(f"{lang}-{split}-{i}", f"en-{split}-{n_noise + i}") for i in range(n_pairs)]
    return sources, targets, gold


def test_end_to_end_run_chooses_thresholds_on_dev(tmp_path):
    for lang, seed in (("de", 1), ("fr", 2)):
        for split, s in (("dev", seed), ("test", seed + 10)):
            write_bucc(tmp_path / "bucc", lang, split, *corpus(lang, split, 8, 6, s))
    config = tmp_path / "c.yaml"
    config.write_text("""
seed: 0
encoder: {name: tiny-random}
targets:
  tasks: [mini_bucc]
tasks:
  mini_bucc:
    format: bitext_mining
    languages: [de, fr]
    reader: bucc
    paths: {dev: "bucc/{lang}-en.dev.{lang}", test: "bucc/{lang}-en.test.{lang}"}
""")
    results = run_config(load_config(config), tmp_path / "out")
    target = results["targets"]["mini_bucc"]
    assert set(target["tuned_on_dev"]) == {"de", "fr"}
    for lang in ("de", "fr"):
        threshold = target["tuned_on_dev"][lang]["threshold"]
        assert threshold > 0
        # Identical texts embed identically, so every gold pair is found on test.
        assert target["languages"][lang]["recall"] == pytest.approx(100.0)
        lines = (tmp_path / "out" / "predictions" / "mini_bucc" / f"test-{lang}.tsv"
                 ).read_text().splitlines()
        assert lines and all(len(line.split("\t")) == 2 for line in lines)
        _, _, gold = corpus(lang, "test", 8, 6, {"de": 11, "fr": 12}[lang])
        assert {tuple(line.split("\t")) for line in lines} >= set(gold)


def test_test_limit_keeps_sources_with_their_gold_targets_and_distractors():
    examples = sentences({"s1": "a", "s2": "b", "s3": "c"},
                         {"t1": "x", "t2": "y", "t3": "z", "t4": "w"},
                         gold={"s1": ["t3"], "s2": ["t4"], "s3": ["t1"]})
    kept = FMT.limit(examples, 2, make_task())
    # s1 and s2, their gold t3 and t4, and no room left for distractors (2 targets in all).
    assert [ex["id"] for ex in kept] == ["s1", "s2", "t3", "t4"]
    kept = FMT.limit(examples, 1, make_task())
    assert [ex["id"] for ex in kept] == ["s1", "t3"]
    kept = FMT.limit(sentences({"s1": "a"}, {"t1": "x", "t2": "y", "t3": "z"},
                               gold={"s1": ["t3"]}), 2, make_task())
    assert [ex["id"] for ex in kept] == ["s1", "t1", "t3"]  # t3 gold + first distractor t1


def test_test_limit_in_a_run_still_finds_the_pairs(tmp_path):
    # Targets list the noise first: cutting the example list used to keep no target at all.
    for split, s in (("dev", 1), ("test", 11)):
        write_bucc(tmp_path / "bucc", "de", split, *corpus("de", split, 8, 6, s))
    config = tmp_path / "c.yaml"
    config.write_text("""
encoder: {name: tiny-random}
targets:
  tasks: [mini_bucc]
  test_limit: 5
tasks:
  mini_bucc:
    format: bitext_mining
    languages: [de]
    reader: bucc
    paths: {dev: "bucc/{lang}-en.dev.{lang}", test: "bucc/{lang}-en.test.{lang}"}
""")
    target = run_config(load_config(config), tmp_path / "out")["targets"]["mini_bucc"]
    assert target["languages"]["de"]["recall"] == pytest.approx(100.0)
    lines = (tmp_path / "out/labels/mini_bucc/test-de.tsv").read_text().splitlines()
    assert len(lines) == 5  # the gold pairs of the first 5 sources
