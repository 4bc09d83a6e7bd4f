"""Run a model over examples and turn its outputs into predictions and metrics."""

from __future__ import annotations

import logging
import time

import torch

from xstilts.formats.base import TaskFormat, featurize
from xstilts.progress import plural, progress

logger = logging.getLogger(__name__)


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
def raw_outputs(encoder, head, fmt: TaskFormat, task, features: list[dict], pad_id: int,
                batch_size: int, device: torch.device, bf16: bool = True,
                desc: str = "predict") -> list:
    """Per-feature outputs in feature order; batches formed by length to cut padding (a bar
    over the sequences, labelled `desc`)."""
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    was_training = encoder.training
    encoder.eval()
    if head is not None:
        head.eval()
    outputs: list = [None] * len(features)
    bar = progress(total=len(features), desc=desc, unit="sequence", level=None)
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = to_device(fmt.collate([features[i] for i in idx], pad_id), device)
            with autocast(device, bf16):
                out = fmt.predict_batch(encoder, head, batch, task)
            for i, o in zip(idx, out, strict=True):
                outputs[i] = o
            bar.update(len(idx))
    finally:
        bar.close()
        encoder.train(was_training)
        if head is not None:
            head.train(was_training)
    return outputs


def predict_and_score(encoder, head, fmt: TaskFormat, task, examples: list[dict], tokenizer,
                      max_length: int, batch_size: int, device: torch.device, lang: str,
                      bf16: bool = True, desc: str | None = None,
                      level: int | None = logging.INFO) -> tuple[dict, dict[str, float]]:
    """Predictions {id: prediction} and metrics for one language's examples; bars labelled
    `desc` (default `eval TASK (LANG)`) and one finished line at `level`."""
    label = desc or f"eval {task.name} ({lang})"
    started = time.perf_counter()
    features = featurize(fmt, examples, tokenizer, task, max_length, f"{label}: featurise",
                         logging.DEBUG, f"{label}: featurised")
    outputs = raw_outputs(encoder, head, fmt, task, features, tokenizer.pad_token_id,
                          batch_size, device, bf16, desc=label)
    predictions = fmt.decode(examples, features, outputs, task)
    metrics = fmt.score(examples, predictions, task, lang)
    if level is not None:
        main = task.options.get("main_metric", fmt.main_metric)
        shown = f" ({main} {metrics[main]:.2f})" if main in metrics else ""
        logger.log(level, "%s: %s in %.1f s%s", label, plural(len(examples), "example"),
                   time.perf_counter() - started, shown)
    return predictions, metrics
