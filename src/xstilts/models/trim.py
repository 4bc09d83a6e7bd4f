"""Vocabulary trimming: keep only the pieces the run's data uses (plus specials), remap ids.

For a model like e5-small the word embeddings are 96M of ~118M parameters, most of them rows
the run never looks up. A trimmed copy tokenizes the run's texts identically (every piece the
full tokenizer chose is kept, so the best segmentation is unchanged) and trains much faster.
Supported: fast tokenizers whose model is Unigram, WordPiece or WordLevel (the XLM-R and
BERT families). A text outside the run's data may segment differently after trimming.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from torch import nn

from xstilts.artifacts import AtomicDir, cache_root, content_key
from xstilts.errors import XstiltsError
from xstilts.models.encoder import write_encoder_folder
from xstilts.progress import progress, stage

logger = logging.getLogger(__name__)


def used_token_ids(tokenizer, texts: list[str], batch: int = 2048) -> list[int]:
    """Sorted ids of every piece the tokenizer produces on `texts`, plus all special ids."""
    used = set(tokenizer.all_special_ids)
    with progress(total=len(texts), desc="trim vocabulary: tokenize", unit="text",
                  level=logging.DEBUG) as bar:
        for start in range(0, len(texts), batch):
            chunk = texts[start:start + batch]
            for ids in tokenizer(chunk, add_special_tokens=True)["input_ids"]:
                used.update(ids)
            bar.update(len(chunk))
    return sorted(used)


def _remap_tokenizer_json(spec: dict, keep: list[int]) -> dict:
    """A tokenizer.json whose vocabulary is `keep` (old ids), renumbered 0..len(keep)-1."""
    new_id = {old: new for new, old in enumerate(keep)}
    model = spec["model"]
    if model["type"] == "Unigram":
        model["vocab"] = [model["vocab"][old] for old in keep]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    elif model["type"] in ("WordPiece", "WordLevel"):
        by_id = {i: piece for piece, i in model["vocab"].items()}
        model["vocab"] = {by_id[old]: new for new, old in enumerate(keep)}
    else:
        raise XstiltsError(
            f"vocabulary trimming supports Unigram/WordPiece/WordLevel tokenizers, not "
            f"{model['type']}.\n  fix: set `encoder.trim_vocab: false`."
        )
    for added in spec.get("added_tokens", []):
        added["id"] = new_id[added["id"]]
    post = spec.get("post_processor") or {}
    processors = post.get("processors", [post]) if post.get("type") == "Sequence" else [post]
    for proc in processors:
        for special in (proc.get("special_tokens") or {}).values():
            special["ids"] = [new_id[i] for i in special["ids"]]
        for key in ("cls", "sep"):  # RobertaProcessing / BertProcessing: [token, id]
            if isinstance(proc.get(key), list):
                proc[key][1] = new_id[proc[key][1]]
    return spec


def trim_encoder(src: str, texts: list[str], out_dir: Path) -> int:
    """Write a trimmed copy of the model folder `src`; returns the new vocabulary size."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(src, use_fast=True)
    keep = used_token_ids(tokenizer, texts)
    model = AutoModel.from_pretrained(src)
    old = model.get_input_embeddings().weight.data
    index = torch.tensor(keep, dtype=torch.long)
    model.set_input_embeddings(nn.Embedding.from_pretrained(old[index].clone(), freeze=False))
    model.config.vocab_size = len(keep)
    new_id = {o: n for n, o in enumerate(keep)}
    for attr in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(model.config, attr, None)
        if value is not None and value in new_id:
            setattr(model.config, attr, new_id[value])
    write_encoder_folder(model, tokenizer, out_dir)
    spec_path = Path(out_dir) / "tokenizer.json"
    spec = _remap_tokenizer_json(json.loads(spec_path.read_text(encoding="utf-8")), keep)
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (Path(out_dir) / "trim.json").write_text(json.dumps(
        {"source": str(src), "kept": len(keep), "original": int(old.shape[0])}), encoding="utf-8")
    return len(keep)


def ensure_trimmed(src: str, texts: list[str], cache_dir: Path | None = None) -> Path:
    """The cached trimmed copy of `src` for these texts, built once (atomically)."""
    key = content_key({"src": str(src), "texts": sorted(set(texts)), "v": 1})
    folder = Path(cache_dir or cache_root()) / "encoders" / f"trimmed-{key}"
    if not (folder / "config.json").exists():
        with stage("trim vocabulary", unit="", level=None) as trimming, \
                AtomicDir(folder, first_wins=True) as tmp:
            kept = trim_encoder(src, texts, tmp)
        seconds = time.perf_counter() - trimming.started
        logger.info(f"trimmed vocabulary: {kept} pieces kept (those of the run's texts) in "
                    f"{seconds:.1f} s: {folder}")
    return folder
