"""Run a model over examples and turn its outputs into predictions and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from xstilts.config import DEFAULT_MAX_LENGTH
from xstilts.formats.base import TaskFormat, featurize
from xstilts.progress import plural, progress

if TYPE_CHECKING:
    from xstilts.evaluate.embeddings import EmbeddingMemo

logger = logging.getLogger(__name__)


_WARNED_NO_BF16: set[str] = set()  # devices already warned about (one line per device)


def use_bf16(device: torch.device, bf16: bool) -> bool:
    """Whether to autocast to bf16: asked for, on a GPU that supports it. CPU stays fp32
    (bit-reproducible); a GPU without bf16 falls back to fp32 with one warning line."""
    if not bf16 or device.type != "cuda":
        return False
    if torch.cuda.is_bf16_supported():
        return True
    if str(device) not in _WARNED_NO_BF16:
        _WARNED_NO_BF16.add(str(device))
        logger.warning("xstilts: %s does not support bf16; training and evaluating in fp32 "
                       "(set training.bf16: false to silence this)", device)
    return False


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast where `use_bf16` allows it; otherwise a no-op context."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=use_bf16(device, bf16))


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def feature_length(feature: dict) -> int:
    """Tokens in a feature (all choices for multiple choice)."""
    if "input_ids" in feature:
        return len(feature["input_ids"])
    return sum(len(ids) for ids in feature.get("choice_ids", []))


def feature_lengths(features) -> list[int]:
    """feature_length of every feature; read from the columns' offsets, without decoding a
    feature, for features from the feature cache (features/codec.py)."""
    token_counts = getattr(features, "token_counts", None)
    counts = token_counts(("input_ids", "choice_ids")) if token_counts else None
    return counts if counts is not None else [feature_length(f) for f in features]


def length_batches(lengths: list[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most `batch_size` features and at
    most `max_tokens` padded tokens (a longer single feature is a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending: the newest feature is the widest of its batch
        if current and (len(current) >= batch_size
                        or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    return [*batches, current] if current else batches


def raw_outputs(encoder, head, fmt: TaskFormat, task, features: Sequence[dict], pad_id: int,
                batch_size: int, device: torch.device, bf16: bool = True,
                max_tokens: int | None = None, desc: str = "predict", bar=None) -> list:
    """Per-feature outputs in feature order; batches formed by length to cut padding and
    bounded by `max_tokens` padded tokens (default: `batch_size` sequences of
    DEFAULT_MAX_LENGTH), so a batch of long sequences is smaller than one of short ones (a
    bar over the sequences, labelled `desc`; or `bar`, a caller's bar that this advances)."""
    budget = max_tokens or batch_size * DEFAULT_MAX_LENGTH
    was_training = encoder.training
    encoder.eval()
    if head is not None:
        head.eval()
    outputs: list = [None] * len(features)
    own_bar = bar is None
    if own_bar:
        bar = progress(total=len(features), desc=desc, unit="sequence", level=None)
    # Between training steps (dev evaluation) no_grad, not inference_mode: a buffer an
    # encoder caches lazily in forward (rotary tables of some remote-code models) would
    # become an inference tensor that the next training step cannot save for backward.
    no_autograd = torch.no_grad() if was_training else torch.inference_mode()
    try:
        with no_autograd:
            for idx in length_batches(feature_lengths(features), batch_size,
                                      budget):
                batch = to_device(fmt.collate([features[i] for i in idx], pad_id), device)
                with autocast(device, bf16):
                    out = fmt.predict_batch(encoder, head, batch, task)
                for i, o in zip(idx, out, strict=True):
                    outputs[i] = o
                bar.update(len(idx))
    finally:
        if own_bar:
            bar.close()
        encoder.train(was_training)
        if head is not None:
            head.train(was_training)
    return outputs


@dataclass(frozen=True)
class Predictor:
    """A model ready to predict: its encoder and head (None for the untrained formats), its
    tokenizer, and how batches run."""

    encoder: torch.nn.Module
    head: torch.nn.Module | None
    tokenizer: Any
    device: torch.device
    batch_size: int
    bf16: bool = True
    # Untrained embedding formats (retrieval, bitext mining): a memo of sentence vectors that
    # lives as long as the encoder stays unchanged; each side is encoded on its own, and a
    # side seen before (the same English sentences in every language) is not encoded again.
    embeddings: EmbeddingMemo | None = None


def predict_and_score(model: Predictor, fmt: TaskFormat, task, examples: list[dict], lang: str,
                      max_length: int, features: Sequence[dict] | None = None,
                      desc: str | None = None, level: int | None = logging.INFO
                      ) -> tuple[dict, dict[str, float]]:
    """Predictions {id: prediction} and metrics for one language's examples (`features`:
    theirs, made already at `max_length`; else they are featurised here). Bars labelled
    `desc` (default `eval TASK (LANG)`) and one finished line at `level`."""
    label = desc or f"eval {task.name} ({lang})"
    started = time.perf_counter()
    if features is None:
        features = featurize(fmt, examples, model.tokenizer, task, max_length,
                             f"{label}: featurise", logging.DEBUG, f"{label}: featurised")
    predictions, metrics = predict_features(model, fmt, task, examples, features, lang, label)
    if level is not None:
        main = task.options.get("main_metric", fmt.main_metric)
        shown = f" ({main} {metrics[main]:.2f})" if main in metrics else ""
        logger.log(level, "%s: %s in %.1f s%s", label, plural(len(examples), "example"),
                   time.perf_counter() - started, shown)
    return predictions, metrics


def predict_features(model: Predictor, fmt: TaskFormat, task, examples: list[dict],
                     features: Sequence[dict], lang: str, desc: str = "predict"
                     ) -> tuple[dict, dict[str, float]]:
    """predict_and_score on features made already (featurise once, predict many times)."""
    pad_id = model.tokenizer.pad_token_id
    if model.embeddings is not None and not fmt.trainable:
        from xstilts.evaluate.embeddings import side_outputs

        outputs = side_outputs(model.encoder, fmt, task, features, pad_id, model.batch_size,
                               model.device, model.bf16, model.embeddings, desc)
    else:
        outputs = raw_outputs(model.encoder, model.head, fmt, task, features, pad_id,
                              model.batch_size, model.device, model.bf16, desc=desc)
    predictions = fmt.decode(examples, features, outputs, task)
    return predictions, fmt.score(examples, predictions, task, lang)
