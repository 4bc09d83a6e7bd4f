"""`encoder.forward`: which forward runs the encoder (models/forward.py), and that both give
Hugging Face's numbers."""

from __future__ import annotations

import copy

import pytest
import torch
from tests.models.test_unpadded import SIZES
from transformers import (
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    XLMRobertaConfig,
)

from xstilts.config import EncoderConfig
from xstilts.errors import XstiltsError
from xstilts.models import unpadded
from xstilts.models.encoder import load_encoder, resolve_encoder
from xstilts.models.forward import (
    MARK,
    attention_of,
    config_refusal,
    forward_of,
    resolve_forward,
    use_forward,
)
from xstilts.models.unpadded import encode

LENGTHS = [7, 3, 12, 12, 1, 9]
TEXTS = ["the quick brown fox jumps over the lazy dog", "der schnelle braune Fuchs"]


def no_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def small_bert() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(**SIZES, hidden_dropout_prob=0.0,
                                attention_probs_dropout_prob=0.0))


def tiny_random() -> torch.nn.Module:
    """The real tiny-random (XLM-R's architecture), dropout off."""
    return no_dropout(load_encoder(resolve_encoder("tiny-random", TEXTS))[0])


def e5_small() -> torch.nn.Module:
    from xstilts.models.e5_small import ensure_e5_small

    return no_dropout(load_encoder(ensure_e5_small())[0])


def batch(vocab: int, pad_id: int):
    width = max(LENGTHS)
    ids = torch.randint(5, vocab, (len(LENGTHS), width), generator=torch.Generator().manual_seed(1))
    mask = (torch.arange(width)[None] < torch.tensor(LENGTHS)[:, None]).long()
    return ids.masked_fill(mask == 0, pad_id), mask


def outputs_and_gradients(model, kind: str, ids, mask):
    model = copy.deepcopy(model).train()
    assert use_forward(model, kind, "cpu") == kind
    weights = torch.randn(*ids.shape, model.config.hidden_size,
                          generator=torch.Generator().manual_seed(2))
    out = encode(model, ids, mask, output_hidden_states=True)
    (out.last_hidden_state * weights * mask[..., None]).sum().backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    return out, grads


@pytest.mark.parametrize("build", [
    tiny_random, small_bert, pytest.param(e5_small, marks=pytest.mark.e5)])
def test_both_forwards_give_the_same_outputs_and_gradients(build):
    model = build()
    ids, mask = batch(model.config.vocab_size, model.config.pad_token_id or 0)
    (theirs, their_grads), (ours, our_grads) = (
        outputs_and_gradients(model, kind, ids, mask) for kind in ("hf", "unpadded"))
    real = mask.bool()
    # Hugging Face's forward computes the padding positions too; the unpadded one leaves
    # zeros there: which one ran shows.
    assert theirs.last_hidden_state[~real].abs().sum() > 0
    assert not ours.last_hidden_state[~real].any()
    for mine, reference in zip(ours.hidden_states, theirs.hidden_states, strict=True):
        assert torch.allclose(mine[real], reference[real], atol=1e-4)
    assert our_grads.keys() == their_grads.keys() and len(our_grads) > 20
    for name, grad in their_grads.items():
        assert torch.allclose(our_grads[name], grad, atol=1e-4, rtol=1e-3), name


def test_auto_is_unpadded_on_a_cpu_and_hugging_faces_with_sdpa_on_cuda():
    model = small_bert()
    assert resolve_forward("auto", "cpu", model) == "unpadded"
    assert resolve_forward("auto", torch.device("cpu"), model.config) == "unpadded"
    # The device is only a name here: no GPU math runs.
    assert resolve_forward("auto", torch.device("cuda"), model) == "hf"
    assert resolve_forward("auto", "cuda:1", model.config) == "hf"
    assert resolve_forward("hf", "cpu", model) == "hf"
    assert resolve_forward("unpadded", "cuda", model) == "unpadded"
    # training.compile keeps Hugging Face's (compiled) forward.
    assert resolve_forward("auto", "cpu", model, compiled=True) == "hf"
    on_gpu = copy.deepcopy(model)
    on_gpu.set_attn_implementation("eager")  # as an older transformers might load it
    assert use_forward(on_gpu, "auto", torch.device("cuda")) == "hf"
    assert forward_of(on_gpu) == "hf" and attention_of(on_gpu) == "sdpa"
    on_cpu = copy.deepcopy(model)
    assert use_forward(on_cpu, "auto", "cpu") == "unpadded" and forward_of(on_cpu) == "unpadded"


def test_auto_falls_back_to_hugging_faces_where_unpadded_cannot_run():
    distil = DistilBertModel(DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=4,
                                              hidden_dim=64))
    relative = BertConfig(**SIZES, position_embedding_type="relative_key")
    for encoder in (distil, distil.config, relative):
        assert resolve_forward("auto", "cpu", encoder) == "hf"
    assert config_refusal(relative) == "relative_key position embeddings"
    assert config_refusal(XLMRobertaConfig(**SIZES)) is None
    remote = BertConfig(**SIZES, auto_map={"AutoModel": "modeling.MyBert"})
    assert "auto_map" in config_refusal(remote)


@pytest.mark.parametrize("encoder", [
    DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=4, hidden_dim=64),
    BertConfig(**SIZES, position_embedding_type="relative_key")])
def test_unpadded_is_refused_clearly_where_it_cannot_run(encoder):
    with pytest.raises(XstiltsError, match=r"(?s)c\.yaml:3: encoder\.forward: unpadded, but "
                                           r"the unpadded forward cannot run.*fix: set "
                                           r"`encoder\.forward: auto`"):
        resolve_forward("unpadded", "cpu", encoder, where="c.yaml:3: encoder.forward")
    with pytest.raises(XstiltsError, match=r"(?s)training\.compile is on.*fix: set "
                                           r"`training\.compile: false`"):
        resolve_forward("unpadded", "cpu", small_bert(), compiled=True)


def test_encode_follows_the_mark_and_an_unmarked_encoder_gets_auto(monkeypatch):
    model = small_bert().eval()
    ids, mask = batch(120, 0)
    calls = []
    real_forward = unpadded.unpadded_forward
    monkeypatch.setattr(unpadded, "unpadded_forward",
                        lambda *a, **k: calls.append(1) or real_forward(*a, **k))
    with torch.no_grad():
        encode(model, ids, mask)  # unmarked, CPU inputs: auto = unpadded
        assert calls == [1]
        setattr(model, MARK, "hf")
        encode(model, ids, mask)
        assert calls == [1]
        setattr(model, MARK, "unpadded")
        encode(model, ids, mask)
        assert calls == [1, 1]


def test_build_model_marks_the_encoder_for_its_device():
    from xstilts.models.aggregation import LayerAggregatingEncoder
    from xstilts.models.build import build_model

    location = resolve_encoder("tiny-random", TEXTS)
    model, _ = build_model(location, EncoderConfig(), device="cpu")
    assert forward_of(model.backbone) == "unpadded"
    model, _ = build_model(location, EncoderConfig(forward="hf"), device="cpu")
    assert forward_of(model.backbone) == "hf"
    model, _ = build_model(location, EncoderConfig(layer_aggregation="scalar_mix"),
                           device=torch.device("cuda"))  # loaded on the CPU: no GPU needed
    assert isinstance(model.encoder, LayerAggregatingEncoder)
    assert forward_of(model.backbone) == "hf" and attention_of(model.backbone) == "sdpa"
