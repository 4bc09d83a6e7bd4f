"""Tagging format: word→sub-token labels, label positions, truncation, decode, score, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tests.fixtures import bare_task, trained_batch

from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.formats.base import token_logits
from xstilts.formats.tagging import IGNORE, TaggingFormat, default_tag, labelled_positions
from xstilts.tasks.task import Task

FMT = TaggingFormat()
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def make_task(labels=TAGS, **options) -> Task:
    return bare_task("ner", "tagging", ["en"], labels, **options)


EXAMPLES = [
    {"id": "en", "tokens": ["Gustave", "Eiffel", "built", "the", "tower", "in", "Paris", "."],
     "tags": ["B-PER", "I-PER", "O", "O", "O", "O", "B-LOC", "O"]},
    {"id": "ru", "tokens": ["Москва", "является", "столицей", "России"],
     "tags": ["B-LOC", "O", "O", "B-LOC"]},
    {"id": "zh", "tokens": ["北京", "是", "中国", "的", "首都", "。"],
     "tags": ["B-LOC", "O", "B-LOC", "O", "O", "O"]},
    {"id": "ar", "tokens": ["القاهرة", "هي", "عاصمة", "مصر"],
     "tags": ["B-LOC", "O", "O", "B-LOC"]},
    # An empty word has no sub-token at all; it must still get a tag.
    {"id": "empty", "tokens": ["a", "", "cat"], "tags": ["O", "O", "B-ORG"]},
]


def decode_gold(features, batch):
    """Round trip: argmax = gold tag at labelled positions, a wrong tag ("I-ORG") elsewhere."""
    wrong = TAGS.index("I-ORG")
    labels = batch["labels"]
    return [np.where(labels[row] == IGNORE, wrong, labels[row]) for row in range(len(features))]


def test_registered():
    assert isinstance(get_format("tagging"), TaggingFormat)
    assert FMT.main_metric == "f1"


@pytest.mark.parametrize("how", ["first", "first_nonempty"])
def test_labels_only_on_the_chosen_sub_token(tiny_tokenizer, how):
    task = make_task(label_position=how)
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, task, max_length=64)
    for ex, f in zip(EXAMPLES, feats, strict=True):
        enc = tiny_tokenizer(ex["tokens"], is_split_into_words=True)
        word_ids = enc.word_ids()
        tokens = tiny_tokenizer.convert_ids_to_tokens(enc["input_ids"])
        assert f["input_ids"] == enc["input_ids"]
        assert len(f["labels"]) == len(f["input_ids"])
        kept = {w for w in word_ids if w is not None}
        assert set(f["word_positions"]) == kept
        labelled = {p for p, lab in enumerate(f["labels"]) if lab != IGNORE}
        assert labelled == set(f["word_positions"].values())  # one position per word
        assert len(labelled) == len(kept)
        for w, pos in f["word_positions"].items():
            pieces = [p for p, wid in enumerate(word_ids) if wid == w]
            nonempty = [p for p in pieces if tokens[p] != "▁"]
            expected = pieces[0] if how == "first" or not nonempty else nonempty[0]
            assert pos == expected
            assert f["labels"][pos] == TAGS.index(ex["tags"][w])
    # The empty word has no sub-token, so no label anywhere.
    assert 1 not in feats[-1]["word_positions"]


def test_first_vs_first_nonempty_on_a_bare_metaspace_piece(tiny_tokenizer):
    ex = [{"id": "zh", "tokens": ["北京", "是"], "tags": ["B-LOC", "O"]}]
    enc = tiny_tokenizer(ex[0]["tokens"], is_split_into_words=True)
    tokens = tiny_tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[:4] == ["<s>", "▁", "北", "京"]  # the case this option exists for

    first = FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=32)[0]  # default "first"
    assert first["word_positions"][0] == 1  # the bare "▁"
    assert first["labels"][1:4] == [TAGS.index("B-LOC"), IGNORE, IGNORE]

    nonempty = FMT.featurize(ex, tiny_tokenizer, make_task(label_position="first_nonempty"),
                             max_length=32)[0]
    assert nonempty["word_positions"][0] == 2  # "北"
    assert nonempty["labels"][1:4] == [IGNORE, TAGS.index("B-LOC"), IGNORE]
    assert tokens[nonempty["word_positions"][1]] == "是"
    assert tokens[first["word_positions"][1]] == "▁"


def test_labelled_positions_directly():
    word_ids = [None, 0, 0, 1, 2, 2, None]
    tokens = ["<s>", "▁", "x", "▁", "▁y", "z", "</s>"]
    assert labelled_positions(word_ids, tokens, "first") == {0: 1, 1: 3, 2: 4}
    # Word 1 is only a bare "▁": nothing better, so it keeps its first piece.
    assert labelled_positions(word_ids, tokens, "first_nonempty") == {0: 2, 1: 3, 2: 4}
    with pytest.raises(XstiltsError, match="unknown label_position 'last'"):
        labelled_positions(word_ids, tokens, "last")


def test_unknown_label_position_in_task(tiny_tokenizer):
    with pytest.raises(XstiltsError, match="unknown label_position 'middle'"):
        FMT.featurize(EXAMPLES[:1], tiny_tokenizer, make_task(label_position="middle"), 32)


@pytest.mark.parametrize("how", ["first", "first_nonempty"])
def test_decode_round_trip_one_tag_per_word(tiny_tokenizer, how):
    task = make_task(label_position=how)
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, task, max_length=64)
    batch = FMT.collate(feats, tiny_tokenizer.pad_token_id)
    outputs = decode_gold(feats, batch)
    preds = FMT.decode(EXAMPLES, feats[::-1], outputs[::-1], task)  # order-independent
    for ex in EXAMPLES:
        assert len(preds[ex["id"]]) == len(ex["tokens"])
    assert preds == {ex["id"]: ex["tags"] for ex in EXAMPLES}
    scores = FMT.score(EXAMPLES, preds, task, "en")
    assert scores == {"f1": 100.0, "precision": 100.0, "recall": 100.0, "accuracy": 100.0}


def test_truncated_words_get_the_default_tag(tiny_tokenizer):
    task = make_task()
    ex = [EXAMPLES[1], {**EXAMPLES[0], "id": "en2"}]
    feats = FMT.featurize(ex, tiny_tokenizer, task, max_length=12)
    full = tiny_tokenizer(ex[0]["tokens"], is_split_into_words=True)["input_ids"]
    assert len(full) > 12 and len(feats[0]["input_ids"]) == 12
    kept = sorted(feats[0]["word_positions"])
    assert kept and len(kept) < len(ex[0]["tokens"])
    assert kept == list(range(len(kept)))  # truncation drops a tail of words
    batch = FMT.collate(feats, tiny_tokenizer.pad_token_id)
    preds = FMT.decode(ex, feats, decode_gold(feats, batch), task)
    ru = preds["ru"]
    assert len(ru) == len(ex[0]["tokens"])  # still one tag per word
    assert ru[: len(kept)] == ex[0]["tags"][: len(kept)]
    assert ru[len(kept):] == ["O"] * (len(ru) - len(kept))
    assert ex[0]["tags"][-1] == "B-LOC" and ru[-1] == "O"  # gold was not "O": the fallback
    assert len(preds["en2"]) == len(ex[1]["tokens"])


def test_default_tag():
    assert default_tag(TAGS) == "O"
    assert default_tag(["NOUN", "VERB", "ADJ"]) == "NOUN"


def test_truncated_words_without_o_get_the_first_tag(tiny_tokenizer):
    task = make_task(labels=["NOUN", "VERB", "PROPN"])
    ex = [{"id": "x", "tokens": ["Москва", "является", "столицей"],
           "tags": ["PROPN", "VERB", "NOUN"]}]
    feats = FMT.featurize(ex, tiny_tokenizer, task, max_length=5)
    assert sorted(feats[0]["word_positions"]) == [0, 1]
    outputs = [np.full(5, 2)]  # every position predicts "PROPN"
    assert FMT.decode(ex, feats, outputs, task) == {"x": ["PROPN", "PROPN", "NOUN"]}


def test_collate_pads_labels_with_ignore(tiny_tokenizer):
    feats = FMT.featurize(EXAMPLES, tiny_tokenizer, make_task(), max_length=64)
    pad = tiny_tokenizer.pad_token_id
    batch = FMT.collate(feats, pad)
    lengths = [len(f["input_ids"]) for f in feats]
    width = max(lengths)
    assert batch["input_ids"].shape == batch["labels"].shape == (len(feats), width)
    assert batch["attention_mask"].sum(1).tolist() == lengths
    for row, f in enumerate(feats):
        n = len(f["input_ids"])
        assert batch["labels"][row, :n].tolist() == f["labels"]
        assert (batch["labels"][row, n:] == IGNORE).all()
        assert (batch["input_ids"][row, n:] == pad).all()
    assert FMT.collate(feats[3:], pad)["input_ids"].shape[1] == max(lengths[3:])


def test_unlabelled_examples(tiny_tokenizer):
    ex = [{"id": "x", "tokens": ["the", "cat"]}]
    feats = FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)
    assert "labels" not in feats[0] and sorted(feats[0]["word_positions"]) == [0, 1]
    assert "labels" not in FMT.collate(feats, tiny_tokenizer.pad_token_id)


def test_score_by_hand():
    examples = [{"id": "1", "tokens": list("abcd"), "tags": ["B-PER", "I-PER", "O", "B-LOC"]},
                {"id": "2", "tokens": list("xyz"), "tags": ["O", "B-ORG", "I-ORG"]}]
    preds = {"1": ["B-PER", "I-PER", "O", "O"], "2": ["O", "B-ORG", "O"]}
    scores = FMT.score(examples, preds, make_task(), "en")
    # gold chunks: PER(1:0-1), LOC(1:3), ORG(2:1-2) → 3; predicted: PER(1:0-1), ORG(2:1) → 2;
    # exact matches: PER only → 1.  P = 1/2, R = 1/3, F1 = 2·(1/2)(1/3)/(1/2+1/3) = 2/5.
    # token accuracy: wrong at 1:3 and 2:2 → 5/7.
    assert scores["precision"] == pytest.approx(50.0)
    assert scores["recall"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(40.0)
    assert scores["accuracy"] == pytest.approx(100 * 5 / 7)


def test_write_predictions_layout(tmp_path):
    path = tmp_path / "test-en.tsv"
    examples = [{"id": "2"}, {"id": "1"}, {"id": "3"}]
    preds = {"1": ["B-PER", "I-PER"], "2": ["O"], "3": ["B-LOC", "O", "O"]}
    FMT.write_predictions(examples, preds, make_task(), path)
    assert path.read_text(encoding="utf-8") == "O\n\nB-PER\nI-PER\n\nB-LOC\nO\nO\n\n"


def test_trivial_predictions_most_frequent_tag_per_word():
    train = [{"id": "t1", "tokens": ["the", "Paris", "cat"], "tags": ["O", "B-LOC", "O"]},
             {"id": "t2", "tokens": ["Paris", "the"], "tags": ["B-LOC", "O"]},
             {"id": "t3", "tokens": ["Paris", "Hilton"], "tags": ["B-PER", "I-PER"]}]
    examples = [{"id": "e", "tokens": ["Paris", "Hilton", "the", "unseen"]}]
    # Paris: B-LOC ×2, B-PER ×1 → B-LOC; Hilton → I-PER; the → O; unseen → "O" (default).
    preds = FMT.trivial_predictions(train, examples, make_task())
    assert preds == {"e": ["B-LOC", "I-PER", "O", "O"]}
    upos = FMT.trivial_predictions(train[:1], examples, make_task(labels=["NOUN", "O2"]))
    assert upos["e"][-1] == "NOUN"  # no "O" in the tag set: the first tag


def test_error_tags_tokens_length_mismatch(tiny_tokenizer):
    ex = [{"id": "s9", "tokens": ["the", "cat", "sat"], "tags": ["O", "O"]}]
    with pytest.raises(XstiltsError, match=r"'s9' has 3 tokens but 2 tags"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


def test_error_unknown_tag(tiny_tokenizer):
    ex = [{"id": "s9", "tokens": ["the", "cat"], "tags": ["O", "B-ANIMAL"]}]
    with pytest.raises(XstiltsError, match=r"'s9' has tag 'B-ANIMAL', not in the task's labels"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


def test_error_missing_tokens(tiny_tokenizer):
    ex = [{"id": "s9", "words": ["the"], "tags": ["O"]}]
    with pytest.raises(XstiltsError, match=r"'s9' has no field\(s\) \['tokens'\]"):
        FMT.featurize(ex, tiny_tokenizer, make_task(), max_length=16)


@pytest.mark.parametrize("labels", [None, []])
def test_error_task_without_labels(tiny_tokenizer, labels):
    task = make_task(labels=labels)
    with pytest.raises(XstiltsError, match="has no tag list"):
        FMT.featurize(EXAMPLES[:1], tiny_tokenizer, task, max_length=16)
    with pytest.raises(XstiltsError, match="has no tag list"):
        FMT.build_head(32, task)


def test_loss_and_predict_with_tiny_encoder(tiny_tokenizer, tiny_encoder):
    task = make_task(label_position="first_nonempty")
    feats, batch, head = trained_batch(FMT, EXAMPLES, tiny_tokenizer, tiny_encoder, task)

    tiny_encoder.eval()
    head.eval()
    with torch.no_grad():
        # Eval mode is deterministic: the loss averages over labelled positions only.
        logits = token_logits(tiny_encoder, head, batch)
        keep = batch["labels"] != IGNORE
        expected = F.cross_entropy(logits[keep], batch["labels"][keep])
        assert FMT.loss(tiny_encoder, head, batch).item() == pytest.approx(expected.item())
        outputs = FMT.predict_batch(tiny_encoder, head, batch, task)
    tiny_encoder.train()
    width = batch["input_ids"].shape[1]
    assert len(outputs) == len(feats) and all(o.shape == (width,) for o in outputs)
    preds = FMT.decode(EXAMPLES, feats, outputs, task)
    for ex in EXAMPLES:
        assert len(preds[ex["id"]]) == len(ex["tokens"])
        assert set(preds[ex["id"]]) <= set(TAGS)
