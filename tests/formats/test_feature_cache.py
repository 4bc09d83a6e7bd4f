"""The feature cache: features read back (memory-mapped) equal freshly made ones, in every
format; the key changes with everything featurize reads; a broken folder is made again."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task

from xstilts.evaluate.predict import feature_length, feature_lengths
from xstilts.features.cache import FeatureCache, featurize, tokenizer_identity
from xstilts.features.codec import ColumnFeatures, write_columns
from xstilts.formats import get_format

CONTEXT = ("The Eiffel Tower is in Paris, the capital of France. It was built by the company "
           "of Gustave Eiffel in 1889. Many people visit the city every year to see it.")


def cases():
    """(format, task, examples, max_length) for every format, with optional fields missing
    in some features and span windows that overflow."""
    return [
        ("classification", bare_task("cls", "classification", labels=["yes", "no"]), [
            {"id": "a", "text_a": "The tower is in Paris.", "text_b": "Paris", "label": "yes"},
            {"id": "b", "text_a": "Where is the tower?", "label": "no"},
            {"id": "c", "text_a": "Москва является столицей России."},  # no label
        ], 16),
        ("multiple_choice", bare_task("mc", "multiple_choice"), [
            {"id": "a", "prompt": "Where is the tower?", "choices": ["Paris", "Moscow"],
             "label": 0},
            {"id": "b", "prompt": "Who built it?", "choices": ["Eiffel", "a cat", "the dog"],
             "label": 2},
        ], 12),
        ("span_qa", bare_task("qa", "span_qa", doc_stride=4, max_query_length=8), [
            {"id": "a", "question": "Who built the tower?", "context": CONTEXT,
             "answers": {"text": ["Gustave Eiffel"], "answer_start": [CONTEXT.index("Gustave")]}},
            {"id": "b", "question": "Where is it?", "context": CONTEXT,
             "answers": {"text": [], "answer_start": []}},
            {"id": "c", "question": "When?", "context": "北京是中华人民共和国的首都。"},
        ], 24),
        ("tagging", bare_task("pos", "tagging", labels=["X", "NOUN", "VERB"],
                              label_position="first_nonempty"), [
            {"id": "a", "tokens": ["The", "tower", "stands"], "tags": ["X", "NOUN", "VERB"]},
            {"id": "b", "tokens": ["长城", "在", "哪里"], "tags": ["NOUN", "VERB", "X"]},
            {"id": "c", "tokens": ["Many", "people", "visit", "the", "city", "every", "year"]},
        ], 8),
        ("mlm", bare_task("mlm", "mlm", mask_rate=0.3), [
            {"id": "a", "text": "A small cat sat on the warm mat."},
            {"id": "b", "text": "Кто построил этот город?"},
        ], 16),
        ("retrieval", bare_task("tat", "retrieval", prefix="query: "), [
            {"id": "a", "source": "Москва является столицей России.", "target": "Moscow."},
            {"id": "b", "source": "北京是首都。", "target": "Beijing is the capital."},
        ], 32),
        ("bitext_mining", bare_task("bucc", "bitext_mining"), [
            {"id": "s1", "side": "source", "text": "Кто построил этот город?", "gold": ["t1"]},
            {"id": "t1", "side": "target", "text": "Who built this city?"},
            {"id": "t2", "side": "target", "text": "A small cat sat on the mat."},
        ], 32),
    ]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c[0])
def test_features_read_back_equal_fresh_ones(case, tiny_tokenizer, tmp_path):
    name, task, examples, length = case
    fmt = get_format(name)
    fresh = fmt.featurize(examples, tiny_tokenizer, task, length)
    cold = FeatureCache(tmp_path)
    first = cold.featurize(fmt, examples, tiny_tokenizer, task, length, "test", "en")
    assert (cold.hits, cold.misses) == (0, 1) and first == fresh
    warm = FeatureCache(tmp_path)  # another job, another process: only the folder is shared
    again = warm.featurize(fmt, list(examples), tiny_tokenizer, task, length, "test", "en")
    assert (warm.hits, warm.misses) == (1, 0)
    assert isinstance(again, ColumnFeatures) and len(again) == len(fresh)
    assert list(again) == fresh
    assert again[-1] == fresh[-1] and again[1:] == fresh[1:]
    # Plain Python values, as featurize gives (the loop and the formats index and add them).
    assert json.dumps([{k: v for k, v in f.items() if k != "masking"} for f in again],
                      default=lambda o: list(o)) == json.dumps(
        [{k: v for k, v in f.items() if k != "masking"} for f in fresh],
        default=lambda o: list(o))
    # Lengths for batching from the columns' offsets, without decoding: as counted one by one.
    assert feature_lengths(again) == [feature_length(f) for f in fresh]
    if name in ("classification", "multiple_choice", "span_qa", "tagging"):
        assert again.token_counts(("input_ids", "choice_ids")) is not None
    batch, expected = (fmt.collate(list(f), tiny_tokenizer.pad_token_id) for f in (again, fresh))
    assert batch.keys() == expected.keys()
    assert all(torch.equal(batch[k], expected[k]) for k in batch)
    if name == "mlm":  # training re-masks from the stored tokens and the rebuilt masking
        assert [fmt.for_epoch(f, 3) for f in again] == [fmt.for_epoch(f, 3) for f in fresh]
    if name == "span_qa":
        assert len(fresh) > len(examples)  # several windows per context were stored
        assert any(o is None for o in fresh[0]["offsets"])


def test_columns_are_memory_mapped(tiny_tokenizer, tmp_path):
    name, task, examples, length = cases()[0]
    fmt = get_format(name)
    FeatureCache(tmp_path).featurize(fmt, examples, tiny_tokenizer, task, length, "dev")
    again = FeatureCache(tmp_path).featurize(fmt, examples, tiny_tokenizer, task, length, "dev")
    ids = next(c for c in again.columns if c.name == "input_ids")
    assert isinstance(ids.values, np.memmap) and ids.values.dtype == np.int32
    (folder,) = tmp_path.iterdir()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["count"] == 3 and meta["columns"]["label"]["partial"]
    assert meta["key"]["split"] == "dev" and meta["key"]["format"] == "classification"
    assert not list(folder.rglob("*.pkl"))


def test_the_key_follows_what_featurize_reads(tiny_tokenizer, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    name, task, examples, length = cases()[0]
    fmt = get_format(name)
    cache = FeatureCache(tmp_path / "features")

    def run(**changes):
        args = {"examples": examples, "tokenizer": tiny_tokenizer, "task": task,
                "max_length": length, **changes}
        before = cache.misses
        cache.featurize(fmt, args["examples"], args["tokenizer"], args["task"],
                        args["max_length"], "test", "en")
        return cache.misses - before

    assert run() == 1 and run() == 0
    assert run(examples=[dict(ex) for ex in examples]) == 0  # equal content, another list
    assert run(max_length=length + 1) == 1
    assert run(examples=[{**examples[0], "text_a": "Another text."}, *examples[1:]]) == 1
    assert run(task=bare_task("cls", "classification", labels=["no", "yes"])) == 1
    assert run(task=bare_task("cls", "classification", labels=["yes", "no"], pooling="mean")) == 1
    tiny_tokenizer.save_pretrained(tmp_path / "tokenizer")
    other = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    assert tokenizer_identity(other) == tokenizer_identity(tiny_tokenizer)
    assert run(tokenizer=other) == 0  # the same definition, another object
    other.add_tokens(["Eiffeltower"])
    assert run(tokenizer=other) == 1
    monkeypatch.setattr(type(fmt), "feature_version", fmt.feature_version + 1)
    assert run() == 1


def test_tokenizer_identity_ignores_truncation_state(tiny_tokenizer):
    tiny_tokenizer("Where is the tower?")
    before = tokenizer_identity(tiny_tokenizer)
    tiny_tokenizer("Where is the tower?", truncation=True, max_length=3)
    truncation = dict(tiny_tokenizer.backend_tokenizer.truncation)
    assert truncation["max_length"] == 3
    assert tokenizer_identity(tiny_tokenizer) == before
    assert tiny_tokenizer.backend_tokenizer.truncation == truncation  # left as it was


def test_an_unreadable_folder_is_featurised_again(tiny_tokenizer, tmp_path, caplog):
    name, task, examples, length = cases()[2]  # span QA: the most columns
    fmt = get_format(name)
    fresh = FeatureCache(tmp_path).featurize(fmt, examples, tiny_tokenizer, task, length, "t")
    (folder,) = tmp_path.iterdir()
    (folder / "offsets.offsets.npy").write_bytes(b"torn")
    cache = FeatureCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="xstilts"):
        again = cache.featurize(fmt, examples, tiny_tokenizer, task, length, "t")
    assert cache.misses == 1 and again == fresh and "ignoring" in caplog.text
    assert list(FeatureCache(tmp_path).featurize(fmt, examples, tiny_tokenizer, task, length,
                                                 "t")) == fresh  # written again, whole


def test_without_a_cache_or_a_schema_features_are_made_each_time(tiny_tokenizer, tmp_path,
                                                                  monkeypatch):
    name, task, examples, length = cases()[0]
    fmt = get_format(name)
    assert featurize(None, fmt, examples, tiny_tokenizer, task, length, "dev") == \
        fmt.featurize(examples, tiny_tokenizer, task, length)
    monkeypatch.setattr(type(fmt), "feature_fields", None)  # e.g. a user format
    cache = FeatureCache(tmp_path)
    cache.featurize(fmt, examples, tiny_tokenizer, task, length, "dev")
    assert cache.misses == 0 and not any(tmp_path.iterdir())


def test_the_codec_refuses_what_it_cannot_store_exactly(tmp_path):
    with pytest.raises(ValueError, match="no kind"):
        write_columns([{"input_ids": [1], "extra": 1}], {"input_ids": "ints"}, tmp_path)
    with pytest.raises(ValueError, match="not an int"):
        write_columns([{"label": True}], {"label": "int"}, tmp_path)
    with pytest.raises(ValueError, match="non-negative pair"):
        write_columns([{"offsets": [(0, 2), (-3, 1)]}], {"offsets": "spans"}, tmp_path)
    with pytest.raises(ValueError, match="survive JSON"):
        write_columns([{"side": ("a", "b")}], {"side": "json"}, tmp_path)


def test_features_the_codec_cannot_store_are_used_uncached(tiny_tokenizer, tmp_path,
                                                           monkeypatch, caplog):
    name, task, examples, length = cases()[0]
    fmt = get_format(name)
    fresh = fmt.featurize(examples, tiny_tokenizer, task, length)
    fields = {k: v for k, v in type(fmt).feature_fields.items() if k != "input_ids"}
    monkeypatch.setattr(type(fmt), "feature_fields", fields)  # a format that forgot a field
    cache = FeatureCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="xstilts"):
        got = cache.featurize(fmt, examples, tiny_tokenizer, task, length, "dev")
    assert got == fresh and "could not write" in caplog.text and "no kind" in caplog.text
    assert not any(tmp_path.iterdir())  # nothing half-written is left
