"""Masked language modelling over plain text: continued multilingual MLM as an intermediate task.

Examples are {"id", "text"} (the `text` reader gives one per line). `mask_rate` (15%) of the
non-special tokens are selected (80% → mask token, 10% → random token, 10% unchanged), as in
BERT. Masking is dynamic, as in RoBERTa's continued pre-training: each training epoch draws new
masks from (`mask_seed`, example index, epoch) (`for_epoch`), so a resumed run sees the same
masks; dev features keep one fixed draw from (`mask_seed`, example index), so dev accuracy is
comparable between evaluations. The head starts as the checkpoint's own pretrained MLM head
where it has one of the same shape (models/mlm_head.py; its decoder is untied from the
word embeddings from then on), else fresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.formats.base import (
    IGNORE_INDEX,
    TaskFormat,
    pad_token_labels,
    padded_inputs,
    register_format,
    require_keys,
    token_logits,
    token_loss,
    write_lines,
)
from xstilts.formats.tokenize import in_chunks, token_ids

IGNORE = IGNORE_INDEX


def mask_tokens(ids: list[int], special: set[int], mask_id: int, vocab: int,
                rng: np.random.Generator, rate: float = 0.15) -> tuple[list[int], list[int]]:
    """BERT masking of one sequence: (inputs, labels with -100 where nothing is predicted)."""
    inputs, labels = list(ids), [IGNORE] * len(ids)
    candidates = [i for i, t in enumerate(ids) if t not in special]
    if not candidates:
        return inputs, labels
    n = max(1, int(round(rate * len(candidates))))
    for pos in rng.choice(candidates, size=min(n, len(candidates)), replace=False):
        labels[pos] = ids[pos]
        roll = rng.random()
        if roll < 0.8:
            inputs[pos] = mask_id
        elif roll < 0.9:
            inputs[pos] = int(rng.integers(0, vocab))
    return inputs, labels


@dataclass(frozen=True)
class Masking:
    """What re-masking a feature needs; one instance shared by all features of a featurize."""

    special: frozenset[int]
    mask_id: int
    vocab: int
    rate: float
    seed: int

    def mask(self, ids: list[int], *entropy: int) -> tuple[list[int], list[int]]:
        """mask_tokens with an RNG seeded by (seed, *entropy)."""
        rng = np.random.default_rng([self.seed, *entropy])
        return mask_tokens(ids, self.special, self.mask_id, self.vocab, rng, self.rate)


class MLMHead(nn.Module):
    """dense → GELU → LayerNorm → vocabulary projection (BERT's prediction head)."""

    def __init__(self, hidden_size: int, vocab_size: int):
        super().__init__()
        self.transform = nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.GELU(),
                                       nn.LayerNorm(hidden_size))
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden))


class MLMFormat(TaskFormat):
    name = "mlm"
    feature_fields = {"input_ids": "ints", "labels": "ints", "example_index": "int",
                      "tokens": "ints", "masking": "context"}
    required_keys = ("text",)

    def feature_context(self, tokenizer, task, max_length):
        """The one Masking every feature of a featurize call carries."""
        if tokenizer.mask_token_id is None:
            raise XstiltsError(
                f"task {task.name!r}: the tokenizer has no mask token, so MLM is impossible.\n"
                "  fix: use an encoder whose tokenizer defines `mask_token`."
            )
        return {"masking": Masking(frozenset(tokenizer.all_special_ids),
                                   int(tokenizer.mask_token_id), len(tokenizer),
                                   float(task.options.get("mask_rate", 0.15)),
                                   int(task.options.get("mask_seed", 0)))}

    def featurize(self, examples, tokenizer, task, max_length):
        masking = self.feature_context(tokenizer, task, max_length)["masking"]
        features = []
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                require_keys(ex, ("text",), task.name)
            rows = token_ids(tokenizer, [ex["text"] for ex in chunk], truncation=True,
                             max_length=max_length)
            for i, ids in enumerate(rows, start=lo):
                inputs, labels = masking.mask(ids, i)  # fixed: what dev is scored with
                features.append({"input_ids": inputs, "labels": labels, "example_index": i,
                                 "tokens": ids, "masking": masking})
        return features

    def for_epoch(self, feature, epoch):
        """Fresh masks for a training epoch, from (mask_seed, example index, epoch)."""
        inputs, labels = feature["masking"].mask(feature["tokens"], feature["example_index"],
                                                 epoch)
        return {**feature, "input_ids": inputs, "labels": labels}

    def collate(self, features, pad_id):
        batch = padded_inputs([f["input_ids"] for f in features], pad_id)
        batch["labels"] = pad_token_labels([f["labels"] for f in features],
                                           batch["input_ids"].shape[1])
        return batch

    def build_head(self, hidden_size, task):
        vocab = task.options.get("vocab_size")
        if not vocab:
            raise XstiltsError(f"task {task.name!r}: MLM needs the vocabulary size "
                               "(set by the pipeline from the tokenizer).")
        return MLMHead(hidden_size, int(vocab))

    def loss(self, encoder, head, batch):
        return token_loss(token_logits(encoder, head, batch), batch["labels"])

    def predict_batch(self, encoder, head, batch, task):
        best = token_logits(encoder, head, batch).argmax(-1)
        labels = batch["labels"]
        keep = labels != IGNORE
        return [(int((best[r][keep[r]] == labels[r][keep[r]]).sum()), int(keep[r].sum()))
                for r in range(labels.shape[0])]

    def decode(self, examples, features, outputs, task):
        return {examples[f["example_index"]]["id"]: out
                for f, out in zip(features, outputs, strict=True)}

    def score(self, examples, predictions, task, lang):
        right = sum(predictions[ex["id"]][0] for ex in examples)
        total = sum(predictions[ex["id"]][1] for ex in examples)
        return {"accuracy": 100.0 * right / max(1, total)}

    def write_predictions(self, examples, predictions, task, path):
        write_lines(path, [f"{predictions[ex['id']][0]}/{predictions[ex['id']][1]}"
                           for ex in examples])


register_format(MLMFormat())
