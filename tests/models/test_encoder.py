"""Loading encoders: resolution of names, attention-dropout override."""

import pytest
import torch

from xstilts.errors import XstiltsError
from xstilts.models import encoder as enc
from xstilts.models.tiny_random import ensure_tiny_random


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(ensure_tiny_random(["a small test sentence"], seed=0,
                                  cache_dir=tmp_path_factory.mktemp("cache")))


def _dropout_rates(model) -> tuple[set[float], set[float]]:
    """(rates on attention probabilities, all other dropout rates) of a BERT-style encoder."""
    attention, other = set(), set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Dropout):
            (attention if name.endswith("attention.self.dropout") else other).add(module.p)
    return attention, other


def test_attention_dropout_override_reaches_the_model(tiny):
    default, _ = enc.load_encoder(tiny)
    assert _dropout_rates(default) == ({0.1}, {0.1})
    model, _ = enc.load_encoder(tiny, attention_dropout=0.0)
    assert model.config.attention_probs_dropout_prob == 0.0
    assert _dropout_rates(model) == ({0.0}, {0.1})  # hidden dropout stays as it was


def test_attention_dropout_on_an_unknown_architecture_is_a_clear_error(tiny, monkeypatch):
    monkeypatch.setattr(enc, "ATTENTION_DROPOUT_KEYS", ("no_such_key",))
    with pytest.raises(XstiltsError, match=r"(?s)encoder\.attention_dropout: .*fix: remove"):
        enc.load_encoder(tiny, attention_dropout=0.0)
