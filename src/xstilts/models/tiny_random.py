"""`tiny-random`: an XLM-R-architecture encoder with random weights, built locally in seconds.

Its tokenizer is a SentencePiece-style Unigram model trained with `tokenizers` on the text
the run will see, so tests and quick starts need no download and no pretrained vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

from xstilts.artifacts import AtomicDir, cache_root, content_key
from xstilts.models.encoder import write_encoder_folder

TINY_RANDOM_NAME = "tiny-random"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, mask appended
# Always-present text so that a tiny corpus still yields a usable vocabulary.
_SEED_TEXT = ["The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 ? ! , ."]
ARCH = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 128, "max_position_embeddings": 514}


def build_tokenizer(texts: Iterable[str], vocab_size: int = 4000, pre_tokenizer=None,
                    seed_text: bool = True) -> PreTrainedTokenizerFast:
    """A Unigram tokenizer with XLM-R's conventions (Metaspace ▁, <s> A </s></s> B </s>),
    trained on `texts` (and a few built-in multilingual lines unless seed_text is False)."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizer or pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                      unk_token="<unk>", show_progress=False)
    tok.train_from_iterator((list(_SEED_TEXT) if seed_text else []) + list(texts), trainer)
    tok = _canonical(tok)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", mask_token="<mask>")


TIE = 1e-3  # scores closer than this are one tie (the trainer's required characters)


def _canonical(tok: Tokenizer) -> Tokenizer:
    """The trained vocabulary in a fixed order with rounded scores: the trainer breaks ties
    in hash-map order and sums floats in varying order, so two builds from the same text
    differed (and so did every content key computed from the encoder's files). Its required
    single characters get scores a step apart in hash-map order: each such run of near-equal
    scores gets its mean (the same numbers, so the same mean) and is sorted by piece."""
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    specials, pieces = vocab[: len(SPECIALS)], vocab[len(SPECIALS):]
    pieces = sorted(([piece, score] for piece, score in pieces), key=lambda item: -item[1])
    runs: list[list[list]] = []
    for item in pieces:
        if runs and runs[-1][-1][1] - item[1] < TIE:
            runs[-1].append(item)
        else:
            runs.append([item])
    canonical = []
    for run in runs:
        score = round(sum(s for _, s in run) / len(run), 4)
        canonical += sorted([piece, score] for piece, _ in run)
    spec["model"]["vocab"] = specials + canonical
    return Tokenizer.from_str(json.dumps(spec))


def build_tiny_random(texts: list[str], out_dir: Path, seed: int = 0) -> None:
    """Write a loadable Hugging Face folder (config, safetensors weights, tokenizer)."""
    tokenizer = build_tokenizer(texts)
    config = XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=1, bos_token_id=0,
                              eos_token_id=2, type_vocab_size=1, **ARCH)
    torch.manual_seed(seed)
    model = XLMRobertaModel(config, add_pooling_layer=False)
    write_encoder_folder(model, tokenizer, out_dir)


def ensure_tiny_random(texts: list[str], seed: int = 0, cache_dir: Path | None = None) -> Path:
    """The cached tiny-random folder for this text and seed, built once (atomically)."""
    key = content_key({"texts": sorted(set(texts)), "seed": seed, "arch": ARCH, "v": 2})
    folder = Path(cache_dir or cache_root()) / "encoders" / f"tiny-random-{key}"
    if not (folder / "config.json").exists():
        with AtomicDir(folder, first_wins=True) as tmp:
            build_tiny_random(texts, tmp, seed)
    return folder
