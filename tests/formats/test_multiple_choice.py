"""Multiple-choice format: per-choice encoding, flattened collate, decode, score, export, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task, trained_batch

from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.formats.multiple_choice import MultipleChoiceFormat
from xstilts.tasks.task import Task

FMT = MultipleChoiceFormat()


def make_task(**options) -> Task:
    return bare_task("copa", "multiple_choice", ["en"], **options)


EXAMPLES = [
    {"id": "a", "prompt": "Where is the tower?", "choices": ["Paris", "Москва", "北京"],
     "label": 0},
    {"id": "b", "prompt": "Кто построил этот город?", "choices": ["the dog", "the cat"],
     "label": 1},
    {"id": "c", "prompt": "谁建造了故宫？", "choices": ["皇帝", "الأهرامات", "the river", "A"],
     "label": 3},
]


def test_registered():
    assert isinstance(get_format("multiple_choice"), MultipleChoiceFormat)


def test_featurize_one_row_per_choice(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    assert [len(f["choice_ids"]) for f in feats] == [3, 2, 4]
    assert [f["label"] for f in feats] == [0, 1, 3]
    assert [f["example_index"] for f in feats] == [0, 1, 2]
    for ex, f in zip(EXAMPLES, feats, strict=True):
        for choice, ids in zip(ex["choices"], f["choice_ids"], strict=True):
            assert ids == tiny_tokenizer(ex["prompt"], choice)["input_ids"]


def test_featurize_truncates_the_prompt_only(tiny_tokenizer):
    ex = [{"id": "x", "prompt": "The cat sat on the warm mat " * 10, "choices": ["yes", "no"]}]
    feats = FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)
    for choice, ids in zip(["yes", "no"], feats[0]["choice_ids"], strict=True):
        assert len(ids) == 16
        tail = tiny_tokenizer(choice, add_special_tokens=False)["input_ids"]
        assert ids[-len(tail) - 1: -1] == tail  # the choice survives whole, before </s>
    assert "label" not in feats[0]


def test_collate_flattens_and_masks_missing_choices(tiny_tokenizer):
    pad = tiny_tokenizer.pad_token_id
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    batch = FMT.collate(feats, pad)
    n_choices = 4  # the most choices of any example in the batch
    rows = [ids for f in feats for ids in f["choice_ids"]]
    width = max(len(r) for r in rows)
    assert batch["input_ids"].shape == (3 * n_choices, width)
    assert batch["attention_mask"].shape == (3 * n_choices, width)
    assert batch["choice_mask"].tolist() == [[True, True, True, False],
                                             [True, True, False, False],
                                             [True, True, True, True]]
    assert batch["labels"].tolist() == [0, 1, 3]
    for b, f in enumerate(feats):
        for c in range(n_choices):
            row = b * n_choices + c
            if c < len(f["choice_ids"]):
                ids = f["choice_ids"][c]
                assert batch["input_ids"][row, : len(ids)].tolist() == ids
                assert batch["attention_mask"][row].sum() == len(ids)
                assert (batch["input_ids"][row, len(ids):] == pad).all()
            else:  # a filler row: all pad, one attended position (never an all-zero mask)
                assert (batch["input_ids"][row] == pad).all()
                assert batch["attention_mask"][row].tolist() == [1] + [0] * (width - 1)


def test_collate_dynamic_width(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    batch = FMT.collate(feats[1:2], tiny_tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, max(len(r) for r in feats[1]["choice_ids"]))
    assert batch["choice_mask"].tolist() == [[True, True]]


def test_decode_argmax_round_trip(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    # Scores as predict_batch gives them: [n_choices] per example, fillers at -1e9.
    outputs = [np.array([0.1, 2.0, -1.0, -1e9]), np.array([-3.0, -2.5, -1e9, -1e9]),
               np.array([0.0, 0.0, 0.5, 4.0])]
    preds = FMT.decode(EXAMPLES, feats[::-1], outputs[::-1], make_task())
    assert preds == {"a": 1, "b": 1, "c": 3}
    # gold 0, 1, 3 → right on b and c: 2/3 = 66.67%.
    assert FMT.score(EXAMPLES, preds, make_task(), "en") == {
        "accuracy": pytest.approx(100 * 2 / 3)}


def test_score_by_hand():
    examples = [{"id": str(i), "label": g} for i, g in enumerate([0, 1, 2, 1])]
    # Predicted 0, 1, 1 and none for "3" (scored as wrong) → 2/4 = 50%.
    preds = {"0": 0, "1": 1, "2": 1}
    assert FMT.score(examples, preds, make_task(), "en") == {"accuracy": pytest.approx(50.0)}


def test_write_predictions(tmp_path):
    path = tmp_path / "test-en.tsv"
    FMT.write_predictions([{"id": "b"}, {"id": "a"}, {"id": "c"}], {"a": 0, "b": 2, "c": 1},
                          make_task(), path)
    assert path.read_text(encoding="utf-8") == "2\n0\n1\n"


def test_trivial_predictions_majority():
    train = [{"id": str(i), "label": lab} for i, lab in enumerate([1, 0, 1, 2, "1"])]
    assert FMT.trivial_predictions(train, EXAMPLES, make_task()) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("label", [3, -1])
def test_error_label_out_of_range(tiny_tokenizer, label):
    ex = [{"id": "q", "prompt": "Who?", "choices": ["a", "b", "c"], "label": label}]
    with pytest.raises(XstiltsError, match=rf"'q' has label {label} but 3 choices"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


def test_error_too_few_choices(tiny_tokenizer):
    ex = [{"id": "q", "prompt": "Who?", "choices": ["a"], "label": 0}]
    with pytest.raises(XstiltsError, match=r"'q' has 1 choice\(s\)"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


def test_error_missing_field(tiny_tokenizer):
    ex = [{"id": "q", "question": "Who?", "choices": ["a", "b"], "label": 0}]
    with pytest.raises(XstiltsError, match=r"'q' has no field\(s\) \['prompt'\]"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


def test_loss_and_predict_with_tiny_encoder(tiny_tokenizer, tiny_encoder):
    task = make_task()
    feats, batch, head = trained_batch(FMT, EXAMPLES, tiny_tokenizer, tiny_encoder, task)

    with torch.no_grad():
        outputs = FMT.predict_batch(tiny_encoder.eval(), head.eval(), batch, task)
    tiny_encoder.train()
    assert [o.shape for o in outputs] == [(4,)] * 3
    assert outputs[0][3] == -1e9 and (outputs[1][2:] == -1e9).all()  # fillers never win
    preds = FMT.decode(EXAMPLES, feats, outputs, task)
    assert 0 <= preds["a"] < 3 and 0 <= preds["b"] < 2 and 0 <= preds["c"] < 4
