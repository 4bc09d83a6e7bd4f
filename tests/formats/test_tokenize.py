"""Chunked tokenisation gives each example the ids a call of its own would give."""

from __future__ import annotations

import pytest
from tests.formats.test_feature_cache import cases

from xstilts.formats import get_format, tokenize
from xstilts.formats.tokenize import token_ids


@pytest.mark.parametrize("case", cases(), ids=lambda c: c[0])
def test_chunks_of_any_size_give_the_features_of_one_example_at_a_time(
        case, tiny_tokenizer, monkeypatch):
    name, task, examples, length = case
    fmt = get_format(name)
    examples = examples * 3  # chunks of 2 then cut inside an example group
    monkeypatch.setattr(tokenize, "CHUNK", 1)
    one_by_one = fmt.featurize(examples, tiny_tokenizer, task, length)
    for size in (2, 1000):
        monkeypatch.setattr(tokenize, "CHUNK", size)
        assert fmt.featurize(examples, tiny_tokenizer, task, length) == one_by_one


def test_pairs_and_single_texts_mixed_keep_their_order(tiny_tokenizer):
    texts, pairs = ["a red car", "the tower", "blue"], ["Paris", None, "sky is blue"]
    expected = [tiny_tokenizer(t, p)["input_ids"] for t, p in zip(texts, pairs, strict=True)]
    assert token_ids(tiny_tokenizer, texts, pairs) == expected
    assert token_ids(tiny_tokenizer, texts) == [tiny_tokenizer(t)["input_ids"] for t in texts]
    assert token_ids(tiny_tokenizer, []) == []
