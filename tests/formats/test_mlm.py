"""MLM format: dynamic masking per training epoch (seeded), fixed dev masks, BatchStream hook."""

from __future__ import annotations

from xstilts.formats.base import IGNORE_INDEX
from xstilts.formats.mlm import MLMFormat
from xstilts.tasks.task import GeneratedSource, Task
from xstilts.train.loop import BatchStream, TaskData

FMT = MLMFormat()
TEXTS = ["The Eiffel Tower was built by the company of Gustave Eiffel in 1889 for the fair.",
         "Many people visit the city every year to see the museums, the parks and the streets.",
         "A small cat sat on the warm mat while the dog slept under the big wooden table."]


def make_task(**options) -> Task:
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    return Task(name="mlm", format="mlm", languages=["en"], source=source, options=options)


def examples():
    return [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)]


def masked_positions(feature) -> list[int]:
    return [i for i, label in enumerate(feature["labels"]) if label != IGNORE_INDEX]


def check_masking(feature, tokenizer) -> None:
    """Labels are the unmasked tokens; unselected positions keep their token; specials never."""
    special = set(tokenizer.all_special_ids)
    for i, (inp, label, tok) in enumerate(zip(feature["input_ids"], feature["labels"],
                                              feature["tokens"], strict=True)):
        if label == IGNORE_INDEX:
            assert inp == tok
        else:
            assert label == tok and tok not in special, i


def test_each_epoch_draws_new_masks(tiny_tokenizer):
    feats = FMT.featurize(examples(), tiny_tokenizer, make_task(mask_rate=0.3), max_length=64)
    for f in feats:
        by_epoch = [FMT.for_epoch(f, epoch) for epoch in range(4)]
        for g in by_epoch:
            check_masking(g, tiny_tokenizer)
            assert g["tokens"] == f["tokens"] and g["example_index"] == f["example_index"]
        # 30% of ~20 tokens: four epochs with one and the same selection is (virtually) impossible.
        assert len({tuple(masked_positions(g)) for g in by_epoch}) > 1


def test_same_seed_same_masks_other_seed_other_masks(tiny_tokenizer):
    a = FMT.featurize(examples(), tiny_tokenizer, make_task(mask_seed=3), max_length=64)
    b = FMT.featurize(examples(), tiny_tokenizer, make_task(mask_seed=3), max_length=64)
    c = FMT.featurize(examples(), tiny_tokenizer, make_task(mask_seed=4), max_length=64)
    for epoch in (0, 1, 5):
        same = [FMT.for_epoch(f, epoch) for f in a]
        again = [FMT.for_epoch(f, epoch) for f in b]
        other = [FMT.for_epoch(f, epoch) for f in c]
        assert [(f["input_ids"], f["labels"]) for f in same] == [
            (f["input_ids"], f["labels"]) for f in again]
        assert [f["labels"] for f in same] != [f["labels"] for f in other]


def test_dev_features_are_fixed(tiny_tokenizer):
    task = make_task()
    first = FMT.featurize(examples(), tiny_tokenizer, task, max_length=64)
    snapshot = [(list(f["input_ids"]), list(f["labels"])) for f in first]
    for f in first:  # re-masking for training never touches the feature itself
        FMT.for_epoch(f, 1)
    second = FMT.featurize(examples(), tiny_tokenizer, task, max_length=64)
    assert [(f["input_ids"], f["labels"]) for f in first] == snapshot
    assert [(f["input_ids"], f["labels"]) for f in second] == snapshot
    for f in first:
        check_masking(f, tiny_tokenizer)


def stream(features, seed=0):
    data = TaskData(make_task(), FMT, "mlm", features, [], 64)
    return BatchStream(data, batch_size=len(features), pad_id=1, seed=seed)


def test_batch_stream_remasks_per_epoch_and_resumes_exactly(tiny_tokenizer):
    feats = FMT.featurize(examples(), tiny_tokenizer, make_task(mask_rate=0.3), max_length=64)
    live = stream(feats)
    epochs = [live.next() for _ in range(3)]  # one batch = one epoch
    assert live.epoch == 2
    assert not all(epochs[0]["labels"].equal(b["labels"]) for b in epochs[1:])
    # The batches are exactly the for_epoch features of that epoch, in the stream's order.
    order = live._order()
    expected = FMT.collate([FMT.for_epoch(feats[i], 2) for i in order], 1)
    assert all(expected[k].equal(epochs[2][k]) for k in expected)
    # A stream restored to (epoch, position) continues with the same masks.
    resumed = stream(feats)
    resumed.epoch, resumed.position = live.epoch, live.position
    after_live, after_resumed = live.next(), resumed.next()
    assert all(after_live[k].equal(after_resumed[k]) for k in after_live)
