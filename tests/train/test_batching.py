"""Length-grouped training batches: a seeded epoch order that pads little and resumes exactly."""

from __future__ import annotations

import numpy as np
import pytest
from tests.fixtures import bare_task

from xstilts.config import TrainingConfig
from xstilts.formats import get_format
from xstilts.train.loop import BatchStream, TaskData

FMT = get_format("classification")
TASK = bare_task("lengths", "classification", labels=["a", "b"])
PAD = 0


def features(lengths):
    """Feature i holds i + 1 as its first token, so a batch tells which examples it holds."""
    return [{"input_ids": [i + 1] + [7] * (n - 1), "label": i % 2, "example_index": i}
            for i, n in enumerate(lengths)]


def skewed_lengths(n=1000, seed=0):
    """Mostly short sentences and a long tail (as real corpora)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=3.0, sigma=0.8, size=n).astype(int), 2, 256).tolist()


def stream(lengths, batch_size=16, seed=0, group=True, **kw):
    data = TaskData(TASK, FMT, "lengths", features(lengths), [], 256)
    return BatchStream(data, batch_size, PAD, seed, group_by_length=group, **kw)


def epoch_batches(s, epochs=1) -> list[list[dict]]:
    """The batches of the stream's next `epochs` epochs, drawn through `next`."""
    out: dict[int, list] = {}
    while True:
        batch = s.next()
        if len(out) == epochs and s.epoch not in out:
            return list(out.values())  # `batch` opened the epoch after those
        out.setdefault(s.epoch, []).append(batch)


def ids(batch) -> list[int]:
    return (batch["input_ids"][:, 0] - 1).tolist()


@pytest.mark.parametrize("group", [True, False])
@pytest.mark.parametrize("n", [1000, 37, 16, 5])
def test_every_example_exactly_once_per_epoch(group, n):
    s = stream(skewed_lengths(n), group=group)
    for batches in epoch_batches(s, epochs=3):
        seen = [i for b in batches for i in ids(b)]
        assert sorted(seen) == list(range(n))
        assert [len(ids(b)) for b in batches[:-1]] == [16] * (len(batches) - 1)


def test_orders_depend_on_seed_and_epoch_only():
    lengths = skewed_lengths()
    first = [ids(b) for b in epoch_batches(stream(lengths, seed=1))[0]]
    again = [ids(b) for b in epoch_batches(stream(lengths, seed=1))[0]]
    other_seed = [ids(b) for b in epoch_batches(stream(lengths, seed=2))[0]]
    second_epoch = [ids(b) for b in epoch_batches(stream(lengths, seed=1), epochs=2)[1]]
    assert first == again
    assert first != other_seed and first != second_epoch
    # Not just the same batches reshuffled: the groups themselves differ.
    assert {tuple(sorted(b)) for b in first} != {tuple(sorted(b)) for b in second_epoch}


def padding_fraction(batches) -> float:
    padded = sum(int(b["input_ids"].numel()) for b in batches)
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    return 1 - real / padded


def test_grouping_pads_much_less_than_random_batches():
    lengths = skewed_lengths()
    grouped = padding_fraction(epoch_batches(stream(lengths, group=True))[0])
    shuffled = padding_fraction(epoch_batches(stream(lengths, group=False))[0])
    assert shuffled > 0.4  # the skew makes random batches mostly padding
    assert grouped < shuffled / 2  # 16-token buckets: each sequence pads by < 16 tokens


def test_longest_batch_comes_first_and_order_is_still_random():
    lengths = skewed_lengths()
    batches = epoch_batches(stream(lengths))[0]
    widths = [int(b["input_ids"].shape[1]) for b in batches]
    assert widths[0] == max(lengths)
    # Shuffled batches: far from sorted by width.
    assert sum(a <= b for a, b in zip(widths[1:], widths[2:], strict=False)) < 0.8 * len(widths)


def test_resume_from_epoch_and_position_continues_the_same_sequence():
    lengths = skewed_lengths(200)
    live = stream(lengths, batch_size=8, seed=5)
    for _ in range(37):  # into the second epoch (25 batches per epoch)
        live.next()
    resumed = stream(lengths, batch_size=8, seed=5)
    resumed.epoch, resumed.position = live.epoch, live.position  # what a checkpoint stores
    for _ in range(30):  # across the next epoch boundary
        assert ids(live.next()) == ids(resumed.next())


def test_ranks_share_the_order_and_split_it():
    lengths = skewed_lengths(100)
    single = stream(lengths, batch_size=4, seed=3)
    ranks = [stream(lengths, batch_size=4, seed=3, rank=r, world_size=2) for r in range(2)]
    for _ in range(12):  # 100 examples = 25 batches: 12 rounds of two, one batch left
        expected = [ids(single.next()), ids(single.next())]
        assert [ids(r.next()) for r in ranks] == expected
    assert ranks[0].position == ranks[1].position == 96
    # The odd batch left over is dropped (a rank without a batch would stall the others).
    assert [r.next() is not None and r.epoch for r in ranks] == [1, 1]


def test_group_by_length_is_on_by_default():
    assert TrainingConfig().group_by_length is True


def test_the_bucket_width_sets_how_alike_a_batchs_lengths_are():
    assert TrainingConfig().length_bucket_width == 16
    lengths = [1, 20, 2, 19, 3, 18, 4, 17]  # one mega-chunk of 4 batches of 2

    def pairs(width, seed):
        batches = epoch_batches(stream(lengths, batch_size=2, seed=seed, bucket_width=width))[0]
        return {tuple(sorted(lengths[i] for i in ids(b))) for b in batches}

    # Width 1 sorts exactly: the nearest lengths pair up, whatever the seed.
    assert all(pairs(1, seed) == {(1, 2), (3, 4), (17, 18), (19, 20)} for seed in range(5))
    # Width 16: buckets 1-4 and 17-20, random pairs within each.
    wide = [pairs(16, seed) for seed in range(5)]
    assert all(a < 16 and b < 16 or a >= 16 and b >= 16 for p in wide for a, b in p)
    assert any(p != {(1, 2), (3, 4), (17, 18), (19, 20)} for p in wide)
    skewed = skewed_lengths()
    padding = {w: padding_fraction(epoch_batches(stream(skewed, bucket_width=w))[0])
               for w in (16, 4, 1)}
    assert padding[1] < padding[4] < padding[16]
    with pytest.raises(ValueError):
        TrainingConfig(length_bucket_width=0)
