"""Token types reach encoders that have them, exactly as Hugging Face's forward takes them:
the unpadded forward adds BERT's token type embeddings as BertEmbeddings does, the layer
aggregation passes them on, and encoders with one type (XLM-R) see none."""

from __future__ import annotations

import pytest
import torch
from tests.formats.conftest import build_bert_encoder
from tests.models.test_unpadded import SIZES, padded_batch
from transformers import XLMRobertaConfig, XLMRobertaModel

from xstilts.models import unpadded
from xstilts.models.aggregation import LayerAggregatingEncoder, ScalarMix
from xstilts.models.unpadded import encode, token_types, unpadded_forward

LENGTHS = [7, 3, 12, 12, 1, 9]


def typed_batch():
    """Right-padded ids, mask, and BERT segment types: the second half of each row type 1."""
    ids, mask = padded_batch(LENGTHS, width=14, pad_id=0)
    types = torch.zeros_like(ids)
    for row, n in enumerate(LENGTHS):
        types[row, n // 2:n] = 1
    return ids, mask, types


def xlmr() -> XLMRobertaModel:
    """XLM-R's shape as released (and tiny-random's): one token type."""
    torch.manual_seed(0)
    config = XLMRobertaConfig(**SIZES, pad_token_id=1, type_vocab_size=1,
                              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return XLMRobertaModel(config, add_pooling_layer=False).eval()


@pytest.fixture()
def bert():
    return build_bert_encoder(vocab_size=120)


def test_which_encoders_take_token_types(bert):
    assert token_types(bert)  # type_vocab_size 2, as BERT, mBERT and e5-small
    assert not token_types(xlmr())  # type_vocab_size 1


@pytest.mark.parametrize("path", ["unpadded", "hugging_face"])
def test_outputs_with_token_types_equal_hugging_faces(bert, path, monkeypatch):
    if path == "hugging_face":  # encode() falls back on the model's own forward
        monkeypatch.setattr(unpadded, "supports_unpadded", lambda encoder: False)
    ids, mask, types = typed_batch()
    with torch.no_grad():
        theirs = bert(input_ids=ids, attention_mask=mask, token_type_ids=types,
                      output_hidden_states=True)
        ours = encode(bert, ids, mask, output_hidden_states=True, token_type_ids=types)
        untyped = encode(bert, ids, mask)
    real = mask.bool()
    for mine, reference in zip(ours.hidden_states, theirs.hidden_states, strict=True):
        assert torch.allclose(mine[real], reference[real], atol=1e-5)
    assert torch.allclose(ours.last_hidden_state[real], theirs.last_hidden_state[real],
                          atol=1e-5)
    # The types count: type 1 tokens differ from the same input all of type 0.
    second = real & (types == 1)
    assert not torch.allclose(untyped.last_hidden_state[second],
                              ours.last_hidden_state[second], atol=1e-3)


def test_unpadded_embeddings_add_the_token_type_embeddings(bert):
    ids, mask, types = typed_batch()
    with torch.no_grad():
        states = unpadded_forward(bert, ids, mask, output_hidden_states=True,
                                  token_type_ids=types).hidden_states
        emb = bert.embeddings
        positions = torch.arange(ids.shape[1])[None]
        expected = emb.LayerNorm(emb.word_embeddings(ids) + emb.position_embeddings(positions)
                                 + emb.token_type_embeddings(types))
    assert torch.allclose(states[0], expected, atol=1e-6)


def test_gradients_with_token_types_equal_hugging_faces(bert):
    ids, mask, types = typed_batch()
    weights = torch.randn(14, 32, generator=torch.Generator().manual_seed(2))
    grads = []
    for forward in (lambda: bert(input_ids=ids, attention_mask=mask,
                                 token_type_ids=types).last_hidden_state,
                    lambda: unpadded_forward(bert, ids, mask,
                                             token_type_ids=types).last_hidden_state):
        bert.zero_grad()
        ((forward() * weights).sum(-1) * mask).sum().backward()
        grads.append(bert.embeddings.token_type_embeddings.weight.grad.clone())
    assert grads[0][1].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_an_encoder_with_one_type_sees_none(monkeypatch):
    """XLM-R (type_vocab_size 1) cannot take type 1 (Hugging Face's forward fails on it):
    its output is the untyped one, in both paths."""
    model = xlmr()
    ids, mask = padded_batch(LENGTHS, width=14)
    ones = torch.ones_like(ids)
    with torch.no_grad():
        plain = encode(model, ids, mask).last_hidden_state
        assert torch.equal(encode(model, ids, mask, token_type_ids=ones).last_hidden_state,
                           plain)
        monkeypatch.setattr(unpadded, "supports_unpadded", lambda encoder: False)
        assert torch.allclose(encode(model, ids, mask, token_type_ids=ones).last_hidden_state,
                              model(input_ids=ids, attention_mask=mask).last_hidden_state)


def test_layer_aggregation_passes_the_token_types_on(bert):
    torch.manual_seed(3)
    mix = ScalarMix(bert.config.num_hidden_layers + 1)
    with torch.no_grad():
        mix.scalars.copy_(torch.randn_like(mix.scalars))
    model = LayerAggregatingEncoder(bert, mix)
    ids, mask, types = typed_batch()
    with torch.no_grad():
        theirs = bert(input_ids=ids, attention_mask=mask, token_type_ids=types,
                      output_hidden_states=True).hidden_states
        ours = encode(model, ids, mask, token_type_ids=types).last_hidden_state
    real = mask.bool()
    assert torch.allclose(ours[real], mix(theirs)[real], atol=1e-5)


@pytest.mark.e5
def test_e5_small_keeps_type_zero():
    """e5-small is a BERT (type_vocab_size 2) with XLM-R's tokenizer, which types every token
    0, as multilingual-e5-small's own XLMRobertaTokenizer: its features carry no types."""
    from transformers import AutoConfig, AutoTokenizer

    from xstilts.formats.tokenize import pair_types
    from xstilts.models.e5_small import ensure_e5_small

    folder = ensure_e5_small()
    assert AutoConfig.from_pretrained(folder).type_vocab_size == 2
    assert not pair_types(AutoTokenizer.from_pretrained(folder))
