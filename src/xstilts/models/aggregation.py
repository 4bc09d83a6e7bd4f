"""Layer aggregation (`encoder.layer_aggregation`): what the task heads see as token vectors.

`last`        the encoder's last layer, untouched: no wrapper is built at all.
`scalar_mix`  ELMo's scalar mix (Peters et al. 2018, arXiv 1802.05365, eq. 1): a softmax-
              normalised learned weight per hidden state (embeddings and every layer) and a
              learned scale gamma.
`attention`   attention over the layers, after Chen, Guo, Liu and Tao 2022, "Feature
              Aggregation in Zero-Shot Cross-Lingual Transfer Using Multilingual BERT"
              (arXiv 2205.08497); see `LayerAttention` for what was followed.

Either module runs inside `LayerAggregatingEncoder`, which replaces `last_hidden_state` with
the aggregate and passes `hidden_states` through unchanged (retrieval reads those), so every
head that reads `last_hidden_state` (classification, multiple choice, tagging, span QA,
MLM) sees the aggregate. The module's weights travel with the heads (models/multitask.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.models.unpadded import encode

KINDS = ("last", "scalar_mix", "attention")


def _check_count(kind: str, expected: int, hidden_states: Sequence[torch.Tensor]) -> None:
    if len(hidden_states) != expected:
        raise XstiltsError(
            f"encoder.layer_aggregation {kind!r}: built for {expected} hidden states, got "
            f"{len(hidden_states)}.\n  fix: use it with the encoder it was built for (a "
            "checkpoint's aggregation only fits that checkpoint's encoder).")


class ScalarMix(nn.Module):
    """gamma * sum_j softmax(s)_j * h_j over all hidden states (ELMo's scalar mix)."""

    def __init__(self, num_hidden_states: int):
        super().__init__()
        # Zeros: an even mix at the start, as in ELMo and AllenNLP's ScalarMix.
        self.scalars = nn.Parameter(torch.zeros(num_hidden_states))
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
        _check_count("scalar_mix", self.scalars.numel(), hidden_states)
        weights = torch.softmax(self.scalars, dim=0)
        mixed = sum(w * h for w, h in zip(weights, hidden_states, strict=True))
        return self.gamma * mixed


class LayerAttention(nn.Module):
    """Per token, the last layer attends over the lower layers; the result is added to it.

    Chen et al. 2022 (arXiv 2205.08497) fuse the hidden states of all of mBERT's layers with
    an attention-based "feature aggregation module", because the lower layers complement the
    last one. Only the paper's abstract could be consulted here (its method section was not
    retrievable), so this is the closest reading of that description, not their code:
    - query: the token's last-layer vector; keys and values: the same token's vectors in every
      lower hidden state (the embedding output and layers 1..L-1); multi-head scaled
      dot-product attention with the encoder's head count, learned Q/K/V projections;
    - the attended vector goes through an output projection and is added to the last layer
      (a residual: the lower layers complement it, as the abstract puts it).
    Our choices where the description is silent: the output projection starts at zero, so an
    untrained module returns the last layer exactly and fine-tuning starts where `last` does;
    no extra LayerNorm or dropout; attention is over layers only, never across positions.
    """

    def __init__(self, num_hidden_states: int, hidden_size: int, num_heads: int):
        super().__init__()
        if num_hidden_states < 2:
            raise XstiltsError("encoder.layer_aggregation 'attention' needs an encoder with at "
                               "least one layer.\n  fix: use 'last'.")
        if hidden_size % num_heads:
            num_heads = 1  # a head count that does not divide the width: one head
        self.num_hidden_states, self.num_heads = num_hidden_states, num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def layer_weights(self, hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
        """Attention over the lower hidden states: (batch, tokens, heads, lower states)."""
        last, lower = hidden_states[-1], torch.stack(tuple(hidden_states[:-1]), dim=2)
        b, t, width = last.shape
        d = width // self.num_heads
        q = self.query(last).view(b, t, self.num_heads, 1, d)
        k = self.key(lower).view(b, t, -1, self.num_heads, d).transpose(2, 3)
        scores = (q @ k.transpose(-1, -2)).squeeze(-2) / math.sqrt(d)
        return scores.softmax(-1)

    def forward(self, hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
        _check_count("attention", self.num_hidden_states, hidden_states)
        last, lower = hidden_states[-1], torch.stack(tuple(hidden_states[:-1]), dim=2)
        b, t, width = last.shape
        weights = self.layer_weights(hidden_states)  # (b, t, heads, n)
        v = self.value(lower).view(b, t, -1, self.num_heads, width // self.num_heads)
        mixed = torch.einsum("bthn,btnhd->bthd", weights, v).reshape(b, t, width)
        return last + self.output(mixed)


def build_aggregation(kind: str, config) -> nn.Module | None:
    """A fresh aggregation module for an encoder config; None for `last`."""
    n = int(config.num_hidden_layers) + 1  # hidden_states: the embeddings, then every layer
    if kind == "last":
        return None
    if kind == "scalar_mix":
        return ScalarMix(n)
    if kind == "attention":
        return LayerAttention(n, int(config.hidden_size), int(config.num_attention_heads))
    raise XstiltsError(f"encoder.layer_aggregation: unknown kind {kind!r}.\n  fix: use one of "
                       f"{', '.join(KINDS)}.")


class LayerAggregatingEncoder(nn.Module):
    """A Hugging Face encoder whose `last_hidden_state` is an aggregate of its layers."""

    def __init__(self, backbone: nn.Module, aggregation: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.aggregation = aggregation

    @property
    def config(self):
        return self.backbone.config

    def get_input_embeddings(self) -> nn.Module:
        """The backbone's word embeddings."""
        return self.backbone.get_input_embeddings()

    def forward(self, input_ids=None, attention_mask=None, output_hidden_states: bool = False,
                return_dict: bool = True, token_type_ids=None, **kwargs):
        if kwargs:  # what encode() does not pass: Hugging Face's forward takes it
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            out = self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                                output_hidden_states=True, return_dict=True, **kwargs)
        else:
            out = encode(self.backbone, input_ids, attention_mask, output_hidden_states=True,
                         token_type_ids=token_type_ids)
        fields = dict(out)
        fields["last_hidden_state"] = self.aggregation(out.hidden_states)
        if not output_hidden_states:  # the same fields a plain call would return
            fields.pop("hidden_states", None)
        return type(out)(**fields)
