"""Gradient clipping (train/optim.py `clip_gradients`): torch's clip_grad_norm_ over the
gradients the optimiser steps with, checked against norms worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from xstilts.train.optim import clip_gradients


def parameters_with_gradients(grad_size: float) -> tuple[list, list]:
    """Parameters shaped as a tiny encoder's, their gradients, and one frozen (no gradient)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(8, 8), (8,), (32, 8), (32,), (1, 8)]
    params = [torch.nn.Parameter(torch.randn(s, generator=generator)) for s in shapes]
    grads = [torch.randn(s, generator=generator) * grad_size for s in shapes]
    for param, grad in zip(params, grads, strict=True):
        param.grad = grad.clone()
    return params, grads


@pytest.mark.parametrize("grad_size", [10.0, 0.01])  # clipped (norm ~70), and not (~0.07)
def test_clip_gradients_returns_the_global_norm_and_scales_the_gradients_to_the_maximum(
        grad_size):
    params, grads = parameters_with_gradients(grad_size)
    frozen = torch.nn.Parameter(torch.ones(4))  # no gradient: not counted, not touched
    optimizer = torch.optim.AdamW([{"params": params[:2]}, {"params": params[2:] + [frozen]}])
    by_hand = math.sqrt(sum(float(x) ** 2 for g in grads for x in g.flatten()))
    norm = clip_gradients(optimizer, 1.0)
    assert math.isclose(float(norm), by_hand, rel_tol=1e-6)  # before clipping
    scale = min(1.0, 1.0 / (by_hand + 1e-6))  # clip_grad_norm_'s documented factor
    for param, grad in zip(params, grads, strict=True):
        assert torch.allclose(param.grad, grad * scale, rtol=1e-6, atol=1e-9)
    clipped = math.sqrt(sum(float(x) ** 2 for p in params for x in p.grad.flatten()))
    assert math.isclose(clipped, min(by_hand, 1.0), rel_tol=1e-5)
    assert frozen.grad is None


def test_no_gradients_have_norm_zero():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3))], lr=0.1)
    assert float(clip_gradients(optimizer, 1.0)) == 0.0


def test_each_training_step_clips_at_max_grad_norm_before_it_steps(tmp_path, monkeypatch):
    from tests.fixtures import train_intermediate_phase
    from tests.train.test_throughput import tiny_phase

    from xstilts.train import loop

    clipped = []

    def recording(optimizer, max_norm):
        norm = clip_gradients(optimizer, max_norm)
        after = torch.nn.utils.get_total_norm(
            [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None])
        clipped.append((max_norm, float(norm), float(after)))
        return norm

    monkeypatch.setattr(loop, "clip_gradients", recording)
    train_intermediate_phase(tiny_phase(tmp_path, max_steps=2, max_grad_norm=0.01),
                             tmp_path / "out")
    assert len(clipped) == 2  # one clip a step
    for max_norm, before, after in clipped:
        assert max_norm == 0.01 and before > 0.01  # the config's bound, and it had to clip
        assert math.isclose(after, 0.01, rel_tol=1e-3)
