"""The order of training examples in one epoch, and the padding it costs.

With `group_by_length` a batch holds examples of similar length, so dynamic padding
(formats/base.py `pad_stack`) pads little, while the order stays random (as Hugging Face's
LengthGroupedSampler, but a pure function of (seed, epoch), so a resumed run sees the same
batches):

1. a seeded permutation of the examples;
2. cut into mega-chunks of `batch_size * CHUNK_BATCHES` examples, each ordered by length
   bucket (`BUCKET_WIDTH` tokens wide; a stable sort, so the examples of one bucket keep
   their random order). Buckets rather than exact sorting: batches of the n examples nearest
   in length learnt worse on the demo's generated NLI and on real UD POS, at the price of
   some padding on short sequences (benchmarks/README.md, bucket_width.py);
3. each chunk cut into batches of `batch_size`;
4. the full batches shuffled (seeded); the batch holding the longest example goes first, so
   an out-of-memory error shows at the first step, not hours in; a short remainder batch
   goes last.

The result is a flat index array whose consecutive `batch_size` slices are the batches, so
a stream's whole state stays (epoch, position).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHUNK_BATCHES = 50  # batches per mega-chunk: bigger groups tighter, smaller keeps more randomness
# Tokens per bucket (training.length_bucket_width's default): at most 15 padding tokens per
# sequence from grouping.
BUCKET_WIDTH = 16


def epoch_order(lengths: Sequence[int], batch_size: int, seed: int, epoch: int,
                group_by_length: bool = True, chunk_batches: int = CHUNK_BATCHES,
                bucket_width: int = BUCKET_WIDTH) -> np.ndarray:
    """Example indices of one epoch; consecutive `batch_size` slices are its batches."""
    n = len(lengths)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    if not group_by_length or n <= batch_size:
        return order
    lengths = np.asarray(lengths)
    chunk = batch_size * chunk_batches
    grouped = np.concatenate([
        part[np.argsort(lengths[part] // bucket_width, kind="stable")]
        for part in (order[i:i + chunk] for i in range(0, n, chunk))])
    full = n // batch_size * batch_size
    batches = grouped[:full].reshape(-1, batch_size)
    # Its own stream (a third key), so the batch shuffle is independent of the permutation.
    batches = batches[np.random.default_rng([seed, epoch, 1]).permutation(len(batches))]
    longest = int(np.argmax(lengths[batches].max(axis=1)))
    batches[[0, longest]] = batches[[longest, 0]]
    return np.concatenate([batches.reshape(-1), grouped[full:]])


def batch_slice(order: np.ndarray, position: int, batch_size: int, rank: int = 0,
                world_size: int = 1) -> np.ndarray | None:
    """This rank's batch of the `world_size` batches that start at `position`; None when the
    epoch has not enough examples left to give every rank at least one."""
    if position + (world_size - 1) * batch_size >= len(order):
        return None
    start = position + rank * batch_size
    return order[start:start + batch_size]

