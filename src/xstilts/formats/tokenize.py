"""Tokenising examples in chunks: one fast-tokenizer call per chunk of examples, not one per
example (as `datasets.map(batched=True)` in the Hugging Face example scripts). The Rust
tokenizer then works through a whole chunk at once; per-example calls spend most of their
time in Python (measured: 10,000 sentence pairs 4-5x faster). The ids are the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from xstilts.progress import advance

CHUNK = 1000  # examples per tokenizer call


def in_chunks(examples: Sequence) -> Iterator[tuple[int, Sequence]]:
    """(offset, chunk) over `examples`; the open progress bar advances by each chunk."""
    for lo in range(0, len(examples), CHUNK):
        chunk = examples[lo:lo + CHUNK]
        yield lo, chunk
        advance(len(chunk))


def token_ids(tokenizer, texts: Sequence, pairs: Sequence | None = None,
              **options) -> list[list[int]]:
    """input_ids of each text (with its pair where `pairs` has one: None means a single
    text), `options` as the tokenizer's (truncation, max_length, ...)."""
    texts = list(texts)
    if not texts:
        return []
    if pairs is None or all(p is None for p in pairs):
        return tokenizer(texts, **options)["input_ids"]
    paired = [i for i, p in enumerate(pairs) if p is not None]
    ids: list = [None] * len(texts)
    encoded = tokenizer([texts[i] for i in paired], [pairs[i] for i in paired], **options)
    for i, row in zip(paired, encoded["input_ids"], strict=True):
        ids[i] = row
    single = [i for i, p in enumerate(pairs) if p is None]
    if single:
        encoded = tokenizer([texts[i] for i in single], **options)
        for i, row in zip(single, encoded["input_ids"], strict=True):
            ids[i] = row
    return ids
