"""Vocabulary trimming keeps tokenization and outputs identical on the run's texts."""

import json

import torch
from transformers import AutoModel, AutoTokenizer

from xstilts.models.tiny_random import ensure_tiny_random
from xstilts.models.trim import ensure_trimmed

TEXTS = ["Anna Petrova lives in Madrid.", "Анна Петрова живёт в Мадриде.", "安娜住在马德里。",
         "آنا تعيش في مدريد.", "The quick brown fox jumps over the lazy dog."]


def test_trimmed_copy_tokenizes_and_encodes_identically(tmp_path):
    full = ensure_tiny_random(TEXTS * 3 + ["many other words that the run never uses"] * 3,
                              cache_dir=tmp_path)
    run_texts = TEXTS[:4]
    trimmed = ensure_trimmed(str(full), run_texts, cache_dir=tmp_path)
    tok_a, tok_b = AutoTokenizer.from_pretrained(full), AutoTokenizer.from_pretrained(trimmed)
    model_a, model_b = AutoModel.from_pretrained(full), AutoModel.from_pretrained(trimmed)
    assert len(tok_b) < len(tok_a)
    assert model_b.config.vocab_size == len(tok_b)
    assert model_b.config.pad_token_id == tok_b.pad_token_id == 1  # specials keep their ids
    info = json.loads((trimmed / "trim.json").read_text())
    assert info["kept"] == len(tok_b) and info["original"] == len(tok_a)
    for text in run_texts + [(run_texts[0], run_texts[1])]:
        args = text if isinstance(text, tuple) else (text,)
        a, b = tok_a(*args, return_tensors="pt"), tok_b(*args, return_tensors="pt")
        assert (tok_a.convert_ids_to_tokens(a["input_ids"][0])
                == tok_b.convert_ids_to_tokens(b["input_ids"][0]))
        with torch.no_grad():
            ha = model_a(**a).last_hidden_state
            hb = model_b(**b).last_hidden_state
        assert torch.allclose(ha, hb, atol=1e-6)
    # Built once: a second call returns the same folder without rebuilding.
    stamp = (trimmed / "model.safetensors").stat().st_mtime_ns
    assert ensure_trimmed(str(full), run_texts, cache_dir=tmp_path) == trimmed
    assert (trimmed / "model.safetensors").stat().st_mtime_ns == stamp


def test_the_cache_builders_write_whole_folders_on_any_rank_of_a_launch(tmp_path, monkeypatch):
    # Rank 1 of a data-parallel launch: a process group exists and this is not rank 0, where
    # transformers' save_pretrained writes no weights and no config (tokenizer files only).
    # Every rank builds the cache entries it needs, and any rank's copy may be the one kept.
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda group=None: 1)
    full = ensure_tiny_random(TEXTS * 3 + ["words the run never uses"] * 3, cache_dir=tmp_path)
    trimmed = ensure_trimmed(str(full), TEXTS[:2], cache_dir=tmp_path)
    monkeypatch.undo()
    for folder in (full, trimmed):
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
            p.name for p in folder.iterdir()}, folder
    model, tokenizer = AutoModel.from_pretrained(trimmed), AutoTokenizer.from_pretrained(trimmed)
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.architectures == ["XLMRobertaModel"]
