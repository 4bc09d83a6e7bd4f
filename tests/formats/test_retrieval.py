"""Retrieval format: both sides featurized, embeddings → nearest neighbours, score, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task

from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.formats.retrieval import RetrievalFormat
from xstilts.tasks.task import Task

FMT = RetrievalFormat()


def make_task(**options) -> Task:
    return bare_task("tatoeba", "retrieval", ["ru"], **options)


EXAMPLES = [
    {"id": "0", "source": "Москва является столицей России.", "target": "The tower is in Paris."},
    {"id": "1", "source": "北京是中国的首都。", "target": "A small cat sat on the mat."},
    {"id": "2", "source": "القاهرة هي عاصمة مصر", "target": "Who built the tower?"},
    {"id": "3", "source": "Где находится Кремль?", "target": "The river flows through the city."},
]

# Hand-made unit vectors. cos(src_i, tgt_j) = src @ tgt.T:
#   src0 = e1          → [1, 0, 0, .8]                     → nearest 0 (gold 0, right)
#   src1 = e2          → [0, 0, 1, .6]                     → nearest 2 (gold 1, wrong)
#   src2 = e3          → [0, 1, 0, 0]                      → nearest 1 (gold 2, wrong)
#   src3 = (.6, .8, 0) → [.6, 0, .8, .6·.8 + .8·.6 = .96]  → nearest 3 (gold 3, right)
SRC = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]], dtype=np.float32)
TGT = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [0.8, 0.6, 0]], dtype=np.float32)


def hand_outputs(features):
    return [(SRC if f["side"] == "source" else TGT)[f["example_index"]] for f in features]


def test_registered_and_not_trainable():
    assert isinstance(get_format("retrieval"), RetrievalFormat)
    assert FMT.trainable is False
    with pytest.raises(NotImplementedError):
        FMT.build_head(32, make_task())


def test_featurize_both_sides(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    assert len(feats) == 2 * len(EXAMPLES)
    assert [(f["side"], f["example_index"]) for f in feats] == (
        [("source", i) for i in range(4)] + [("target", i) for i in range(4)])
    for f in feats:
        text = EXAMPLES[f["example_index"]][f["side"]]
        assert f["input_ids"] == tiny_tokenizer(text)["input_ids"]


def test_featurize_prefix_and_truncation(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(prefix="query: "), max_length=64)
    assert feats[0]["input_ids"] == tiny_tokenizer("query: " + EXAMPLES[0]["source"])["input_ids"]
    short = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=6)
    assert all(len(f["input_ids"]) <= 6 for f in short)
    assert all(f["input_ids"][-1] == tiny_tokenizer.sep_token_id for f in short)


def test_collate_dynamic_padding(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    pad = tiny_tokenizer.pad_token_id
    batch = FMT.collate(feats, pad)
    lengths = [len(f["input_ids"]) for f in feats]
    assert set(batch) == {"input_ids", "attention_mask"}
    assert batch["input_ids"].shape == (len(feats), max(lengths))
    assert batch["attention_mask"].sum(1).tolist() == lengths
    for row, n in enumerate(lengths):
        assert (batch["input_ids"][row, n:] == pad).all()
    assert FMT.collate(feats[:2], pad)["input_ids"].shape[1] == max(lengths[:2])


def test_decode_nearest_neighbours_and_score(tiny_tokenizer):
    task = make_task()
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, task, max_length=64)
    src, tgt = FMT.embeddings(EXAMPLES, feats, hand_outputs(feats))
    np.testing.assert_array_equal(src, SRC)
    np.testing.assert_array_equal(tgt, TGT)
    # Shuffled feature order: embeddings go by side and example_index, not by position.
    order = [5, 0, 7, 2, 1, 6, 3, 4]
    shuffled = [feats[i] for i in order]
    preds = FMT.decode(EXAMPLES, shuffled, hand_outputs(shuffled), task)
    assert preds == {"0": 0, "1": 2, "2": 1, "3": 3}
    # Gold of source i is target i: right for 0 and 3 → 2/4 = 50%.
    assert FMT.score(EXAMPLES, preds, task, "ru") == {"accuracy": pytest.approx(50.0)}


def test_write_predictions(tmp_path):
    path = tmp_path / "test-ru.tsv"
    FMT.write_predictions(EXAMPLES, {"0": 0, "1": 2, "2": 1, "3": 3}, make_task(), path)
    assert path.read_text(encoding="utf-8") == "0\n2\n1\n3\n"


def test_trivial_predictions():
    preds = FMT.trivial_predictions([], EXAMPLES, make_task())
    assert preds == {"0": 0, "1": 0, "2": 0, "3": 0}
    # Everyone picks target 0: only source 0 is right → 1/4 = 25%.
    assert FMT.score(EXAMPLES, preds, make_task(), "ru")["accuracy"] == pytest.approx(25.0)


@pytest.mark.parametrize("missing", ["source", "target"])
def test_error_missing_field(tiny_tokenizer, missing):
    ex = [{k: v for k, v in {**EXAMPLES[0], "id": "p3"}.items() if k != missing}]
    with pytest.raises(XstiltsError, match=rf"'p3' has no field\(s\) \['{missing}'\]"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


@pytest.mark.parametrize("layer", [0, -1])
def test_predict_batch_with_tiny_encoder(tiny_tokenizer, tiny_encoder, layer):
    task = make_task(layer=layer)
    same = [{"id": ex["id"], "source": ex["source"], "target": ex["source"]} for ex in EXAMPLES]
    feats = FMT.featurize(same, tiny_tokenizer, task, max_length=32)
    batch = FMT.collate(feats, tiny_tokenizer.pad_token_id)
    tiny_encoder.eval()
    with torch.no_grad():
        outputs = FMT.predict_batch(tiny_encoder, None, batch, task)
        # Padding must not change a sentence's vector: encode the shortest one alone.
        shortest = min(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))
        alone = FMT.predict_batch(tiny_encoder, None,
                                  FMT.collate([feats[shortest]], tiny_tokenizer.pad_token_id),
                                  task)
    tiny_encoder.train()
    assert len(outputs) == len(feats)
    hidden = tiny_encoder.config.hidden_size
    for vec in outputs:
        assert vec.shape == (hidden,)
        assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(alone[0], outputs[shortest], atol=1e-5)
    # Each source is its own target: identical inputs, identical vectors, 100%.
    preds = FMT.decode(same, feats, outputs, task)
    assert preds == {"0": 0, "1": 1, "2": 2, "3": 3}
    assert FMT.score(same, preds, task, "ru") == {"accuracy": 100.0}


# Direction matters when neighbourhoods are not symmetric. Unit vectors in 2-D:
#   sources s0 = (1, 0), s1 = (.6, .8), s2 = (0, 1)
#   targets t0 = (.96, .28), t1 = (.8, .6), t2 = (.6, .8)
# English (target) queries, XTREME's direction:
#   t0 · s = [.96, .80, .28] → 0;  t1 · s = [.80, .96, .60] → 1;  t2 · s = [.60, 1.0, .80] → 1
# Source queries: s0 · t = [.96, .80, .60] → 0;  s1 · t = [.80, .96, 1.0] → 2;
#   s2 · t = [.28, .60, .80] → 2
ASYM_SRC = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
ASYM_TGT = np.array([[0.96, 0.28], [0.8, 0.6], [0.6, 0.8]], dtype=np.float32)
ASYM_EXAMPLES = [{"id": str(i), "source": f"xx {i}", "target": f"en {i}"} for i in range(3)]


def asym_outputs(features):
    return [(ASYM_SRC if f["side"] == "source" else ASYM_TGT)[f["example_index"]]
            for f in features]


def test_english_sentences_query_the_other_language_by_default(tiny_tokenizer, tmp_path):
    task = make_task()
    feats = FMT.featurize(ASYM_EXAMPLES, tiny_tokenizer, task, max_length=16)
    preds = FMT.decode(ASYM_EXAMPLES, feats, asym_outputs(feats), task)
    # One prediction per English sentence: the index of the retrieved non-English sentence.
    assert preds == {"0": 0, "1": 1, "2": 1}
    assert FMT.score(ASYM_EXAMPLES, preds, task, "ru")["accuracy"] == pytest.approx(200 / 3)
    path = tmp_path / "test-ru.tsv"
    FMT.write_predictions(ASYM_EXAMPLES, preds, task, path)
    assert path.read_text() == "0\n1\n1\n"


def test_query_side_source_keeps_the_other_direction(tiny_tokenizer):
    task = make_task(query_side="source")
    feats = FMT.featurize(ASYM_EXAMPLES, tiny_tokenizer, task, max_length=16)
    assert FMT.decode(ASYM_EXAMPLES, feats, asym_outputs(feats), task) == {
        "0": 0, "1": 2, "2": 2}


def test_unknown_query_side_is_a_clear_error(tiny_tokenizer):
    task = make_task(query_side="english")
    feats = FMT.featurize(ASYM_EXAMPLES, tiny_tokenizer, task, max_length=16)
    with pytest.raises(XstiltsError, match="query_side 'english'"):
        FMT.decode(ASYM_EXAMPLES, feats, asym_outputs(feats), task)
