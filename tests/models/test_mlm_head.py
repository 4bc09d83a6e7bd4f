"""The MLM head starts from the checkpoint's pretrained MLM head (XLM-R lm_head, BERT
cls.predictions): same weights, and the same logits as transformers' own *ForMaskedLM."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

from xstilts.formats.mlm import MLMFormat
from xstilts.models.encoder import load_encoder
from xstilts.models.mlm_head import load_pretrained_mlm_head
from xstilts.models.tiny_random import build_tokenizer
from xstilts.tasks.task import GeneratedSource, Task


@pytest.fixture(autouse=True)
def info_lines(caplog):
    caplog.set_level(logging.INFO, logger="xstilts")  # the head's one line is INFO


TEXTS = ["The Eiffel Tower is in Paris, the capital of France.",
         "Кремль находится в центре Москвы.", "长城位于中国北部。"]
ARCH = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "max_position_embeddings": 64}


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(TEXTS, vocab_size=200)


def save_mlm(folder, tokenizer, family: str, seed: int = 0):
    """A tiny *ForMaskedLM with random head weights (bias and LayerNorm too), saved as a
    Hugging Face folder with its tokenizer; returns the model (eval mode)."""
    from transformers import BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(seed)
    if family == "xlmr":
        config = XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=1, type_vocab_size=1,
                                  layer_norm_eps=1e-5, **ARCH)
        model = XLMRobertaForMaskedLM(config)
    else:
        config = BertConfig(vocab_size=len(tokenizer), pad_token_id=1, **ARCH)
        model = BertForMaskedLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lm_head" in name or "cls." in name:
                p.normal_(0.0, 0.5)  # nothing left at its default ones/zeros
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return model.eval()


def head_for(tokenizer, vocab: int | None = None):
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    task = Task(name="mlm", format="mlm", languages=["en"], source=source,
                options={"vocab_size": vocab or len(tokenizer)})
    return MLMFormat().build_head(ARCH["hidden_size"], task)


@pytest.mark.parametrize("family", ["xlmr", "bert"])
def test_head_equals_the_pretrained_head(tmp_path, tokenizer, family, caplog):
    mlm = save_mlm(tmp_path, tokenizer, family)
    encoder, tok = load_encoder(str(tmp_path))
    head = head_for(tok)
    assert load_pretrained_mlm_head(head, encoder) is True
    out = caplog.text
    assert out.count("initialised from the pretrained") == 1 and str(tmp_path) in out
    if family == "xlmr":
        src, emb = mlm.lm_head, mlm.roberta.embeddings.word_embeddings.weight
        dense, norm, bias = src.dense, src.layer_norm, src.bias
    else:
        src, emb = mlm.cls.predictions, mlm.bert.embeddings.word_embeddings.weight
        dense, norm, bias = src.transform.dense, src.transform.LayerNorm, src.bias
    assert torch.equal(head.transform[0].weight, dense.weight)
    assert torch.equal(head.transform[0].bias, dense.bias)
    assert torch.equal(head.transform[2].weight, norm.weight)
    assert torch.equal(head.transform[2].bias, norm.bias)
    assert head.transform[2].eps == norm.eps
    assert torch.equal(head.decoder.bias, bias)
    assert torch.equal(head.decoder.weight, emb)  # tied in the checkpoint: not in the file
    # Independent check: transformers' own MLM model gives the same logits.
    ids = tok(TEXTS[0], return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.eval()(**ids).last_hidden_state
        assert torch.allclose(head.eval()(hidden), mlm(**ids).logits, atol=1e-5)
    # The head owns its decoder: training it leaves the encoder's embeddings alone.
    assert head.decoder.weight.data_ptr() != encoder.get_input_embeddings().weight.data_ptr()


def test_no_pretrained_head_starts_fresh(tmp_path, tokenizer, caplog):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=1, **ARCH)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    encoder, tok = load_encoder(str(tmp_path))
    head = head_for(tok)
    before = {k: v.clone() for k, v in head.state_dict().items()}
    assert load_pretrained_mlm_head(head, encoder) is False
    assert "starting fresh" in caplog.text
    assert all(torch.equal(before[k], v) for k, v in head.state_dict().items())


def test_other_vocabulary_size_starts_fresh(tmp_path, tokenizer, caplog):
    save_mlm(tmp_path, tokenizer, "xlmr")
    encoder, tok = load_encoder(str(tmp_path))
    head = head_for(tok, vocab=len(tok) - 7)  # e.g. a trimmed vocabulary
    assert load_pretrained_mlm_head(head, encoder) is False
    out = caplog.text
    assert out.count("starting fresh") == 1 and "shapes differ" in out


def test_hub_id_found_in_the_local_cache_only(tmp_path, tokenizer, monkeypatch, caplog):
    from huggingface_hub import constants

    folder = tmp_path / "model"
    mlm = save_mlm(folder, tokenizer, "xlmr")
    cache = tmp_path / "hub"
    snapshot = cache / "models--someone--tiny-mlm" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    shutil.copy(folder / "model.safetensors", snapshot / "model.safetensors")
    (cache / "models--someone--tiny-mlm" / "refs").mkdir()
    (cache / "models--someone--tiny-mlm" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder, tok = load_encoder(str(folder))
    for hub_id, found in (("someone/tiny-mlm", True), ("someone/not-cached", False)):
        encoder.name_or_path = encoder.config._name_or_path = hub_id
        head = head_for(tok)
        assert load_pretrained_mlm_head(head, encoder) is found
        assert torch.equal(head.decoder.bias, mlm.lm_head.bias) is found
    assert "no safetensors weights found for 'someone/not-cached'" in caplog.text


def test_sharded_checkpoint(tmp_path, tokenizer):
    from transformers import XLMRobertaForMaskedLM

    mlm = save_mlm(tmp_path / "one", tokenizer, "xlmr")
    XLMRobertaForMaskedLM.from_pretrained(tmp_path / "one").save_pretrained(
        tmp_path / "sharded", max_shard_size="20KB")
    tokenizer.save_pretrained(tmp_path / "sharded")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    encoder, tok = load_encoder(str(tmp_path / "sharded"))
    head = head_for(tok)
    assert load_pretrained_mlm_head(head, encoder) is True
    assert torch.equal(head.transform[0].weight, mlm.lm_head.dense.weight)
