"""One shared encoder with one head per task, and checkpoints that hold all of it.

A checkpoint folder is a Hugging Face model folder (`AutoModel.from_pretrained(folder)`
loads the encoder) plus `heads.safetensors` and `heads.json` describing the heads.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from xstilts.artifacts import write_json_atomic
from xstilts.formats import get_format

HEADS_WEIGHTS = "heads.safetensors"
HEADS_INFO = "heads.json"


class MultiTaskModel(nn.Module):
    """A shared encoder and a ModuleDict of task heads (keyed by head name)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.head_info: dict[str, dict] = {}

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def add_head(self, name: str, task) -> nn.Module:
        """Create a fresh head for `task` under `name` (kept if it exists: shared heads)."""
        if name not in self.heads:
            fmt = get_format(task.format)
            self.heads[name] = fmt.build_head(self.hidden_size, task)
            self.head_info[name] = {"format": task.format, "task": task.name,
                                    "labels": list(task.labels) if task.labels else None}
        return self.heads[name]

    def save(self, folder: Path, tokenizer) -> None:
        """Write the encoder (save_pretrained), tokenizer and heads into `folder`."""
        folder = Path(folder)
        self.encoder.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        tensors = {f"{name}.{k}": v.detach().contiguous().cpu()
                   for name, head in self.heads.items() for k, v in head.state_dict().items()}
        if tensors:
            save_file(tensors, str(folder / HEADS_WEIGHTS))
        write_json_atomic(folder / HEADS_INFO, self.head_info)

    def load_heads(self, folder: Path, tasks: dict) -> None:
        """Rebuild heads saved in `folder` (tasks: head name -> Task) and load their weights."""
        folder = Path(folder)
        info_path = folder / HEADS_INFO
        if not info_path.exists():
            return
        info = json.loads(info_path.read_text(encoding="utf-8"))
        weights = load_file(str(folder / HEADS_WEIGHTS)) if (folder / HEADS_WEIGHTS).exists() else {}
        for name in info:
            if name not in tasks:
                continue
            head = self.add_head(name, tasks[name])
            prefix = f"{name}."
            head.load_state_dict({k[len(prefix):]: v for k, v in weights.items()
                                  if k.startswith(prefix)})
