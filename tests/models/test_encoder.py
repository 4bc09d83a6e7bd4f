"""Loading encoders: resolution of names, attention-dropout override."""

from pathlib import Path

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


def _config(model_type: str, layers: int, **extra):
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, num_hidden_layers=layers, hidden_size=8,
                                num_attention_heads=2, intermediate_size=16, **extra)


@pytest.mark.parametrize(("model_type", "layers", "layer"), [
    ("xlm-roberta", 24, 14),  # XLM-R Large: jiant's retrieval_layer, XTREME's 13 of 24 layers
    ("xlm-roberta", 12, 8),   # XLM-R base
    ("bert", 12, 8),          # mBERT: XTREME's --specific_layer 7
    ("bert", 6, -1),          # no XTREME setting: the last layer
    ("electra", 12, -1),      # another family: the last layer
])
def test_retrieval_defaults_come_from_the_model_config(model_type, layers, layer):
    defaults = enc.encoder_defaults(_config(model_type, layers))
    assert (defaults.retrieval_layer, defaults.text_prefix) == (layer, "")


def test_the_e5_marker_not_the_name_gives_the_query_prefix():
    marked = _config("bert", 12, **{enc.FAMILY_KEY: "e5"})
    assert enc.encoder_defaults(marked) == enc.EncoderDefaults(-1, "query: ")


def test_max_positions_subtracts_robertas_offset_and_reads_the_tokenizer():
    assert enc.max_positions(_config("xlm-roberta", 2, max_position_embeddings=514)) == 512
    assert enc.max_positions(_config("bert", 2, max_position_embeddings=512)) == 512

    class Tok:
        model_max_length = 256

    assert enc.max_positions(_config("bert", 2, max_position_embeddings=512), Tok()) == 256
    Tok.model_max_length = int(1e30)  # transformers' "no limit"
    assert enc.max_positions(_config("bert", 2, max_position_embeddings=512), Tok()) == 512


def test_tiny_random_builds_identically_from_the_same_text(tmp_path):
    # Content keys hash the encoder's files: two builds must be byte-identical (in two
    # processes: the trainer's hash maps are seeded per process). Enough text for the
    # trainer's single characters to tie.
    import hashlib
    import os
    import subprocess
    import sys

    build = ("import sys\nfrom pathlib import Path\n"
             "from xstilts.models.tiny_random import ensure_tiny_random\n"
             "from xstilts.tasks.demo.gen_pairs import generate_nli\n"
             "texts = [e['text_a'] + ' ' + e['text_b'] for e in generate_nli('train', 'en', 300, 0)]\n"
             "print(ensure_tiny_random(texts, seed=0, cache_dir=Path(sys.argv[1])))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    folders = [Path(subprocess.run([sys.executable, "-c", build, str(tmp_path / name)],
                                   env=env, capture_output=True, text=True, check=True
                                   ).stdout.strip().splitlines()[-1]) for name in ("a", "b")]
    digests = [{f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                for f in sorted(folder.iterdir())} for folder in folders]
    assert digests[0] == digests[1]
    assert {"tokenizer.json", "model.safetensors", "config.json"} <= set(digests[0])
