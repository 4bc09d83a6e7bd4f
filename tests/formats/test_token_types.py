"""Segment ids: with a tokenizer that types a pair's segments (BERT's, mBERT's), the pair
formats (classification with text_b, span QA, multiple choice) carry the token_type_ids Hugging
Face's tokenizer returns for the same pair, and the encoder gets them in training and
evaluation; an XLM-R-shaped run carries none and its features are unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task

from xstilts.evaluate.predict import raw_outputs
from xstilts.features.cache import FeatureCache
from xstilts.formats import base, get_format
from xstilts.formats.tokenize import pair_types
from xstilts.models import unpadded

CONTEXT = ("The Eiffel Tower is in Paris, the capital of France. It was built by the company "
           "of Gustave Eiffel in 1889. Many people visit the city every year to see it.")
QUESTION = "Who built the tower?"
NLI = [
    {"id": "nli", "text_a": "The tower is in Paris.", "text_b": "The tower is in France.",
     "label": "entailment"},
    {"id": "paws", "text_a": "Who built the tower in 1889?",
     "text_b": "It was built by the company of Gustave Eiffel in 1889.", "label": "neutral"},
    {"id": "single", "text_a": "The river Seine flows through the city.",
     "label": "contradiction"},
]
CHOICES = [
    {"id": "a", "prompt": "Where is the tower?", "choices": ["in Paris", "in Москва", "北京"],
     "label": 0},
    {"id": "b", "prompt": "Who built the tower?", "choices": ["Gustave Eiffel", "the cat"],
     "label": 0},
]


def nli_task():
    return bare_task("xnli", "classification", labels=["entailment", "neutral", "contradiction"])


def qa_task(**options):
    return bare_task("xquad", "span_qa", **{"doc_stride": 4, **options})


def mc_task():
    return bare_task("copa", "multiple_choice")


def qa_examples():
    return [{"id": "q", "question": QUESTION, "context": CONTEXT,
             "answers": {"text": ["Gustave Eiffel"], "answer_start": [CONTEXT.index("Gustave")]}}]


def segments(ids: list[int], sep: int) -> list[int]:
    """BERT's types written out: 0 up to the first [SEP] included, then 1."""
    first = ids.index(sep)
    return [0] * (first + 1) + [1] * (len(ids) - first - 1)


def test_only_a_tokenizer_that_types_segments_asks_for_token_types(bert_tokenizer,
                                                                    tiny_tokenizer):
    assert pair_types(bert_tokenizer)
    assert not pair_types(tiny_tokenizer)  # XLM-R's layout: every token type 0


def test_classification_pairs_carry_the_tokenizers_token_types(bert_tokenizer):
    fmt = get_format("classification")
    features = fmt.featurize(NLI, bert_tokenizer, nli_task(), 16)
    sep = bert_tokenizer.sep_token_id
    for ex, feat in zip(NLI, features, strict=True):
        theirs = bert_tokenizer(ex["text_a"], ex.get("text_b"), truncation=True, max_length=16,
                                return_token_type_ids=True)
        assert feat["input_ids"] == theirs["input_ids"]
        assert feat["token_type_ids"] == theirs["token_type_ids"]
    # The second segment is type 1 (the NLI hypothesis, PAWS-X's second sentence, truncated
    # to 16 tokens in all), a single text type 0 throughout.
    for feat in features[:2]:
        assert feat["token_type_ids"] == segments(feat["input_ids"], sep)
        assert 1 in feat["token_type_ids"]
    assert len(features[1]["input_ids"]) == 16
    assert set(features[2]["token_type_ids"]) == {0}
    batch = fmt.collate(features, bert_tokenizer.pad_token_id)
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    for row, feat in zip(batch["token_type_ids"].tolist(), features, strict=True):
        n = len(feat["input_ids"])
        assert row[:n] == feat["token_type_ids"] and not any(row[n:])  # padding: type 0


def test_span_qa_windows_carry_run_qas_token_types(bert_tokenizer):
    """Every window, the later ones (stride) too, as HF run_qa.py tokenises them."""
    fmt = get_format("span_qa")
    features = fmt.featurize(qa_examples(), bert_tokenizer, qa_task(), 24)
    theirs = bert_tokenizer([QUESTION], [CONTEXT], truncation="only_second", max_length=24,
                            stride=4, return_overflowing_tokens=True,
                            return_offsets_mapping=True, padding=False,
                            return_token_type_ids=True)
    assert len(features) == len(theirs["input_ids"]) >= 3
    question = len(bert_tokenizer(QUESTION, add_special_tokens=False)["input_ids"])
    for i, feat in enumerate(features):
        assert feat["input_ids"] == theirs["input_ids"][i]
        assert feat["token_type_ids"] == theirs["token_type_ids"][i]
        # [CLS] question [SEP]: type 0; the context window and its [SEP]: type 1.
        n = len(feat["input_ids"])
        assert feat["token_type_ids"] == [0] * (question + 2) + [1] * (n - question - 2)
    # The second window starts 4 context tokens before the first one ends (the stride).
    first_context = theirs["input_ids"][0][question + 2:-1]
    assert features[1]["input_ids"][question + 2:question + 6] == first_context[-4:]
    batch = fmt.collate(features, bert_tokenizer.pad_token_id)
    assert batch["token_type_ids"][:, question + 2].tolist() == [1] * len(features)


def test_span_qa_with_window_step_keeps_the_types(bert_tokenizer):
    features = get_format("span_qa").featurize(qa_examples(), bert_tokenizer,
                                               qa_task(doc_stride=None, window_step=8), 24)
    assert len(features) >= 2
    for feat in features:
        assert feat["token_type_ids"] == segments(feat["input_ids"], bert_tokenizer.sep_token_id)


def test_multiple_choice_options_carry_the_tokenizers_token_types(bert_tokenizer):
    fmt = get_format("multiple_choice")
    features = fmt.featurize(CHOICES, bert_tokenizer, mc_task(), 20)
    for ex, feat in zip(CHOICES, features, strict=True):
        assert len(feat["choice_type_ids"]) == len(ex["choices"])
        for choice, ids, types in zip(ex["choices"], feat["choice_ids"],
                                      feat["choice_type_ids"], strict=True):
            theirs = bert_tokenizer(ex["prompt"], choice, truncation="only_first",
                                    max_length=20, return_token_type_ids=True)
            assert ids == theirs["input_ids"] and types == theirs["token_type_ids"]
            assert types == segments(ids, bert_tokenizer.sep_token_id) and 1 in types
    batch = fmt.collate(features, bert_tokenizer.pad_token_id)
    # Rows: example a's 3 choices, then b's 2 and a padding row (type 0).
    types = batch["token_type_ids"]
    assert types.shape == batch["input_ids"].shape == (6, batch["input_ids"].shape[1])
    assert types[4, :len(features[1]["choice_type_ids"][1])].tolist() == \
        features[1]["choice_type_ids"][1]
    assert not types[5].any()


def pair_cases():
    """(format, task, examples, max_length) of the three pair formats."""
    return [("classification", nli_task(), NLI, 16),
            ("span_qa", qa_task(), qa_examples(), 24),
            ("multiple_choice", mc_task(), CHOICES, 20)]


TYPE_FIELDS = {"classification": "token_type_ids", "span_qa": "token_type_ids",
               "multiple_choice": "choice_type_ids"}


def outputs(fmt, task, features, encoder, head, pad_id) -> list:
    """Evaluation's per-feature outputs, flattened to one float array each."""
    out = raw_outputs(encoder, head, fmt, task, features, pad_id, batch_size=8,
                      device=torch.device("cpu"), bf16=False)
    return [np.concatenate([np.ravel(x) for x in (o if isinstance(o, tuple) else (o,))])
            for o in out]


@pytest.mark.parametrize("case", pair_cases(), ids=lambda c: c[0])
def test_the_encoder_gets_the_token_types_in_training_and_evaluation(case, bert_tokenizer,
                                                                     bert_encoder, monkeypatch):
    name, task, examples, length = case
    fmt = get_format(name)
    features = fmt.featurize(examples, bert_tokenizer, task, length)
    torch.manual_seed(0)
    head = fmt.build_head(bert_encoder.config.hidden_size, task).eval()
    seen = []

    def spy(encoder, input_ids, attention_mask, output_hidden_states=False,
            token_type_ids=None):
        seen.append(token_type_ids)
        return real_encode(encoder, input_ids, attention_mask, output_hidden_states,
                           token_type_ids)

    real_encode = base.encode
    monkeypatch.setattr(base, "encode", spy)
    pad = bert_tokenizer.pad_token_id
    batch = fmt.collate(features, pad)
    fmt.loss(bert_encoder, head, batch)  # training
    assert seen[-1] is batch["token_type_ids"] and seen[-1].any()
    ours = outputs(fmt, task, features, bert_encoder, head, pad)  # evaluation
    assert seen[-1] is not None and seen[-1].any()
    # The same through Hugging Face's forward (not the unpadded one), and not the same
    # without the types (type 0 everywhere, as before).
    monkeypatch.setattr(unpadded, "supports_unpadded", lambda encoder: False)
    hf = outputs(fmt, task, features, bert_encoder, head, pad)
    untyped = [{k: v for k, v in f.items() if k != TYPE_FIELDS[name]} for f in features]
    without = outputs(fmt, task, untyped, bert_encoder, head, pad)
    assert seen[-1] is None
    for mine, theirs in zip(ours, hf, strict=True):
        assert np.allclose(mine, theirs, atol=1e-5)
    assert not all(np.allclose(m, o, atol=1e-4) for m, o in zip(ours, without, strict=True))


@pytest.mark.parametrize("case", pair_cases(), ids=lambda c: c[0])
def test_typed_features_read_back_from_the_cache_equal_fresh_ones(case, bert_tokenizer,
                                                                   tmp_path):
    name, task, examples, length = case
    fmt = get_format(name)
    fresh = fmt.featurize(examples, bert_tokenizer, task, length)
    assert all(TYPE_FIELDS[name] in f for f in fresh)
    FeatureCache(tmp_path).featurize(fmt, examples, bert_tokenizer, task, length, "test", "en")
    warm = FeatureCache(tmp_path)
    again = warm.featurize(fmt, examples, bert_tokenizer, task, length, "test", "en")
    assert warm.hits == 1 and list(again) == fresh
    key = warm.describe(fmt, examples, bert_tokenizer, task, length, "test", "en")
    assert key["token_types"] is True  # features cached before they carried types go stale


# What an XLM-R-shaped run's features held before token types existed (and its cache key).
UNTYPED_FIELDS = {"classification": {"input_ids", "example_index", "label"},
                  "span_qa": {"input_ids", "attention_mask", "example_index", "offsets",
                              "start_position", "end_position"},
                  "multiple_choice": {"choice_ids", "example_index", "label"}}
KEY_FIELDS = {"code", "codec", "format", "feature_version", "task", "split", "lang", "labels",
              "options", "tokenizer", "max_length", "examples", "n_examples"}


@pytest.mark.parametrize("case", pair_cases(), ids=lambda c: c[0])
def test_xlmr_shaped_runs_carry_no_token_types(case, tiny_tokenizer, tmp_path):
    name, task, examples, length = case
    fmt = get_format(name)
    features = fmt.featurize(examples, tiny_tokenizer, task, length)
    for feat in features:
        assert set(feat) <= UNTYPED_FIELDS[name]
    if name == "classification":  # the ids as ever: the tokenizer's for the pair
        assert [f["input_ids"] for f in features] == [
            tiny_tokenizer(ex["text_a"], ex.get("text_b"), truncation=True,
                           max_length=length)["input_ids"] for ex in examples]
    assert "token_type_ids" not in fmt.collate(features, tiny_tokenizer.pad_token_id)
    cache = FeatureCache(tmp_path)
    assert set(cache.describe(fmt, examples, tiny_tokenizer, task, length, "test",
                              "en")) == KEY_FIELDS  # the same keys: caches stay valid
    cache.featurize(fmt, examples, tiny_tokenizer, task, length, "test", "en")
    (folder,) = tmp_path.iterdir()
    assert not list(folder.glob("*type_ids*"))
