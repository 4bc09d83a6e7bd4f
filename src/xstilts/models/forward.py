"""Which forward runs the encoder: Hugging Face's own (`hf`) or the one over real tokens only
(`unpadded`, models/unpadded.py), from the `encoder.forward` setting (auto | hf | unpadded).

`resolve_forward` is the one rule. It runs once per run, before any work, on the model's
config (study/run.py: the kind goes into every job key and into results.json), and once per
loaded encoder (models/build.py `build_model`: `use_forward` marks the encoder with the kind, and
models/unpadded.py `encode`, which every format and the layer aggregation call, reads the
mark). An encoder without a mark (loaded outside build_model) gets `auto` for the device its
inputs are on.
"""

from __future__ import annotations

from xstilts.errors import XstiltsError

SETTINGS = ("auto", "hf", "unpadded")
# The attribute build_model sets on the Hugging Face encoder module: the kind that runs it.
MARK = "xstilts_forward"
# Architectures whose layers are BERT's (query/key/value, attention output, intermediate,
# output); models/unpadded.py checks the modules as well.
BERT_SHAPED = ("bert", "roberta", "xlm-roberta", "camembert")


def default_device() -> str:
    """The GPU when there is one (torch is imported to ask)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_type(device) -> str:
    """'cpu', 'cuda', ... of a torch.device or its name ('cuda:1')."""
    return getattr(device, "type", None) or str(device).split(":")[0]


def resolve_forward(setting: str, device, encoder, compiled: bool = False,
                    where: str = "encoder.forward") -> str:
    """The forward that runs `encoder` ('hf' or 'unpadded') for the `setting` on `device`
    (a torch.device or its name). `encoder`: a loaded Hugging Face model or its config.
    `compiled`: training compiles the encoder (training.compile), which keeps HF's forward.

    auto: the unpadded forward on a CPU where it supports the encoder (it skips the padding's
    compute), else Hugging Face's (on CUDA with PyTorch's SDPA kernels: `use_forward`).
    hf: always Hugging Face's. unpadded: the unpadded one; an XstiltsError (naming `where`)
    for an encoder or a setting it cannot run."""
    if setting not in SETTINGS:
        raise XstiltsError(f"{where}: {setting!r} is not a forward.\n  fix: use one of "
                           f"{', '.join(SETTINGS)}.")
    if setting == "hf":
        return "hf"
    if compiled:
        if setting == "unpadded":
            raise XstiltsError(
                f"{where}: unpadded, but training.compile is on, and a compiled encoder keeps "
                "Hugging Face's forward (the compiled one).\n  fix: set `training.compile: "
                "false`, or `encoder.forward: auto` (or hf).")
        return "hf"
    why = unpadded_refusal(encoder)
    if setting == "unpadded":
        if why:
            raise XstiltsError(
                f"{where}: unpadded, but the unpadded forward cannot run this encoder: {why}. "
                f"It runs transformers' own {', '.join(BERT_SHAPED)} models with absolute "
                "positions (not a decoder).\n  fix: set `encoder.forward: auto` (or hf) to "
                "run Hugging Face's forward, or choose a BERT-shaped encoder.")
        return "unpadded"
    return "unpadded" if device_type(device) == "cpu" and why is None else "hf"


def unpadded_refusal(encoder) -> str | None:
    """Why the unpadded forward cannot run `encoder` (a loaded model or its config); None
    where it can."""
    if hasattr(encoder, "named_modules"):  # a loaded model; a config needs no torch here
        from xstilts.models.unpadded import supports_unpadded

        config = getattr(encoder, "config", None)
        why = config_refusal(config) if config is not None else "no Hugging Face config"
        if why is None and not supports_unpadded(encoder):
            why = ("its modules are not transformers' BERT layers, or it is compiled or "
                   "checkpoints activations")
        return why
    return config_refusal(encoder)


def config_refusal(config) -> str | None:
    """Why a model config rules the unpadded forward out; None where it does not."""
    model_type = getattr(config, "model_type", None)
    if model_type not in BERT_SHAPED:
        return f"model type {model_type!r}"
    if "AutoModel" in (getattr(config, "auto_map", None) or {}):  # remote code's own forward
        return "its config names a model class of its own (auto_map: trust_remote_code)"
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "a decoder"
    positions = getattr(config, "position_embedding_type", "absolute")
    if positions not in (None, "absolute"):
        return f"{positions} position embeddings"
    if getattr(config, "chunk_size_feed_forward", 0):
        return "chunked feed-forward layers"
    return None


def use_forward(encoder, setting: str, device, where: str = "encoder.forward") -> str:
    """Resolve `setting` for a loaded Hugging Face encoder on `device` and mark the encoder
    with the kind (what `encode` runs); Hugging Face's forward on CUDA asks for PyTorch's SDPA
    attention (flash / memory-efficient kernels where torch picks them) where the model has
    it. Returns the kind."""
    kind = resolve_forward(setting, device, encoder, where=where)
    setattr(encoder, MARK, kind)
    if kind == "hf" and device_type(device) == "cuda":
        prefer_sdpa(encoder)
    return kind


def prefer_sdpa(encoder) -> None:
    """`attn_implementation="sdpa"` on a loaded model that supports it (transformers already
    picks it by default where it can; this undoes an eager choice)."""
    config = getattr(encoder, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) == "sdpa":
        return
    if getattr(encoder, "_supports_sdpa", False) and hasattr(encoder, "set_attn_implementation"):
        encoder.set_attn_implementation("sdpa")


def forward_of(encoder) -> str | None:
    """The kind `use_forward` marked `encoder` with (None: not marked)."""
    return getattr(encoder, MARK, None)


def attention_of(encoder) -> str | None:
    """Hugging Face's attention implementation of a loaded model (sdpa, eager, ...)."""
    return getattr(getattr(encoder, "config", None), "_attn_implementation", None)
