"""Gradient clipping folded into the optimiser step (train/optim.py) against torch's own
clip_grad_norm_ followed by a plain step."""

from __future__ import annotations

import pytest
import torch

from xstilts.train.optim import GradientNorms, clipped_step, fused_supported, gradient_norm


def two_copies(grad_size: float) -> tuple[list, list, list]:
    """Two identical parameter sets (shapes of a tiny encoder), and gradients for them."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(8, 8), (8,), (32, 8), (32,), (1, 8)]
    values = [torch.randn(s, generator=generator) for s in shapes]
    grads = [torch.randn(s, generator=generator) * grad_size for s in shapes]
    copies = [[torch.nn.Parameter(v.clone()) for v in values] for _ in range(2)]
    return copies[0], copies[1], grads


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("grad_size", [10.0, 0.01])  # clipped (norm ~70), and not (~0.07)
@pytest.mark.parametrize("torch_before_2_6", [False, True])
def test_clipped_step_is_clip_grad_norm_then_a_step(fused, grad_size, torch_before_2_6,
                                                    monkeypatch):
    if fused and not fused_supported([torch.zeros(1)]):
        pytest.skip("this torch has no fused AdamW on a CPU")  # torch < 2.4
    reference = torch.nn.utils.clip_grad_norm_
    if torch_before_2_6:  # without torch's norm-then-clip functions: the written-out form
        monkeypatch.delattr(torch.nn.utils, "get_total_norm", raising=False)
        monkeypatch.delattr(torch.nn.utils, "clip_grads_with_norm_", raising=False)
    ours, theirs, grads = two_copies(grad_size)
    optimizers = [torch.optim.AdamW(ps, lr=0.1, weight_decay=0.01, fused=fused or None)
                  for ps in (ours, theirs)]
    for step in range(3):  # Adam's moments carry the clipped gradients into later steps
        for a, b, g in zip(ours, theirs, grads, strict=True):
            a.grad, b.grad = g * 0.9 ** step, g * 0.9 ** step
        expected = reference(theirs, 1.0)
        optimizers[1].step()
        norm = gradient_norm(optimizers[0])
        clipped_step(optimizers[0], norm, 1.0)
        assert torch.allclose(norm, expected, rtol=1e-6)
        assert (float(norm) > 1.0) == (grad_size > 1)
        for a, b in zip(ours, theirs, strict=True):
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not hasattr(optimizers[0], "grad_scale")  # nothing left for a later step


def test_no_gradients_have_norm_zero():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3))], lr=0.1)
    assert float(gradient_norm(optimizer)) == 0.0


def small_model_and_batches():
    """A two-layer model (one parameter unused by the second batch) and two micro-batches."""
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"a": torch.nn.Linear(8, 16), "b": torch.nn.Linear(16, 4),
                                 "side": torch.nn.Linear(8, 4)})
    batches = [torch.randn(5, 8), torch.randn(3, 8)]
    return model, batches


def loss_of(model, x, first: bool):
    out = model["b"](torch.relu(model["a"](x))).pow(2).sum()
    return out + model["side"](x).sum() if first else out  # "side": first micro-batch only


def test_norms_taken_in_the_backward_are_clip_grad_norm_s_over_accumulated_gradients():
    model, batches = small_model_and_batches()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    norms = GradientNorms(optimizer)
    for _ in range(2):
        for micro, x in enumerate(batches):  # gradient accumulation over two micro-batches
            with norms.recording(micro == len(batches) - 1):
                loss_of(model, x, first=micro == 0).backward()
        # Only the last backward's hooks record, on the accumulated gradients; "side" got its
        # gradient in the first micro-batch only and is measured by total().
        assert len(norms.taken) == 4
        expected = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        total = norms.total()
        assert torch.equal(total, gradient_norm(optimizer))  # the same value, bit for bit
        assert torch.allclose(total, expected, rtol=1e-6)
        assert norms.taken == {}
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    norms.close()
    loss_of(model, batches[0], first=True).backward()
    with norms.recording(True):
        loss_of(model, batches[1], first=False).backward()
    assert norms.taken == {}  # no hooks left on the parameters
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_a_training_phase_on_a_cpu_leaves_no_hooks_on_the_model(tmp_path, monkeypatch):
    from tests.fixtures import train_intermediate_phase
    from tests.train.test_throughput import tiny_phase

    from xstilts.train import loop

    models, totals = [], []
    real_train, real_total = loop.train_phase, GradientNorms.total

    def capturing_train(model, *args, **kwargs):
        models.append(model)
        return real_train(model, *args, **kwargs)

    def checked_total(self):
        total = real_total(self)
        totals.append(total)
        return total

    monkeypatch.setattr(loop, "train_phase", capturing_train)
    monkeypatch.setattr(GradientNorms, "total", checked_total)
    train_intermediate_phase(tiny_phase(tmp_path, max_steps=2), tmp_path / "out")
    assert len(totals) == 2 and all(float(t) > 0 for t in totals)  # the loop used it
    assert all(not p._post_accumulate_grad_hooks for p in models[0].parameters())
