"""Classification format: featurize, collate, decode, score, export, baseline and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task, trained_batch

from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.formats.classification import ClassificationFormat
from xstilts.tasks.task import Task

FMT = ClassificationFormat()
LABELS = ["entailment", "neutral", "contradiction"]


def make_task(labels=LABELS, **options) -> Task:
    return bare_task("nli", "classification", ["en"], labels, **options)


EXAMPLES = [
    {"id": "a", "text_a": "The cat sat on the mat.", "text_b": "A cat sat.",
     "label": "entailment"},
    {"id": "b", "text_a": "Москва является столицей России.", "label": "neutral"},
    {"id": "c", "text_a": "北京是中国的首都。", "text_b": "长城在哪里？", "label": "contradiction"},
    {"id": "d", "text_a": "القاهرة هي عاصمة مصر", "text_b": "نهر النيل", "label": "entailment"},
]


def one_hot(label: str) -> np.ndarray:
    out = np.zeros(len(LABELS), dtype=np.float32)
    out[LABELS.index(label)] = 1.0
    return out


def test_registered():
    assert isinstance(get_format("classification"), ClassificationFormat)
    assert FMT.main_metric == "accuracy"


def test_featurize_single_and_pair(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    assert [f["example_index"] for f in feats] == [0, 1, 2, 3]
    assert [f["label"] for f in feats] == [0, 1, 2, 0]
    single = tiny_tokenizer(EXAMPLES[1]["text_a"])["input_ids"]
    pair = tiny_tokenizer(EXAMPLES[0]["text_a"], EXAMPLES[0]["text_b"])["input_ids"]
    assert feats[1]["input_ids"] == single
    assert feats[0]["input_ids"] == pair
    sep = tiny_tokenizer.sep_token_id
    assert feats[0]["input_ids"].count(sep) == 3  # <s> A </s></s> B </s>
    assert feats[1]["input_ids"].count(sep) == 1  # <s> A </s>


def test_featurize_truncates_and_maps_non_string_labels(tiny_tokenizer):
    task = make_task(labels=["0", "1"])
    ex = [{"id": "x", "text_a": "The cat sat on the warm mat " * 10, "label": 1}]
    feats = FMT.featurize(ex, tiny_tokenizer, task, max_length=12)
    assert len(feats[0]["input_ids"]) == 12
    assert feats[0]["input_ids"][-1] == tiny_tokenizer.sep_token_id
    assert feats[0]["label"] == 1  # int 1 matches the declared label "1"


def test_unlabelled_examples_have_no_labels(tiny_tokenizer):
    ex = [{"id": "x", "text_a": "The cat sat."}, {"id": "y", "text_a": "Who?", "label": None}]
    feats = FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=32)
    assert all("label" not in f for f in feats)
    assert "labels" not in FMT.collate(feats, tiny_tokenizer.pad_token_id)


def test_collate_dynamic_padding(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    pad = tiny_tokenizer.pad_token_id
    batch = FMT.collate(feats, pad)
    lengths = [len(f["input_ids"]) for f in feats]
    assert batch["input_ids"].shape == (4, max(lengths))
    assert batch["attention_mask"].sum(1).tolist() == lengths
    for row, f in enumerate(feats):
        n = len(f["input_ids"])
        assert batch["input_ids"][row, :n].tolist() == f["input_ids"]
        assert (batch["input_ids"][row, n:] == pad).all()
        assert batch["attention_mask"][row, :n].all() and not batch["attention_mask"][row, n:].any()
    assert batch["labels"].tolist() == [0, 1, 2, 0]
    # A smaller batch is only as wide as its own longest row.
    assert FMT.collate(feats[1:2], pad)["input_ids"].shape == (1, lengths[1])


def test_collate_mask_comes_from_lengths_not_pad_ids():
    # Id 1 is the pad id but also occurs as a real token: the mask must still cover it.
    batch = FMT.collate([{"input_ids": [0, 1, 1, 2], "label": 0},
                         {"input_ids": [0, 2], "label": 1}], pad_id=1)
    assert batch["input_ids"].tolist() == [[0, 1, 1, 2], [0, 2, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_decode_round_trip(tiny_tokenizer):
    task = make_task()
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, task, max_length=64)
    # Features in any order: decode follows example_index, not position.
    feats = feats[::-1]
    outputs = [one_hot(LABELS[f["label"]]) for f in feats]
    preds = FMT.decode(EXAMPLES, feats, outputs, task)
    assert preds == {ex["id"]: ex["label"] for ex in EXAMPLES}
    assert FMT.score(EXAMPLES, preds, task, "en") == {"accuracy": 100.0, "macro_f1": 100.0}


def test_score_by_hand():
    labels = ["entailment", "neutral", "contradiction", "entailment", "neutral"]
    examples = [{"id": str(i), "text_a": "x", "label": lab} for i, lab in enumerate(labels)]
    preds = {"0": "entailment", "1": "contradiction", "2": "contradiction", "3": "neutral",
             "4": "neutral"}
    scores = FMT.score(examples, preds, make_task(), "en")
    # accuracy: right at 0, 2, 4 → 3/5 = 60%.
    # F1 per label = 2·tp / (n_gold + n_pred):
    #   entailment    gold 2, pred 1, tp 1 → 2/3
    #   neutral       gold 2, pred 2, tp 1 → 1/2
    #   contradiction gold 1, pred 2, tp 1 → 2/3
    # macro = (2/3 + 1/2 + 2/3) / 3 = 11/18 = 61.11%.
    assert scores["accuracy"] == pytest.approx(60.0)
    assert scores["macro_f1"] == pytest.approx(100 * 11 / 18)


def test_score_missing_prediction_counts_wrong():
    examples = [{"id": "a", "text_a": "x", "label": "neutral"},
                {"id": "b", "text_a": "y", "label": "neutral"}]
    scores = FMT.score(examples, {"a": "neutral"}, make_task(), "en")
    assert scores["accuracy"] == pytest.approx(50.0)  # 1 of 2


def test_write_predictions(tmp_path):
    path = tmp_path / "out" / "test-en.tsv"
    preds = {"b": "neutral", "a": "entailment", "c": "contradiction"}
    examples = [{"id": "c"}, {"id": "a"}, {"id": "b"}]
    FMT.write_predictions(examples, preds, make_task(), path)
    assert path.read_text(encoding="utf-8") == "contradiction\nentailment\nneutral\n"


def test_trivial_predictions_majority():
    train = [{"id": str(i), "text_a": "x", "label": lab}
             for i, lab in enumerate(["neutral", "entailment", "neutral", "contradiction"])]
    preds = FMT.trivial_predictions(train, EXAMPLES, make_task())
    assert preds == {ex["id"]: "neutral" for ex in EXAMPLES}


def test_error_unknown_label(tiny_tokenizer):
    ex = [{"id": "q7", "text_a": "x", "label": "maybe"}]
    with pytest.raises(XstiltsError, match=r"'q7' has label 'maybe', not in the task's labels"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


@pytest.mark.parametrize("example", [{"id": "q1", "text": "x", "label": "neutral"},
                                     {"id": "q1", "text_a": None, "label": "neutral"}])
def test_error_missing_text_a(tiny_tokenizer, example):
    with pytest.raises(XstiltsError, match=r"'q1' has no field\(s\) \['text_a'\]"):
        FMT.featurize([example], tiny_tokenizer, make_task(), max_length=16)


@pytest.mark.parametrize("labels", [None, []])
def test_error_task_without_labels(tiny_tokenizer, labels):
    task = make_task(labels=labels)
    with pytest.raises(XstiltsError, match="has no label list"):
        FMT.featurize(EXAMPLES[:1], tiny_tokenizer, task, max_length=16)
    with pytest.raises(XstiltsError, match="has no label list"):
        FMT.build_head(32, task)
    with pytest.raises(XstiltsError, match="has no label list"):
        FMT.decode(EXAMPLES[:1], [{"example_index": 0}], [np.zeros(3)], task)


def test_error_unknown_pooling():
    with pytest.raises(XstiltsError, match="unknown pooling 'max'"):
        FMT.build_head(32, make_task(pooling="max"))


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_loss_and_predict_with_tiny_encoder(tiny_tokenizer, tiny_encoder, pooling):
    task = make_task(pooling=pooling)
    feats, batch, head = trained_batch(FMT, EXAMPLES, tiny_tokenizer, tiny_encoder, task)

    with torch.no_grad():
        outputs = FMT.predict_batch(tiny_encoder.eval(), head.eval(), batch, task)
    tiny_encoder.train()
    assert len(outputs) == 4 and all(o.shape == (3,) for o in outputs)
    preds = FMT.decode(EXAMPLES, feats, outputs, task)
    assert set(preds) == {"a", "b", "c", "d"} and set(preds.values()) <= set(LABELS)
