"""CPU dropout for the unpadded forward (models/dropout.py): torch's exact result sooner, and
the same distribution from fewer random bits."""

import pytest
import torch
import torch.nn.functional as F

from xstilts.models import dropout as dropout_module
from xstilts.models.dropout import _draws_match_torch, dropout_keep, same_draws_dropout


@pytest.mark.parametrize("shape,p", [((290, 384), 0.1), ((7, 3, 5), 0.5), ((1000,), 0.01),
                                     ((33, 65), 0.3)])
def test_same_draws_dropout_is_torchs_dropout_exactly(shape, p):
    torch.manual_seed(11)
    x = torch.randn(shape, requires_grad=True)
    state = torch.get_rng_state()
    theirs = F.dropout(x, p, training=True)
    after_theirs = torch.get_rng_state()
    torch.set_rng_state(state)
    ours = same_draws_dropout(x, p, training=True)
    assert torch.equal(ours, theirs)
    assert (ours == 0).any()  # something was dropped: the masks are compared, not copies
    # The generator moved on as far as torch's dropout moves it: later draws are the same.
    assert torch.equal(torch.get_rng_state(), after_theirs)
    weights = torch.randn(shape)
    (grad_ours,) = torch.autograd.grad((ours * weights).sum(), x)
    (grad_theirs,) = torch.autograd.grad((theirs * weights).sum(), x)
    assert torch.equal(grad_ours, grad_theirs)


def test_this_torch_takes_the_sooner_path_and_another_keeps_its_own(monkeypatch):
    # The torch the project tests with draws as same_draws_dropout reads it (a failure here:
    # torch's bernoulli_ changed; the fallback stays exact, only slower).
    assert _draws_match_torch()
    monkeypatch.setattr(dropout_module, "_bernoulli_as_torch",  # a torch drawing otherwise
                        lambda shape, q, generator: torch.ones(shape, dtype=torch.bool))
    _draws_match_torch.cache_clear()
    try:
        assert not _draws_match_torch()
        x = torch.randn(300)
        torch.manual_seed(2)
        theirs = F.dropout(x, 0.4, training=True)
        torch.manual_seed(2)
        assert torch.equal(same_draws_dropout(x, 0.4, training=True), theirs)
    finally:
        _draws_match_torch.cache_clear()


def test_same_draws_dropout_outside_training_and_at_the_edges_is_torchs():
    x = torch.randn(50, 8)
    assert same_draws_dropout(x, 0.1, training=False) is x
    assert torch.equal(same_draws_dropout(x, 0.0, training=True), x)
    assert not same_draws_dropout(x, 1.0, training=True).any()


def test_dropout_keep_keeps_each_value_with_probability_1_minus_p_scaled_by_its_inverse():
    torch.manual_seed(0)
    y = dropout_keep((1000, 1000), 0.1)
    assert y.shape == (1000, 1000) and y.dtype == torch.float32
    kept = y != 0
    # Binomial(1e6, 0.9): standard deviation 3e-4 of the kept share; 0.002 is over 6 of them.
    assert abs(kept.float().mean().item() - 0.9) < 0.002
    # The rate as drawn: 0.1 rounded to 15 bits (3277 / 32768), scaled by its own inverse.
    assert torch.allclose(y[kept], torch.full_like(y[kept], 32768 / (32768 - 3277)))
    assert abs(y.mean().item() - 1.0) < 0.002  # unbiased, as nn.Dropout
    assert not dropout_keep((1000,), 1.0).any()  # nn.Dropout(1.0): everything dropped
    half = dropout_keep((1_000_000,), 0.5)
    assert abs((half == 0).float().mean().item() - 0.5) < 0.002
    # A rate the 15-bit draw cannot hold within 0.1% (0.001 would be 33 / 32768, 0.7% more)
    # takes torch's bernoulli_: the exact rate.
    rare = dropout_keep((4_000_000,), 0.001)
    assert abs((rare == 0).float().mean().item() - 0.001) < 0.0001  # 6 standard deviations
    assert torch.allclose(rare[rare != 0], torch.full((1,), 1 / 0.999))


def test_dropout_keep_draws_follow_the_seed_and_are_independent_across_a_draws_four_values():
    # Four decisions share one 64-bit draw: each of the four positions must drop at the rate
    # alone and independently of its neighbours (a pair dropping together: p^2).
    torch.manual_seed(3)
    first = dropout_keep((4_000_000,), 0.1)
    torch.manual_seed(3)
    assert torch.equal(first, dropout_keep((4_000_000,), 0.1))
    dropped = (first == 0).view(-1, 4)
    for lane in range(4):  # sd of a share over 1e6 decisions: 3e-4
        assert abs(dropped[:, lane].float().mean().item() - 0.1) < 0.002, lane
    both = (dropped[:, :3] & dropped[:, 1:]).float().mean(0)  # neighbours in one draw
    assert torch.allclose(both, torch.full((3,), 0.01), atol=0.0006), both
