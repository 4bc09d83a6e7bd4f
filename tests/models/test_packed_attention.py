"""Packed attention with dropout (written-out forward and backward) against attention computed
sequence by sequence with autograd."""

import pytest
import torch

from xstilts.models.packed_attention import packed_attention
from xstilts.models.unpadded import pack

HEADS, SIZE = 3, 4
LENGTHS = [5, 2, 7, 7, 1, 4]


@pytest.fixture(autouse=True)
def float64_packing():
    # pack() builds the key bias in the default dtype: float64 here, for exact comparisons
    # and gradcheck.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def reference(qkv, lengths, keeps, groups):
    """Each sequence and head alone: softmax(q k^T / sqrt(size)) over its own tokens, times
    its block of the group's keep mask, times v."""
    outputs, row, sequence = [], 0, 0
    for group, keep in zip(groups, keeps, strict=True):
        for s in range(group.sequences):
            n = lengths[sequence]
            q, k, v = qkv[row:row + n].view(n, 3, HEADS, SIZE).unbind(1)
            heads = []
            for h in range(HEADS):
                probs = (q[:, h] @ k[:, h].T / SIZE ** 0.5).softmax(-1)
                if keep is not None:  # heads first: block h * sequences + s
                    probs = probs * keep[h * group.sequences + s, :n, :n]
                heads.append(probs @ v[:, h])
            outputs.append(torch.cat(heads, 1))
            row, sequence = row + n, sequence + 1
    return torch.cat(outputs)


@pytest.mark.parametrize("budget", [None, 1, 3 * 2 * 49])
@pytest.mark.parametrize("dropped", [False, True])
def test_forward_and_gradients_equal_attention_sequence_by_sequence(budget, dropped):
    # budget None: one padded group; 1: each sequence alone (no padding); 3 x 2 x 7^2:
    # [5, 2] and [1, 4] padded, [7, 7] not.
    mask = (torch.arange(7)[None] < torch.tensor(LENGTHS)[:, None]).long()
    groups = pack(mask, HEADS, budget).groups
    assert len(groups) == {None: 1, 1: 6, 294: 3}[budget]
    generator = torch.Generator().manual_seed(0)
    tokens = sum(LENGTHS)
    qkv = torch.randn(tokens, 3 * HEADS * SIZE, dtype=torch.float64, generator=generator)
    keeps = [((torch.rand(HEADS * g.sequences, g.longest, g.longest, generator=generator) > 0.3)
              .double() / 0.7) if dropped else None for g in groups]
    weights = torch.randn(tokens, HEADS * SIZE, dtype=torch.float64, generator=generator)
    results = []
    for compute in (lambda x: packed_attention(x, groups, HEADS, keeps),
                    lambda x: reference(x, LENGTHS, keeps, groups)):
        x = qkv.clone().requires_grad_(True)
        out = compute(x)
        (out * weights).sum().backward()
        results.append((out.detach(), x.grad))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-12)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-12)
    assert results[0][1].abs().sum() > 0


def test_gradcheck_with_a_dropout_mask():
    mask = (torch.arange(7)[None] < torch.tensor(LENGTHS)[:, None]).long()
    groups = pack(mask, HEADS, 3 * 2 * 49).groups
    generator = torch.Generator().manual_seed(1)
    keeps = [(torch.rand(HEADS * g.sequences, g.longest, g.longest, generator=generator) > 0.5)
             .double() * 2 for g in groups]
    qkv = torch.randn(sum(LENGTHS), 3 * HEADS * SIZE, dtype=torch.float64, generator=generator,
                      requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: packed_attention(x, groups, HEADS, keeps), (qkv,))


def test_padding_slots_read_their_sequences_first_row():
    mask = (torch.arange(7)[None] < torch.tensor([5, 2])[:, None]).long()
    (group,) = pack(mask, HEADS, None).groups
    assert group.longest == 5
    assert group.gather.tolist() == [0, 1, 2, 3, 4, 5, 6, 5, 5, 5]
    assert group.scatter.tolist() == [0, 1, 2, 3, 4, 5, 6]
    bias = group.key_bias[:, 0]  # heads first: every head repeats the two sequences' rows
    assert bias.shape == (HEADS * 2, 5) and torch.equal(bias[0], bias[2])
    assert torch.isinf(bias[1, 2:]).all() and not torch.isinf(bias[1, :2]).any()
