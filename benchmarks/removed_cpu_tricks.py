"""REMOVED from xstilts: the CPU tricks of issue 26, point 2, kept here only so that
`cpu_tricks.py` can measure them against what replaced them, for the record.

Copied from src/xstilts at commit 56cc819 (models/packed_attention.py, models/dropout.py,
train/optim.py), unchanged but for names and the per-forward packing data that
models/unpadded.py's `pack` used to build (`packed_groups`). None of it is imported by xstilts.
Why each was removed, and the measurements: benchmarks/README.md, "cpu_tricks.py".

- `PackedAttention`: attention with dropout over the packed rows, its backward written out
  with the private `torch._softmax_backward_data`;
- `dropout_keep`: attention-dropout masks drawn 15 bits a value (the rate rounded to a multiple
  of 2^-15: not torch's distribution);
- `same_draws_dropout`: nn.Dropout's mask read from torch's 64-bit draws as integers (relies on
  the bit layout of torch's CPU `bernoulli_`, checked at run time);
- `GradientNorms`: per-parameter gradient norms taken in post-accumulate-grad hooks;
- `clipped_step`: the clipping scale handed to fused AdamW as `optimizer.grad_scale` (an
  attribute GradScaler sets, not a documented input).
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# --- models/packed_attention.py and the group data unpadded.pack built for it ------------


@dataclass(frozen=True)
class PackedGroup:
    """models/unpadded.py's Group plus what the packed attention read of it."""

    start: int
    count: int
    sequences: int
    longest: int
    gather: torch.Tensor | None  # (sequences x longest,) the packed row each slot reads
    scatter: torch.Tensor | None  # (count,) the padded slot of each packed row
    key_bias: torch.Tensor | None  # (heads x sequences, 1, longest): 0 real, -inf padding


_LAST: list = [None, ()]  # the last packing seen and its packed groups


def packed_groups(packing, heads: int) -> tuple[PackedGroup, ...]:
    """The packed attention's groups of `packing` (made once per forward, as `pack` did)."""
    if _LAST[0] is not packing:
        out = []
        for g in packing.groups:
            gather = key_bias = None
            if g.mask is not None:
                real = g.mask[:, 0, 0, :]
                sizes = real.sum(1)
                firsts = g.start + sizes.cumsum(0) - sizes
                positions = torch.arange(g.longest)[None, :]
                gather = (firsts[:, None] + positions.masked_fill(
                    positions >= sizes[:, None], 0)).reshape(-1)
                key_bias = torch.zeros(real.shape).masked_fill_(~real, float("-inf"))
                key_bias = key_bias.repeat(heads, 1)[:, None, :]
            out.append(PackedGroup(g.start, g.count, g.sequences, g.longest, gather, g.scatter,
                                   key_bias))
        _LAST[:] = [packing, tuple(out)]
    return _LAST[1]


def _padded_layout(qkv, group, heads):
    size = qkv.shape[1] // (3 * heads)
    by_head = qkv.view(-1, 3, heads, size).permute(1, 2, 0, 3)
    if group.gather is not None:
        layout = by_head.index_select(2, group.gather)
    else:
        layout = by_head.narrow(2, group.start, group.count).contiguous()
    return layout.view(3, heads * group.sequences, group.longest, size)


def _to_rows(padded, group, out):
    parts, _, _, size = padded.shape
    heads = out.shape[2]
    slots = padded.view(parts, heads, -1, size).permute(2, 0, 1, 3)
    rows = out.narrow(0, group.start, group.count)
    if group.scatter is not None:
        torch.index_select(slots, 0, group.scatter, out=rows)
    else:
        rows.copy_(slots)


class PackedAttention(torch.autograd.Function):
    """models/packed_attention.py's `_PackedAttention`, unchanged."""

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
            rows = grad_rows.narrow(0, group.start, group.count).transpose(0, 1)
            if group.scatter is not None:
                grad = grad_out.new_zeros(heads, group.sequences * group.longest, size)
                grad.index_copy_(1, group.scatter, rows)
            else:
                grad = rows.contiguous()
            grad = grad.view(heads * group.sequences, group.longest, size)
            grad_layout = torch.empty_like(layout)
            torch.bmm(dropped.transpose(1, 2), grad, out=grad_layout[2])
            grad_probs = torch.bmm(grad, v.transpose(1, 2))
            if keep is not None:
                grad_probs.mul_(keep)
            grad_scores = torch._softmax_backward_data(grad_probs, probs, -1, probs.dtype)
            grad_scores.mul_(scale)
            torch.bmm(grad_scores, k, out=grad_layout[0])
            torch.bmm(grad_scores.transpose(1, 2), q, out=grad_layout[1])
            _to_rows(grad_layout, group, grad_qkv)
        return grad_qkv.view(tokens, -1), None, None, None


def packed_attention_autograd(qkv, groups, heads, keeps):
    """The same forward as `PackedAttention` in public operations, autograd taking the
    backward (the "public packed attention" variant of cpu_tricks.py; never in xstilts)."""
    tokens, width = qkv.shape
    size = width // (3 * heads)
    rows = []
    for group, keep in zip(groups, keeps, strict=True):
        q, k, v = _padded_layout(qkv, group, heads)
        if group.key_bias is None:
            scores = torch.bmm(q, k.transpose(1, 2)).mul(size ** -0.5)
        else:
            scores = torch.baddbmm(group.key_bias, q, k.transpose(1, 2), alpha=size ** -0.5)
        probs = scores.softmax(-1)
        out = torch.bmm(probs if keep is None else probs * keep, v)
        slots = out.view(heads, -1, size).transpose(0, 1).reshape(-1, heads * size)
        rows.append(slots if group.scatter is None else slots.index_select(0, group.scatter))
    return rows[0] if len(rows) == 1 else torch.cat(rows)


def attention_with(packed, mask):
    """models/unpadded.py's `_attention` as it was: packed attention (`packed`: the
    written-out Function or the autograd form) with masks from `mask(shape, p)` on a CPU when
    training with attention dropout; otherwise xstilts' own `_attention` (SDPA)."""
    from xstilts.models import unpadded

    current = unpadded._attention

    def attention(layer, x, packing):
        attn = layer.attention.self
        heads = attn.num_attention_heads
        rate = attn.dropout.p if attn.dropout.training else 0.0
        if not (rate and x.device.type == "cpu" and x.dtype == torch.float32):
            return current(layer, x, packing)
        weight = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
        bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias])
        qkv = F.linear(x, weight, bias)
        groups = packed_groups(packing, heads)
        keeps = tuple(mask((heads * g.sequences, g.longest, g.longest), rate) for g in groups)
        return packed(qkv, groups, heads, keeps)

    return attention


# --- models/dropout.py ----------------------------------------------------------------------

_LOW_53_BITS = (1 << 53) - 1


def same_draws_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """`F.dropout(x, p, training)` from the same draws, as integers (models/dropout.py)."""
    if (not training or p == 0 or p >= 1 or x.device.type != "cpu"
            or x.dtype != torch.float32 or not _draws_match_torch()):
        return F.dropout(x, p, training=training)
    keep = _bernoulli_as_torch(x.shape, 1 - p, None).to(x.dtype).div_(1 - p)
    return x * keep


def _bernoulli_as_torch(shape, q, generator):
    draws = torch.empty(shape, dtype=torch.int64).random_(-2**63, None, generator=generator)
    return draws.bitwise_and_(_LOW_53_BITS).lt_(math.ceil(q * 2.0**53))


@functools.cache
def _draws_match_torch() -> bool:
    ours, theirs = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    kept = torch.empty(4096).bernoulli_(0.9, generator=theirs)
    return torch.equal(_bernoulli_as_torch((4096,), 0.9, ours).float(), kept)


_MASK_BITS = 15
_LANES_15_BITS = 0x7FFF7FFF7FFF7FFF


def dropout_keep(shape, p: float) -> torch.Tensor:
    """The 15-bit inverted-dropout mask (models/dropout.py's `dropout_keep`)."""
    if p >= 1:
        return torch.zeros(shape)
    levels = 1 << _MASK_BITS
    threshold = round(p * levels)
    if abs(threshold / levels - p) > 1e-3 * p:
        return torch.empty(shape).bernoulli_(1 - p).div_(1 - p)
    count = math.prod(shape)
    draws = torch.empty((count + 3) // 4, dtype=torch.int64).random_()
    lanes = draws.bitwise_and_(_LANES_15_BITS).view(torch.int16)[:count].view(shape)
    return lanes.ge(threshold).view(torch.uint8).to(torch.float32).mul_(
        levels / (levels - threshold))


def torch_keep(shape, p: float) -> torch.Tensor:
    """torch's own inverted-dropout mask (`bernoulli_`, then 1 / (1 - p)), the same
    distribution as nn.Dropout: the packed attention's mask without the 15-bit trick."""
    return torch.empty(shape).bernoulli_(1 - p).div_(1 - p)


# --- train/optim.py -------------------------------------------------------------------------


class GradientNorms:
    """Per-gradient norms taken in post-accumulate-grad hooks during the backward
    (train/optim.py's `GradientNorms`)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.taken: dict[torch.Tensor, torch.Tensor] = {}
        self.active = False
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.handles = [p.register_post_accumulate_grad_hook(self._take) for p in params]

    def _take(self, param):
        if self.active:
            self.taken[param] = torch.linalg.vector_norm(param.grad)

    @contextlib.contextmanager
    def recording(self, last_micro_batch: bool):
        self.active = last_micro_batch
        try:
            yield
        finally:
            self.active = False

    def total(self) -> torch.Tensor:
        norms = []
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    norm = self.taken.get(param)
                    norms.append(norm if norm is not None
                                 else torch.linalg.vector_norm(param.grad))
        self.taken.clear()
        return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())

    def close(self):
        for handle in self.handles:
            handle.remove()
        self.handles = []


def clipped_step(optimizer, norm: torch.Tensor, max_norm: float) -> None:
    """optimizer.step() with clip_grad_norm_'s scale passed to fused AdamW as `grad_scale`
    (train/optim.py's `clipped_step`)."""
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    if optimizer.defaults.get("fused"):
        optimizer.grad_scale = scale.reciprocal()
        try:
            optimizer.step()
        finally:
            del optimizer.grad_scale
        return
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    for grad in grads:
        grad.mul_(scale.to(grad.device))
    optimizer.step()
