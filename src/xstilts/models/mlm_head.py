"""Start an MLM head from the encoder checkpoint's own pretrained MLM head.

`AutoModel` drops a checkpoint's MLM head, so its weights are read straight from the
checkpoint's safetensors files: XLM-R's `lm_head.{dense, layer_norm, decoder, bias}` or BERT's
`cls.predictions.{transform.dense, transform.LayerNorm, decoder, bias}`. The decoder weight is
usually tied to the word embeddings and then absent from the file: the encoder's input
embeddings are copied instead. A hub id is looked up in the local Hugging Face cache only
(where loading the encoder put its files); nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from safetensors import safe_open

logger = logging.getLogger(__name__)

# head parameter -> checkpoint names, first found wins (old BERT files say gamma/beta).
FAMILIES = {
    "XLM-R lm_head": {
        "transform.0.weight": ["lm_head.dense.weight"],
        "transform.0.bias": ["lm_head.dense.bias"],
        "transform.2.weight": ["lm_head.layer_norm.weight"],
        "transform.2.bias": ["lm_head.layer_norm.bias"],
        "decoder.weight": ["lm_head.decoder.weight"],
        "decoder.bias": ["lm_head.bias", "lm_head.decoder.bias"],
    },
    "BERT cls.predictions": {
        "transform.0.weight": ["cls.predictions.transform.dense.weight"],
        "transform.0.bias": ["cls.predictions.transform.dense.bias"],
        "transform.2.weight": ["cls.predictions.transform.LayerNorm.weight",
                               "cls.predictions.transform.LayerNorm.gamma"],
        "transform.2.bias": ["cls.predictions.transform.LayerNorm.bias",
                             "cls.predictions.transform.LayerNorm.beta"],
        "decoder.weight": ["cls.predictions.decoder.weight"],
        "decoder.bias": ["cls.predictions.bias", "cls.predictions.decoder.bias"],
    },
}
TIED = "decoder.weight"  # may be absent: tied to the input embeddings


def encoder_location(encoder) -> str:
    """Where the encoder was loaded from (a folder or hub id; '' if unknown)."""
    return str(getattr(encoder, "name_or_path", "")
               or getattr(encoder.config, "_name_or_path", "") or "")


def _cached(repo_id: str, filename: str) -> Path | None:
    """A hub file already in the local cache, else None (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, filename)
    except ValueError:  # not a valid repo id
        return None
    return Path(found) if isinstance(found, str) else None


def safetensors_files(location: str) -> list[Path]:
    """The checkpoint's safetensors files (one, or the shards of its index); [] if none."""
    folder = Path(location).expanduser()
    if folder.is_dir():
        def find(name):
            return folder / name if (folder / name).is_file() else None
    else:
        def find(name):
            return _cached(location, name)
    single = find("model.safetensors")
    if single:
        return [single]
    index = find("model.safetensors.index.json")
    if not index:
        return []
    shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    files = [find(s) for s in shards]
    return files if all(files) else []


def _read(files: list[Path], wanted: set[str]) -> dict[str, torch.Tensor]:
    out = {}
    for path in files:
        with safe_open(str(path), framework="pt") as f:
            for key in wanted & set(f.keys()):
                out[key] = f.get_tensor(key)
    return out


def pretrained_head_weights(encoder) -> tuple[dict[str, torch.Tensor] | None, str, str]:
    """(head state dict or None, family, why not) from the encoder's checkpoint files."""
    location = encoder_location(encoder)
    files = safetensors_files(location) if location else []
    if not files:
        return None, "", f"no safetensors weights found for {location or 'this encoder'!r}"
    every = {k for names in FAMILIES.values() for v in names.values() for k in v}
    found = _read(files, every)
    for family, names in FAMILIES.items():
        state = {}
        for param, keys in names.items():
            key = next((k for k in keys if k in found), None)
            if key is not None:
                state[param] = found[key]
        if set(state) | {TIED} == set(names):
            if TIED not in state:
                state[TIED] = encoder.get_input_embeddings().weight.detach()
            return state, family, ""
    return None, "", f"{location!r} has no MLM head (XLM-R lm_head or BERT cls.predictions)"


def load_pretrained_mlm_head(head, encoder, label: str = "MLM") -> bool:
    """Copy the checkpoint's MLM head into `head` where shapes fit; say once which happened."""
    state, family, why = pretrained_head_weights(encoder)
    config = encoder.config
    if state is not None and family.startswith("BERT") and config.hidden_act != "gelu":
        state, why = None, f"its activation is {config.hidden_act!r}, this head's is GELU"
    if state is not None:
        own = head.state_dict()
        wrong = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
                 if tuple(v.shape) != tuple(own[k].shape)]
        if wrong:  # e.g. a trimmed vocabulary
            state, why = None, "shapes differ: " + ", ".join(wrong[:2])
    if state is None:
        logger.info(f"{label} head: starting fresh ({why})")
        return False
    with torch.no_grad():
        head.load_state_dict({k: v.to(own[k].dtype).clone() for k, v in state.items()})
    # The pretrained LayerNorm's epsilon (XLM-R 1e-5, BERT 1e-12) goes with its weights.
    head.transform[2].eps = float(getattr(config, "layer_norm_eps", head.transform[2].eps))
    logger.info(f"{label} head: initialised from the pretrained {family} head of "
                f"{encoder_location(encoder)}")
    return True
