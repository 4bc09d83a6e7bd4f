"""Run a model over examples and turn its outputs into predictions and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from xstilts.formats.base import TaskFormat

if TYPE_CHECKING:
    from xstilts.evaluate.embeddings import EmbeddingMemo


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on a GPU; a no-op context on the CPU (keeps CPU runs bit-reproducible)."""
    enabled = bf16 and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def feature_length(feature: dict) -> int:
    """Tokens in a feature (all choices for multiple choice)."""
    if "input_ids" in feature:
        return len(feature["input_ids"])
    return sum(len(ids) for ids in feature.get("choice_ids", []))


@torch.no_grad()
def raw_outputs(encoder, head, fmt: TaskFormat, task, features: Sequence[dict], pad_id: int,
                batch_size: int, device: torch.device, bf16: bool = True) -> list:
    """Per-feature outputs in feature order; batches formed by length to cut padding."""
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    was_training = encoder.training
    encoder.eval()
    if head is not None:
        head.eval()
    outputs: list = [None] * len(features)
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = to_device(fmt.collate([features[i] for i in idx], pad_id), device)
            with autocast(device, bf16):
                out = fmt.predict_batch(encoder, head, batch, task)
            for i, o in zip(idx, out, strict=True):
                outputs[i] = o
    finally:
        encoder.train(was_training)
        if head is not None:
            head.train(was_training)
    return outputs


def predict_and_score(encoder, head, fmt: TaskFormat, task, examples: list[dict], tokenizer,
                      max_length: int, batch_size: int, device: torch.device, lang: str,
                      bf16: bool = True, features: Sequence[dict] | None = None,
                      embeddings: EmbeddingMemo | None = None) -> tuple[dict, dict[str, float]]:
    """Predictions {id: prediction} and metrics for one language's examples (`features`:
    theirs, made already; else they are featurised here). `embeddings`: see
    predict_features."""
    if features is None:
        features = fmt.featurize(examples, tokenizer, task, max_length)
    return predict_features(encoder, head, fmt, task, examples, features,
                            tokenizer.pad_token_id, batch_size, device, lang, bf16, embeddings)


def predict_features(encoder, head, fmt: TaskFormat, task, examples: list[dict],
                     features: Sequence[dict], pad_id: int, batch_size: int,
                     device: torch.device, lang: str, bf16: bool = True,
                     embeddings: EmbeddingMemo | None = None) -> tuple[dict, dict[str, float]]:
    """predict_and_score on features made already (featurise once, predict many times).

    `embeddings`: a memo for untrained embedding formats (retrieval, bitext mining) that
    lives as long as the encoder stays unchanged; each side is then encoded on its own and
    a side seen before (the same English sentences in every language) is not encoded again.
    """
    if embeddings is not None and not fmt.trainable:
        from xstilts.evaluate.embeddings import side_outputs

        outputs = side_outputs(encoder, fmt, task, features, pad_id, batch_size, device,
                               bf16, embeddings)
    else:
        outputs = raw_outputs(encoder, head, fmt, task, features, pad_id, batch_size, device,
                              bf16)
    predictions = fmt.decode(examples, features, outputs, task)
    return predictions, fmt.score(examples, predictions, task, lang)
