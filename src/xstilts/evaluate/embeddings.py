"""Sentence embeddings of untrained formats (retrieval, bitext mining), one side at a time.

Evaluating a retrieval task language by language over one model encodes the English side
for every language; where those sentences are the same (a shared English file, the demo's
retrieval task) they are encoded once: each side is encoded on its own (so its vectors do not
depend on what the other side is batched with) and kept in an `EmbeddingMemo` keyed by the
side's token ids. A memo belongs to one unchanged encoder: whoever holds the encoder holds
its memo and drops it with the encoder.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from xstilts.evaluate.predict import raw_outputs
from xstilts.progress import progress

MEMO_BYTES = 1 << 30  # embeddings kept per memo (oldest dropped first)


class EmbeddingMemo:
    """Per-side outputs by content key, at most `limit` bytes of them; counts hits."""

    def __init__(self, limit: int = MEMO_BYTES):
        self.limit, self.size, self.hits, self.misses = limit, 0, 0, 0
        self._entries: OrderedDict[str, tuple[list, int]] = OrderedDict()

    def get(self, key: str) -> list | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: str, outputs: list) -> None:
        size = sum(np.asarray(o).nbytes for o in outputs)
        if size > self.limit:
            return
        self._entries[key] = (outputs, size)
        self.size += size
        while self.size > self.limit:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= dropped


def side_key(fmt, task, features: Sequence[dict], batch_size: int, device, bf16: bool) -> str:
    """What one side's vectors depend on: the token ids (prefix included), the layer read
    (the only option the embedding formats' predict_batch uses), batching and precision."""
    digest = hashlib.sha256(repr((fmt.name, task.options.get("layer", -1), batch_size,
                                  str(device), bool(bf16))).encode())
    for feature in features:
        digest.update(np.asarray(feature["input_ids"], dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def side_outputs(encoder, fmt, task, features: Sequence[dict], pad_id: int, batch_size: int,
                 device: torch.device, bf16: bool, memo: EmbeddingMemo,
                 desc: str = "predict") -> list:
    """Per-feature vectors, in feature order, each side (feature["side"]) encoded alone or
    taken from `memo` (one bar over both sides, labelled `desc`)."""
    sides: dict = {}
    for i in range(len(features)):
        sides.setdefault(features[i].get("side"), []).append(i)
    outputs: list = [None] * len(features)
    with progress(total=len(features), desc=desc, unit="sequence", level=None) as bar:
        for index in sides.values():
            part = [features[i] for i in index]
            key = side_key(fmt, task, part, batch_size, device, bf16)
            vectors = memo.get(key)
            if vectors is None:
                vectors = raw_outputs(encoder, None, fmt, task, part, pad_id, batch_size,
                                      device, bf16, bar=bar)
                memo.put(key, vectors)
            else:
                bar.update(len(index))
            for i, vector in zip(index, vectors, strict=True):
                outputs[i] = vector
    return outputs
