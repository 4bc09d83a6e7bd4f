"""The encoder's forward over its real tokens only: Hugging Face's math, minus the padding.

Why: a batch is padded to its longest sequence, and Hugging Face's forward computes every
padding position through every layer. The projections, feed-forward layers and LayerNorms
act on each token alone, so they can run on the real tokens packed into one matrix; only
attention needs sequences, and it gets them in groups padded to the group's own longest. On a
CPU the groups are also kept small (`CPU_GROUP_SCORES`): one attention over a whole batch of
long windows makes per-layer score tensors (scores, softmax, dropout mask, their gradients)
of over 100 MiB, which is slower than several smaller groups (benchmarks/README.md,
encoder_step.py).

What runs here: BERT-shaped encoders (BERT, RoBERTa, XLM-R, CamemBERT: absolute positions,
not a decoder), with Hugging Face's own modules and weights:
1. the embeddings exactly as Hugging Face computes them (positions, token types, LayerNorm,
   dropout) over the padded batch;
2. the real tokens packed into a (tokens, width) matrix, on which every layer's
   projections, residuals, LayerNorms, feed-forward and hidden dropout (its own modules) run;
3. attention per group of consecutive sequences, masked within the group: PyTorch's
   scaled_dot_product_attention with the layer's attention dropout rate when training;
4. the outputs scattered back to (batch, length, width), zeros at padding positions (no
   head reads them: each masks or ignores padding). `hidden_states`, when asked for, are the
   embeddings and every layer's output, as Hugging Face returns them.
Anything else (another architecture, gradient checkpointing, a compiled encoder) runs
Hugging Face's forward: `supports_unpadded` decides (the architecture once per encoder).
Whether `encode` uses this forward at all is the `encoder.forward` setting, resolved per
device into a mark on the encoder (models/forward.py): by default this forward on a CPU,
Hugging Face's (with SDPA) on CUDA.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xstilts.models.forward import config_refusal, forward_of, resolve_forward

# Attention scores per group on a CPU (heads x sequences x longest^2 floats: 32 MiB). Larger
# groups were slower per step and much smaller ones too (e5-small at 205 and 384 tokens:
# benchmarks/README.md, "Attention group size"); why larger ones are slower was not measured.
CPU_GROUP_SCORES = 1 << 23


def supports_unpadded(encoder: nn.Module) -> bool:
    """Whether `encoder` is a Hugging Face model this module can run (see the module doc)."""
    # A compiled encoder (training.compile) or one that checkpoints activations keeps its own
    # forward: bypassing it would drop the compilation or the memory saving.
    if (getattr(encoder, "_compiled_call_impl", None) is not None
            or isinstance(encoder, _compiled_module()) or _checkpointing(encoder)):
        return False
    known = _BERT_SHAPED_MODULES.get(encoder)
    if known is None:
        known = _BERT_SHAPED_MODULES[encoder] = _bert_shaped(encoder)
    return known


def _compiled_module() -> type:
    # torch.compile(module) returns a wrapper whose attributes are the module's own. Only a
    # test of what runs (no math); torch has no public name for the wrapper, and without it
    # the check falls back to the in-place compile's mark.
    try:
        from torch._dynamo.eval_frame import OptimizedModule
    except ImportError:
        return type(None)
    return OptimizedModule


def _checkpointing(encoder: nn.Module) -> bool:
    # transformers 5 renamed is_gradient_checkpointing (which now warns) to
    # is_activation_checkpointing.
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(type(encoder), name):
            return bool(getattr(encoder, name))
    return False


# Encoders already looked at (the answer depends on their modules, which do not change).
_BERT_SHAPED_MODULES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _bert_shaped(encoder: nn.Module) -> bool:
    config = getattr(encoder, "config", None)
    if config is None or config_refusal(config) is not None:
        return False
    # transformers' own classes only: remote code (trust_remote_code) may keep BERT's module
    # names and config type and change what its forward does.
    if not type(encoder).__module__.startswith("transformers.models."):
        return False
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(getattr(encoder, "embeddings", None), nn.Module) or not layers:
        return False
    return all(_bert_layer(layer) for layer in layers)


def _bert_layer(layer: nn.Module) -> bool:
    names = ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "attention.output.LayerNorm", "attention.output.dropout",
             "intermediate", "output.dense", "output.LayerNorm", "output.dropout")
    modules = dict(layer.named_modules())
    return all(name in modules for name in names) and not hasattr(layer, "crossattention")


@dataclass(frozen=True)
class Packing:
    """Where a padded batch's real tokens sit: rows of the packed matrix, and the groups of
    sequences that attend together."""

    batch: int
    length: int
    rows: torch.Tensor  # (tokens,) flat indices of the real tokens in (batch * length)
    padding: torch.Tensor  # flat indices of the padding positions in (batch * length)
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Group:
    """Consecutive sequences that attend together, padded to the longest of them."""

    start: int  # its first row in the packed matrix
    count: int  # its real tokens
    sequences: int
    longest: int
    # Flat indices in (sequences x longest) of its real tokens and of its padding; None when
    # its sequences are all as long (no padding).
    scatter: torch.Tensor | None
    padding: torch.Tensor | None
    mask: torch.Tensor | None  # (sequences, 1, 1, longest): which keys are real


def attention_groups(lengths: list[int], heads: int, budget: int | None) -> list[list[int]]:
    """Consecutive sequences grouped so that each group's scores (heads x sequences x its
    longest^2) stay within `budget` (None: one group); a longer sequence is a group alone."""
    groups: list[list[int]] = []
    longest = 0
    for i, n in enumerate(lengths):
        grown = max(longest, n)
        if groups and (budget is None or heads * (len(groups[-1]) + 1) * grown ** 2 <= budget):
            groups[-1].append(i)
            longest = grown
        else:
            groups.append([i])
            longest = n
    return groups


def pack(attention_mask: torch.Tensor, heads: int, budget: int | None,
         device: torch.device | None = None) -> Packing:
    """The packing of a right-padded batch (every row's real tokens first, then padding),
    worked out on the CPU (no GPU sync per group), its index tensors put on `device`."""
    batch, length = attention_mask.shape
    real = attention_mask.cpu().bool()
    lengths = real.sum(1).tolist()

    def on_device(t: torch.Tensor) -> torch.Tensor:
        return t if device is None else t.to(device)

    def where(flags: torch.Tensor, value: bool) -> torch.Tensor:
        return on_device((flags.reshape(-1) == value).nonzero().squeeze(1))

    groups, start = [], 0
    for members in attention_groups(lengths, heads, budget):
        sizes = [lengths[i] for i in members]
        longest, count = max(sizes), sum(sizes)
        scatter = padding = mask = None
        if min(sizes) < longest:
            sub = real[members[0]:members[-1] + 1, :longest]
            scatter, padding = where(sub, True), where(sub, False)
            mask = on_device(sub[:, None, None, :])
        groups.append(Group(start, count, len(members), longest, scatter, padding, mask))
        start += count
    return Packing(batch, length, where(real, True), where(real, False), tuple(groups))


def _scattered(x: torch.Tensor, rows: torch.Tensor, padding: torch.Tensor,
               total: int) -> torch.Tensor:
    # (total, width) with x's rows at `rows` and zeros at `padding` (the two cover every
    # row): each row written once, where zeros then a copy would write the real ones twice.
    # Padding must be finite, not left as it was: a masked key's value still meets a zero
    # probability (0 * nan is nan), and a padded query's row enters the softmax's gradient.
    out = x.new_empty(total, x.shape[-1])
    out.index_fill_(0, padding, 0.0)
    return out.index_copy_(0, rows, x)


def _attention(layer: nn.Module, x: torch.Tensor, packing: Packing):
    attn = layer.attention.self
    heads = attn.num_attention_heads
    size = attn.attention_head_size
    rate = attn.dropout.p if attn.dropout.training else 0.0  # the module's own mode, as HF
    # One GEMM for the three projections (their weights side by side): one pass over x
    # and no copy of the three outputs into one.
    weight = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
    bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias])
    qkv = F.linear(x, weight, bias)
    outputs = []
    for group in packing.groups:
        # The whole matrix when one group has every row: a narrow's backward would write the
        # whole gradient again into a zero-filled copy.
        part = (qkv if group.count == qkv.shape[0]
                else qkv.narrow(0, group.start, group.count))
        if group.scatter is not None:  # pad the group's sequences to its longest
            part = _scattered(part, group.scatter, group.padding,
                              group.sequences * group.longest)
        q, k, v = part.view(group.sequences, group.longest, 3, heads, size).permute(
            2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=group.mask, dropout_p=rate)
        out = out.transpose(1, 2).reshape(-1, heads * size)
        outputs.append(out if group.scatter is None else out.index_select(0, group.scatter))
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def right_padded(attention_mask: torch.Tensor) -> bool:
    """Whether every row has real tokens and they come first (xstilts' collation pads on the
    right)."""
    lengths = attention_mask.sum(1, keepdim=True)
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return bool(torch.equal(positions < lengths, attention_mask.bool())
                and attention_mask[:, :1].all())


def token_types(encoder: nn.Module) -> bool:
    """Whether the encoder has token types to tell segments apart (`type_vocab_size` > 1:
    BERT, mBERT, e5-small); XLM-R has one, DistilBERT none, DeBERTa-v3 ignores them."""
    config = getattr(encoder, "config", None)
    return int(getattr(config, "type_vocab_size", 0) or 0) > 1


def encode(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
           output_hidden_states: bool = False, token_type_ids: torch.Tensor | None = None):
    """The encoder's output for a padded batch: over the real tokens only where the encoder's
    forward kind says so (models/forward.py: its mark, else `auto` for the inputs' device)
    and the encoder and the padding allow it, else Hugging Face's forward. `token_type_ids`
    (None: type 0 everywhere) reach only an encoder with token types (`token_types`); another
    one sees type 0 everywhere, as it always has."""
    if token_type_ids is not None and not token_types(encoder):
        token_type_ids = None
    if attention_mask is not None and _unpadded_kind(encoder, input_ids.device) \
            and supports_unpadded(encoder):
        on_cpu = attention_mask.cpu()  # one GPU sync; the packing is worked out from it
        if right_padded(on_cpu):
            return unpadded_forward(encoder, input_ids, on_cpu, output_hidden_states,
                                    token_type_ids)
    typed = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
    return encoder(input_ids=input_ids, attention_mask=attention_mask,
                   output_hidden_states=output_hidden_states, return_dict=True, **typed)


def _unpadded_kind(encoder: nn.Module, device: torch.device) -> bool:
    # The kind build_model marked the encoder with; an unmarked Hugging Face encoder (loaded
    # outside build_model) gets `auto`. A wrapper (the layer aggregation) has neither: its
    # own forward calls `encode` on the encoder inside.
    kind = forward_of(encoder)
    if kind is None and getattr(encoder, "config", None) is not None:
        kind = resolve_forward("auto", device, encoder)
    return kind == "unpadded"


def _unpack(x: torch.Tensor, packing: Packing) -> torch.Tensor:
    full = _scattered(x, packing.rows, packing.padding, packing.batch * packing.length)
    return full.view(packing.batch, packing.length, -1)


def unpadded_forward(encoder: nn.Module, input_ids: torch.Tensor,
                     attention_mask: torch.Tensor,
                     output_hidden_states: bool = False,
                     token_type_ids: torch.Tensor | None = None):
    """`encoder(input_ids, attention_mask, token_type_ids)` over the real tokens only (see the
    module doc); the caller checked `supports_unpadded(encoder)`."""
    from transformers.modeling_outputs import BaseModelOutput

    # Hugging Face's own embeddings module: word + position + token type embeddings (its
    # buffer of zeros when token_type_ids is None), LayerNorm, dropout.
    embedded = encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    layers = encoder.encoder.layer
    heads = layers[0].attention.self.num_attention_heads
    budget = CPU_GROUP_SCORES if embedded.device.type == "cpu" else None
    packing = pack(attention_mask, heads, budget, embedded.device)
    x = embedded.reshape(-1, embedded.shape[-1]).index_select(0, packing.rows)
    states = [embedded] if output_hidden_states else None
    for layer in layers:
        attended = _attention(layer, x, packing)
        out = layer.attention.output
        x = out.LayerNorm(out.dropout(out.dense(attended)) + x)
        out = layer.output
        x = out.LayerNorm(out.dropout(out.dense(layer.intermediate(x))) + x)
        if states is not None:
            states.append(_unpack(x, packing))
    last = states[-1] if states is not None else _unpack(x, packing)
    return BaseModelOutput(last_hidden_state=last,
                           hidden_states=tuple(states) if states is not None else None)
