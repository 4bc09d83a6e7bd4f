"""How much a phase trains, and what it saw: its step count, a per-task cap on training
examples (`training.examples_per_task`), and the examples and tokens each task gave.

Torch-free: the study's cost estimate (study/cost.py) counts steps with the same rule as the
loop. The counts of what a phase saw are replayed from each task's batch order and its
stream's final (epoch, position), not accumulated while training, so a resumed phase and a
data-parallel one (every rank's batches) are counted exactly.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from xstilts.config import TrainingConfig
from xstilts.train.batching import BUCKET_WIDTH, batch_slice, epoch_order


def phase_steps(cfg: TrainingConfig, sizes: Sequence[int], world_size: int = 1) -> int:
    """The step budget: `max_steps`, else `epochs` over all tasks' batches (`sizes`: each
    task's training examples, after any cap; a step takes `grad_accum` batches on each of
    `world_size` processes)."""
    if cfg.max_steps:
        return cfg.max_steps
    batches = sum(math.ceil(n / cfg.batch_size) for n in sizes)
    return max(1, math.ceil(cfg.epochs * batches / (cfg.grad_accum * world_size)))


def capped_size(size: int, cfg: TrainingConfig) -> int:
    """A task's training examples under `examples_per_task`."""
    return min(size, cfg.examples_per_task) if cfg.examples_per_task else size


class Subset(Sequence):
    """Some of a task's training features (by index), with the token counts of the full
    set's (features/codec.py) where it has them."""

    def __init__(self, features: Sequence, indices: np.ndarray):
        self.features, self.indices = features, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.features[int(self.indices[index])]

    def token_counts(self, names: Sequence[str]) -> list[int] | None:
        counts_of = getattr(self.features, "token_counts", None)
        counts = counts_of(names) if counts_of else None
        return None if counts is None else [counts[int(i)] for i in self.indices]


def cap_examples(features: Sequence, cap: int | None, seed: int, task: str) -> Sequence:
    """At most `cap` of a task's training features: a random subset drawn with the phase's
    seed and the task's name (so a task keeps its subset in every set it is drawn in, and
    another seed draws another subset), in their original order."""
    if not cap or len(features) <= cap:
        return features
    rng = np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])
    return Subset(features, np.sort(rng.choice(len(features), cap, replace=False)))


def seen(lengths: Sequence[int], batch_size: int, seed: int, epoch: int, position: int, *,
         group_by_length: bool = True, bucket_width: int = BUCKET_WIDTH,
         world_size: int = 1) -> dict[str, int]:
    """What a task's stream gave from its start to (epoch, position) (train/loop.py
    BatchStream, every rank's batch): examples, real tokens (each feature's length: all its
    choices for multiple choice) and tokens padded to each batch's longest feature."""
    lengths = np.asarray(lengths, dtype=np.int64)
    step = batch_size * world_size
    examples = tokens = padded = 0
    for e in range(epoch + 1):
        order = epoch_order(lengths, batch_size, seed, e, group_by_length,
                            bucket_width=bucket_width)
        p = 0
        while (p < position or e < epoch) and batch_slice(order, p, batch_size, 0,
                                                          world_size) is not None:
            for rank in range(world_size):
                batch = lengths[batch_slice(order, p, batch_size, rank, world_size)]
                examples += len(batch)
                tokens += int(batch.sum())
                padded += len(batch) * int(batch.max(initial=0))
            p += step
    return {"examples": examples, "tokens": tokens, "padded_tokens": padded}
