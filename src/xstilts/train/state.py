"""Full training state in a checkpoint: weights, optimiser, scheduler, sampler, data order, RNGs.

Weights are safetensors; the optimiser/scheduler/RNG file is written by xstilts itself and
read back with `weights_only=True` (no arbitrary unpickling).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from xstilts.artifacts import AtomicDir, write_json_atomic
from xstilts.errors import XstiltsError
from xstilts.models.multitask import HEADS_WEIGHTS

STATE_JSON = "training_state.json"
OPTIM_FILE = "optimizer.pt"


def save_training_state(folder: Path, model, tokenizer, optimizer, scheduler, sampler,
                        streams: dict, state: dict) -> None:
    """Write everything needed to resume into `folder`, atomically."""
    with AtomicDir(folder) as tmp:
        model.save(tmp, tokenizer)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state()}, tmp / OPTIM_FILE)
        write_json_atomic(tmp / STATE_JSON, {
            **state,
            "sampler": sampler.state(),
            "streams": {n: [s.epoch, s.position] for n, s in streams.items()},
        })


def load_training_state(folder: Path, model, optimizer, scheduler, sampler,
                        streams: dict) -> dict:
    """Restore a `save_training_state` folder into live objects; returns the loop state."""
    folder = Path(folder)
    info = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    # Not strict about buffers save_pretrained leaves out; strict about every parameter.
    missing, unexpected = model.backbone.load_state_dict(weights, strict=False)
    params = dict(model.backbone.named_parameters())
    missing = [k for k in missing if k in params]
    if missing or unexpected:
        raise XstiltsError(
            f"{folder}: the saved training state does not fit this encoder (missing "
            f"{missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected "
            f"{unexpected[:3]}{'...' if len(unexpected) > 3 else ''}).\n  fix: resume with "
            "the encoder settings it was saved with, or delete that folder to start over."
        )
    heads = load_file(str(folder / HEADS_WEIGHTS)) if (folder / HEADS_WEIGHTS).exists() else {}
    model.load_head_weights(heads)  # every head, and the layer aggregation if any
    blob = torch.load(folder / OPTIM_FILE, weights_only=True)
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["torch_rng"])
    sampler.load_state(info["sampler"])
    for name, (epoch, position) in info["streams"].items():
        streams[name].epoch, streams[name].position = epoch, position
    return {k: info[k] for k in ("step", "best_score", "bad_evals", "history", "done")}
