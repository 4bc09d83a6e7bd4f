"""The model a phase trains or evaluates: the encoder loaded, frozen where the settings say,
marked with its forward, under a multi-task model that holds the heads."""

from __future__ import annotations

import torch

from xstilts.config import EncoderConfig
from xstilts.errors import XstiltsError
from xstilts.models.forward import use_forward
from xstilts.models.kept import load_encoder_isolated, load_start_encoder
from xstilts.models.multitask import MultiTaskModel


def freeze_bottom_layers(encoder, n: int) -> None:
    """Freeze the embeddings and the bottom n layers: no backward pass through them (CPU)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None or n > len(layers):
        raise XstiltsError(
            f"encoder.freeze_layers: {n} but the encoder has "
            f"{len(layers) if layers is not None else 'no recognisable'} layers.\n  fix: use a "
            "number up to the layer count (BERT/XLM-R-style encoders), or 0."
        )
    for module in [encoder.embeddings, *layers[:n]]:
        module.requires_grad_(False)


def build_model(location: str, encoder_config: EncoderConfig, keep: bool = False,
                device: torch.device | str | None = None):
    """Load the encoder for a phase (with a fresh layer aggregation, if any); freeze what
    the encoder settings say; mark it with the forward that runs it on `device` (default:
    the GPU when there is one; models/forward.py). `keep`: a start encoder, kept in memory
    for the next job that starts from it (models/kept.py); either way the load draws no
    random numbers."""
    load = load_start_encoder if keep else load_encoder_isolated
    encoder, tokenizer = load(location, encoder_config.trust_remote_code,
                              encoder_config.attention_dropout)
    use_forward(encoder, encoder_config.forward,
                device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if encoder_config.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if encoder_config.freeze_layers:
        freeze_bottom_layers(encoder, encoder_config.freeze_layers)
    return MultiTaskModel(encoder, encoder_config.layer_aggregation), tokenizer


def backbone_of(encoder_model):
    # The Hugging Face encoder inside a layer aggregation (the module build_model marked).
    return getattr(encoder_model, "backbone", encoder_model)
