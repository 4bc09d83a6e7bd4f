"""Attention over packed tokens with dropout on a CPU, forward and backward written out.

Why: the unpadded forward (models/unpadded.py) keeps the real tokens packed in one
(tokens, 3 x heads x size) matrix of queries, keys and values, and attention needs them as
padded sequences. Built from autograd's operations that costs a pass for every step of the
way there and back: padding the rows (zeros, then a copy), a copy into the layout the batched
products read, and in the backward the reverse of each plus a stack of the three gradients.
Here each direction is one gather: the forward reads the packed rows straight into the
(3, heads, sequences x longest, size) layout (`index_select` over a permuted view) and the
output straight back into packed rows; the backward writes the three gradients into one
buffer with the batched products' `out=` and gathers it back into packed rows once.
On UD-POS-like batches (16 sentences of about 25 tokens, e5-small) this spared about half of
the attention's copies. The math is PyTorch's: softmax(q k^T / sqrt(size) + key mask),
dropped with a given mask, times v; the backward is the same chain rule (the softmax's own
backward kernel).

Padding slots read their sequence's first token: any finite value serves, as a padded key
gets probability 0 (its bias is -inf) and a padded query's output is never gathered back, so
neither sends any gradient anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch


class AttentionGroup(Protocol):
    """What the packed attention reads of a group of consecutive sequences (models/unpadded.py
    `Group`)."""

    start: int  # its first row in the packed matrix
    count: int  # its real tokens
    sequences: int
    longest: int
    # (sequences x longest,) the packed row each padded slot reads; None without padding.
    gather: torch.Tensor | None
    # (count,) the padded slot of each of its packed rows; None without padding.
    scatter: torch.Tensor | None
    # (heads x sequences, 1, longest): 0 at real keys, -inf at padding, heads first; None
    # without padding.
    key_bias: torch.Tensor | None


def packed_attention(qkv: torch.Tensor, groups: Sequence[AttentionGroup], heads: int,
                     keeps: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """(tokens, heads x size) attention outputs from (tokens, 3 x heads x size) packed
    queries, keys and values; `keeps[i]` multiplies group i's probabilities (a dropout mask
    shaped (heads x sequences, longest, longest), or None)."""
    return _PackedAttention.apply(qkv, tuple(groups), heads, tuple(keeps))


def _padded_layout(qkv: torch.Tensor, group: AttentionGroup, heads: int) -> torch.Tensor:
    # (3, heads x sequences, longest, size): the group's q, k and v as the products read them.
    size = qkv.shape[1] // (3 * heads)
    by_head = qkv.view(-1, 3, heads, size).permute(1, 2, 0, 3)  # (3, heads, tokens, size)
    if group.gather is not None:
        layout = by_head.index_select(2, group.gather)
    else:
        layout = by_head.narrow(2, group.start, group.count).contiguous()
    return layout.view(3, heads * group.sequences, group.longest, size)


def _to_rows(padded: torch.Tensor, group: AttentionGroup, out: torch.Tensor) -> None:
    # `padded` (parts, heads x sequences, longest, size) back into the group's packed rows of
    # `out` ((tokens, parts, heads, size) or a view of that shape).
    parts, _, _, size = padded.shape
    heads = out.shape[2]
    slots = padded.view(parts, heads, -1, size).permute(2, 0, 1, 3)  # (slots, parts, heads, size)
    rows = out.narrow(0, group.start, group.count)
    if group.scatter is not None:
        torch.index_select(slots, 0, group.scatter, out=rows)
    else:
        rows.copy_(slots)


class _PackedAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, qkv, groups, heads, keeps):
        tokens, width = qkv.shape
        size = width // (3 * heads)
        scale = size ** -0.5
        out = qkv.new_empty(tokens, 1, heads, size)
        saved = []
        for group, keep in zip(groups, keeps, strict=True):
            q, k, v = layout = _padded_layout(qkv, group, heads)
            if group.key_bias is None:
                scores = torch.bmm(q, k.transpose(1, 2)).mul_(scale)
            else:
                scores = torch.baddbmm(group.key_bias, q, k.transpose(1, 2), alpha=scale)
            probs = scores.softmax(-1)
            dropped = probs if keep is None else probs * keep
            _to_rows(torch.bmm(dropped, v)[None], group, out)
            saved += [layout, probs, dropped] + ([] if keep is None else [keep])
        ctx.save_for_backward(*saved)
        ctx.groups, ctx.heads, ctx.scale = groups, heads, scale
        ctx.with_keep = [keep is not None for keep in keeps]
        return out.view(tokens, heads * size)

    @staticmethod
    def backward(ctx, grad_out):
        saved, heads, scale = list(ctx.saved_tensors), ctx.heads, ctx.scale
        tokens = grad_out.shape[0]
        size = grad_out.shape[1] // heads
        grad_qkv = grad_out.new_empty(tokens, 3, heads, size)
        grad_rows = grad_out.view(tokens, heads, size)
        for group, with_keep in zip(ctx.groups, ctx.with_keep, strict=True):
            layout, probs, dropped = saved[:3]
            keep = saved[3] if with_keep else None
            del saved[:3 + with_keep]
            q, k, v = layout
            # The output's gradient in the padded layout (zeros at padded queries).
            rows = grad_rows.narrow(0, group.start, group.count).transpose(0, 1)
            if group.scatter is not None:
                grad = grad_out.new_zeros(heads, group.sequences * group.longest, size)
                grad.index_copy_(1, group.scatter, rows)
            else:
                grad = rows.contiguous()
            grad = grad.view(heads * group.sequences, group.longest, size)
            grad_layout = torch.empty_like(layout)
            torch.bmm(dropped.transpose(1, 2), grad, out=grad_layout[2])  # v
            grad_probs = torch.bmm(grad, v.transpose(1, 2))
            if keep is not None:
                grad_probs.mul_(keep)
            grad_scores = torch._softmax_backward_data(grad_probs, probs, -1, probs.dtype)
            grad_scores.mul_(scale)
            torch.bmm(grad_scores, k, out=grad_layout[0])  # q
            torch.bmm(grad_scores.transpose(1, 2), q, out=grad_layout[1])  # k
            _to_rows(grad_layout, group, grad_qkv)
        return grad_qkv.view(tokens, -1), None, None, None
