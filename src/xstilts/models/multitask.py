"""One shared encoder with one head per task, and checkpoints that hold all of it.

A checkpoint folder is a Hugging Face model folder (`AutoModel.from_pretrained(folder)`
loads the encoder) plus `heads.safetensors` and `heads.json` describing the heads. A layer
aggregation other than `last` (models/aggregation.py) is stored with the heads under the
reserved name AGGREGATION_KEY: its weights prefixed by it, its kind in heads.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from xstilts.artifacts import write_json_atomic
from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.models.aggregation import LayerAggregatingEncoder, build_aggregation
from xstilts.models.forward import MARK, forward_of

HEADS_WEIGHTS = "heads.safetensors"
HEADS_INFO = "heads.json"
AGGREGATION_KEY = "__layer_aggregation__"


class MultiTaskModel(nn.Module):
    """A shared encoder and a ModuleDict of task heads (keyed by head name)."""

    # Parameters trained with the head learning rate (train/optim.py): the heads and the
    # layer aggregation, which both start fresh in every phase.
    HEAD_PREFIXES = ("heads.", "encoder.aggregation.")

    def __init__(self, encoder: nn.Module, layer_aggregation: str = "last"):
        super().__init__()
        aggregation = build_aggregation(layer_aggregation, encoder.config)
        # `last`: the encoder itself, so nothing about a default run changes.
        self.encoder = (encoder if aggregation is None
                        else LayerAggregatingEncoder(encoder, aggregation))
        self.layer_aggregation = layer_aggregation
        self.heads = nn.ModuleDict()
        self.head_info: dict[str, dict] = {}

    @property
    def backbone(self) -> nn.Module:
        """The plain Hugging Face encoder (what `save_pretrained` writes)."""
        if isinstance(self.encoder, LayerAggregatingEncoder):
            return self.encoder.backbone
        return self.encoder

    @property
    def aggregation(self) -> nn.Module | None:
        """The layer aggregation module; None for `last`."""
        return getattr(self.encoder, "aggregation", None)

    def set_encoder(self, encoder: nn.Module) -> None:
        """Swap in another Hugging Face encoder (a reloaded checkpoint), keeping the layer
        aggregation module (`load_heads` restores its weights) and the forward the old one
        was marked with (models/forward.py)."""
        kind = forward_of(self.backbone)
        if kind is not None and forward_of(encoder) is None:
            setattr(encoder, MARK, kind)
        if isinstance(self.encoder, LayerAggregatingEncoder):
            self.encoder.backbone = encoder
        else:
            self.encoder = encoder

    @property
    def hidden_size(self) -> int:
        return int(self.backbone.config.hidden_size)

    def add_head(self, name: str, task) -> nn.Module:
        """Create a fresh head for `task` under `name` (kept if it exists: shared heads)."""
        if name == AGGREGATION_KEY:
            raise XstiltsError(f"head name {name!r} is reserved for the layer aggregation.\n"
                               "  fix: give the task or shared head another name.")
        if name not in self.heads:
            fmt = get_format(task.format)
            self.heads[name] = fmt.build_head(self.hidden_size, task)
            self.head_info[name] = {"format": task.format, "task": task.name,
                                    "labels": list(task.labels) if task.labels else None}
        return self.heads[name]

    def save(self, folder: Path, tokenizer) -> None:
        """Write the encoder (save_pretrained), tokenizer, heads and aggregation into `folder`."""
        folder = Path(folder)
        self.backbone.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        modules = dict(self.heads.items())
        info = dict(self.head_info)
        if self.aggregation is not None:
            modules[AGGREGATION_KEY] = self.aggregation
            info[AGGREGATION_KEY] = {"kind": self.layer_aggregation}
        tensors = {f"{name}.{k}": v.detach().contiguous().cpu()
                   for name, module in modules.items() for k, v in module.state_dict().items()}
        if tensors:
            save_file(tensors, str(folder / HEADS_WEIGHTS))
        write_json_atomic(folder / HEADS_INFO, info)

    def load_head_weights(self, weights: dict[str, torch.Tensor],
                          names: list[str] | None = None) -> None:
        """Load the named heads (default: all) and the aggregation from a flat saved dict."""
        modules = {n: self.heads[n] for n in (self.heads if names is None else names)}
        if self.aggregation is not None:
            modules[AGGREGATION_KEY] = self.aggregation
        for name, module in modules.items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in weights.items()
                                    if k.startswith(prefix)})

    def load_heads(self, folder: Path, tasks: dict) -> None:
        """Rebuild heads saved in `folder` (tasks: head name -> Task) and load their weights,
        with the layer aggregation's."""
        folder = Path(folder)
        info_path = folder / HEADS_INFO
        if not info_path.exists():
            return
        info = json.loads(info_path.read_text(encoding="utf-8"))
        saved = info.pop(AGGREGATION_KEY, {}).get("kind", "last")
        if saved != self.layer_aggregation:
            raise XstiltsError(
                f"{folder}: saved with encoder.layer_aggregation {saved!r}, but this model uses "
                f"{self.layer_aggregation!r}.\n  fix: set `encoder.layer_aggregation: {saved}` "
                "to use this checkpoint.")
        weights = load_file(str(folder / HEADS_WEIGHTS)) if (folder / HEADS_WEIGHTS).exists() else {}
        names = [name for name in info if name in tasks]
        for name in names:
            self.add_head(name, tasks[name])
        self.load_head_weights(weights, names)
