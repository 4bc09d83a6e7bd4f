"""Training throughput: tokens per second, achieved FLOP/s and model-FLOPs utilisation (MFU).

FLOPs per real (non-padding) token, the usual dense-transformer approximation (Kaplan et al.
2020; PaLM's MFU): a matmul weight does 2 FLOPs per token forward, and backward costs twice
the forward for trained weights (gradients of inputs and of weights), so

    flops/token = 2 * N_forward + 4 * N_trainable

with N_forward the weights the step runs through (encoder + that step's head) and
N_trainable those of them with requires_grad; 6 * N when everything trains. Embedding
tables are lookups, not matmuls, and are left out; so are attention-score FLOPs
(~ 4 * layers * seq * hidden per token forward), so long sequences are under-counted.
Padding tokens are computed too but not counted: MFU measures useful work.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from xstilts.train.gpus import PEAK_BF16_FLOPS


def peak_bf16_flops(device: torch.device) -> float | None:
    """The device's dense bf16 peak FLOP/s; None on a CPU or an unlisted GPU."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device).lower()
    return next((peak for key, peak in PEAK_BF16_FLOPS if key in name), None)


def flops_per_token(modules: list[nn.Module]) -> int:
    """2 * N_forward + 4 * N_trainable over the matmul weights of `modules` (see above)."""
    embeddings = {id(p) for m in modules for sub in m.modules() if isinstance(sub, nn.Embedding)
                  for p in sub.parameters(recurse=False)}
    params = {id(p): p for m in modules for p in m.parameters() if id(p) not in embeddings}
    forward = sum(p.numel() for p in params.values())
    trainable = sum(p.numel() for p in params.values() if p.requires_grad)
    return 2 * forward + 4 * trainable


def phase_meter(model, head_names: list[str], device: torch.device,
                bf16: bool) -> ThroughputMeter:
    """A meter for a MultiTaskModel's phase; MFU only for bf16 steps on a GPU of known peak."""
    per_token = {h: flops_per_token([model.encoder, model.heads[h]]) for h in head_names}
    return ThroughputMeter(per_token, peak_bf16_flops(device) if bf16 else None)


def batch_tokens(batch: dict) -> tuple[int, int]:
    """(real tokens, padded tokens) of a collated batch."""
    ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    real = int(mask.sum()) if mask is not None else ids.numel()
    return real, int(ids.numel())


# The figures of a step's log record (flat, so trackers chart them) and of summary.json's
# `throughput`; they differ from run to run, unlike the rest of a record.
THROUGHPUT_KEYS = ("tokens_per_s", "real_token_fraction", "flops_per_s", "mfu")


class ThroughputMeter:
    """Per-step and whole-phase tokens/s, real-token fraction, FLOP/s and MFU."""

    def __init__(self, flops_per_token_by_head: dict[str, int], peak_flops: float | None):
        self.per_token, self.peak = flops_per_token_by_head, peak_flops
        self.real = self.padded = self.flops = 0
        self.seconds = 0.0
        self._step = [0, 0, 0]  # real, padded tokens, FLOPs of the step being run
        self._started = 0.0  # set by start_step

    def start_step(self) -> None:
        """Mark the start of an optimiser step (evaluation time between steps is not counted)."""
        self._step = [0, 0, 0]
        self._started = time.perf_counter()

    def add_batch(self, head_name: str, batch: dict) -> None:
        """Count one micro-batch of the current step."""
        real, padded = batch_tokens(batch)
        self._step[0] += real
        self._step[1] += padded
        self._step[2] += real * self.per_token[head_name]

    def end_step(self) -> dict:
        """This step's figures (for its log record); adds it to the phase totals."""
        seconds = max(1e-9, time.perf_counter() - self._started)
        real, padded, flops = self._step
        self.real, self.padded, self.flops = self.real + real, self.padded + padded, \
            self.flops + flops
        self.seconds += seconds
        return self._figures(real, padded, flops, seconds)

    def summary(self) -> dict:
        """The whole phase's figures (summary.json `throughput`)."""
        return self._figures(self.real, self.padded, self.flops, max(1e-9, self.seconds))

    def _figures(self, real: int, padded: int, flops: int, seconds: float) -> dict:
        achieved = flops / seconds
        return dict(zip(THROUGHPUT_KEYS, (real / seconds, real / padded if padded else None,
                                          achieved, achieved / self.peak if self.peak else None),
                        strict=True))
