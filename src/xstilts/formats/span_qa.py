"""Extractive question answering: predict the answer's start and end token (SQuAD, XQuAD, MLQA).

Long contexts are cut into overlapping windows ("features"); each window scores every token as a
start and an end, and decoding picks the best legal span over all windows of an example.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xstilts.artifacts import write_json_atomic
from xstilts.errors import XstiltsError
from xstilts.evaluate.metrics import mlqa_scores, squad_scores
from xstilts.formats.base import (
    TaskFormat,
    encode_inputs,
    padded_inputs,
    register_format,
    require_keys,
)

CHUNK = 1000  # examples per tokenizer call: bounds memory on SQuAD-sized splits


def qa_options(task, max_length: int) -> dict:
    """The task's span-QA options, with defaults."""
    opts = task.options
    return {
        "doc_stride": int(opts.get("doc_stride", min(128, max_length // 4))),
        "max_query_length": int(opts.get("max_query_length", 64)),
        "max_answer_length": int(opts.get("max_answer_length", 30)),
        "n_best": int(opts.get("n_best", 20)),
        "version_2_with_negative": bool(opts.get("version_2_with_negative", False)),
    }


def truncate_questions(questions: list[str], tokenizer, max_query_length: int):
    """Cut each question to its first max_query_length tokens (on the text, via offsets).

    Returns the questions and the longest one's token count.
    """
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    cut = [q if len(offs) <= max_query_length else q[: offs[max_query_length - 1][1]]
           for q, offs in zip(questions, enc["offset_mapping"], strict=True)]
    longest = max((min(len(o), max_query_length) for o in enc["offset_mapping"]), default=0)
    return cut, longest


def label_span(offsets: list, seq_ids: list, start_char: int, end_char: int) -> tuple[int, int]:
    """Token indices of the answer chars [start_char, end_char) in one window; (0, 0) if outside."""
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx:  # an empty context has no tokens to point at
        return 0, 0
    first, last = ctx[0], ctx[-1]
    # The answer must lie wholly inside this window, else the window is trained to point at CLS.
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return 0, 0
    start = first
    while start <= last and offsets[start][0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def split_logits(encoder, head, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end logits (batch, length), float32, padding pushed to a large negative value."""
    hidden = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"]).last_hidden_state
    logits = head(hidden).float()
    logits = logits.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e9)
    start, end = logits.unbind(-1)
    return start, end


def top_indices(logits: np.ndarray, n: int) -> list[int]:
    """Indices of the n largest values, best first (stable on ties)."""
    return [int(i) for i in np.argsort(-logits, kind="stable")[:n]]


class SpanQAFormat(TaskFormat):
    name = "span_qa"
    main_metric = "f1"
    prediction_suffix = "json"

    def featurize(self, examples, tokenizer, task, max_length):
        """Overlapping windows of (question, context) with offsets and, given answers, labels."""
        if not getattr(tokenizer, "is_fast", False):
            raise XstiltsError(
                f"task {task.name!r}: span QA needs a fast tokenizer (for offset mappings); "
                f"got {type(tokenizer).__name__}.\n  fix: load the tokenizer with use_fast=True."
            )
        opts = qa_options(task, max_length)
        features = []
        for lo in range(0, len(examples), CHUNK):
            chunk = examples[lo: lo + CHUNK]
            for ex in chunk:
                require_keys(ex, ("id", "context", "question"), task.name)
            # Leading spaces in questions waste tokens and break offsets (as HF's run_qa).
            questions, longest = truncate_questions(
                [ex["question"].lstrip() for ex in chunk], tokenizer, opts["max_query_length"])
            self._check_room(longest, tokenizer, task, max_length, opts["doc_stride"])
            enc = tokenizer(questions, [ex["context"] for ex in chunk], truncation="only_second",
                            max_length=max_length, stride=opts["doc_stride"],
                            return_overflowing_tokens=True, return_offsets_mapping=True,
                            padding=False)
            for i in range(len(enc["input_ids"])):
                ex_index = lo + enc["overflow_to_sample_mapping"][i]
                seq_ids = enc.sequence_ids(i)
                # Only context tokens keep offsets, so decoding can never pick question tokens.
                offsets = [tuple(o) if s == 1 else None
                           for o, s in zip(enc["offset_mapping"][i], seq_ids, strict=True)]
                feat = {"input_ids": enc["input_ids"][i],
                        "attention_mask": enc["attention_mask"][i],
                        "example_index": ex_index, "offsets": offsets}
                answers = examples[ex_index].get("answers")
                if answers is not None:
                    feat["start_position"], feat["end_position"] = 0, 0  # no answer: CLS
                    if answers["text"]:  # train on the first answer, as SQuAD does
                        start_char = int(answers["answer_start"][0])
                        end_char = start_char + len(answers["text"][0])
                        feat["start_position"], feat["end_position"] = label_span(
                            enc["offset_mapping"][i], seq_ids, start_char, end_char)
                features.append(feat)
        return features

    @staticmethod
    def _check_room(longest, tokenizer, task, max_length, stride) -> None:
        """Fail clearly when a question leaves too little room for strided context windows."""
        room = max_length - longest - tokenizer.num_special_tokens_to_add(pair=True)
        if room <= stride:
            raise XstiltsError(
                f"task {task.name!r}: max_length {max_length} leaves {room} context tokens per "
                f"window after a {longest}-token question, not more than doc_stride {stride}.\n"
                "  fix: raise max_length, or lower `doc_stride`/`max_query_length` in the task's "
                "options."
            )

    def collate(self, features, pad_id):
        batch = padded_inputs([f["input_ids"] for f in features], pad_id)
        if all("start_position" in f for f in features):
            batch["start_positions"] = torch.tensor([f["start_position"] for f in features])
            batch["end_positions"] = torch.tensor([f["end_position"] for f in features])
        return batch

    def build_head(self, hidden_size, task):
        return nn.Linear(hidden_size, 2)

    def loss(self, encoder, head, batch):
        start, end = split_logits(encoder, head, batch)
        return (F.cross_entropy(start, batch["start_positions"])
                + F.cross_entropy(end, batch["end_positions"])) / 2

    def predict_batch(self, encoder, head, batch, task):
        with torch.no_grad():
            start, end = split_logits(encoder, head, batch)
        lengths = batch["attention_mask"].sum(1).tolist()
        start, end = start.cpu().numpy(), end.cpu().numpy()
        return [(start[i, :n].astype(np.float32), end[i, :n].astype(np.float32))
                for i, n in enumerate(lengths)]

    def decode(self, examples, features, outputs, task):
        """Best legal span per example over all its windows (HF's n-best search)."""
        opts = qa_options(task, max_length=0)  # doc_stride is not used here
        n_best, max_len = opts["n_best"], opts["max_answer_length"]
        windows = defaultdict(list)
        for feat, out in zip(features, outputs, strict=True):
            windows[feat["example_index"]].append((feat["offsets"], out))
        predictions = {}
        for index, ex in enumerate(examples):
            context = ex["context"]
            candidates = []  # (score, start char, end char)
            null_score = float("inf")
            for offsets, (start_logits, end_logits) in windows.get(index, []):
                # The null answer scores at CLS; the least confident window speaks for it (HF).
                null_score = min(null_score, float(start_logits[0] + end_logits[0]))
                for s in top_indices(start_logits, n_best):
                    for e in top_indices(end_logits, n_best):
                        if max(s, e) >= len(offsets) or offsets[s] is None or offsets[e] is None:
                            continue
                        if e < s or e - s + 1 > max_len:
                            continue
                        score = float(start_logits[s] + end_logits[e])
                        candidates.append((score, offsets[s][0], offsets[e][1]))
            candidates.sort(key=lambda c: -c[0])
            # Tokens that start with a word marker may carry the space before them; strip it.
            texts = [(sc, context[a:b].strip()) for sc, a, b in candidates]
            texts = [(sc, t) for sc, t in texts if t]
            text = texts[0][1] if texts else ""
            if opts["version_2_with_negative"] and (not texts or null_score > texts[0][0]):
                text = ""
            predictions[ex["id"]] = text
        return predictions

    def score(self, examples, predictions, task, lang):
        # An unanswerable question's reference is "" (the metrics need one answer at least).
        references = {ex["id"]: list(ex["answers"]["text"]) or [""] for ex in examples}
        if task.options.get("metric") == "mlqa":
            scores = mlqa_scores(predictions, references, lang)
        else:
            scores = squad_scores(predictions, references)
        return {"exact_match": scores["exact_match"], "f1": scores["f1"]}

    def write_predictions(self, examples, predictions, task, path: Path):
        write_json_atomic(path, {ex["id"]: predictions[ex["id"]] for ex in examples})

    def write_labels(self, examples, task, path: Path):
        """SQuAD v1.1 JSON (data → paragraphs → qas), one paragraph per question."""
        paragraphs = [{"context": ex["context"], "qas": [{
            "id": ex["id"], "question": ex["question"],
            "answers": [{"text": t, "answer_start": int(s)} for t, s in zip(
                ex["answers"]["text"], ex["answers"]["answer_start"], strict=True)]}]}
            for ex in examples]
        write_json_atomic(path, {"version": "1.1", "data": [{"title": task.name,
                                                            "paragraphs": paragraphs}]})

    def trivial_predictions(self, train, examples, task):
        """First-span baseline: the context's first k words, k = median train answer length."""
        lengths = [len(ex["answers"]["text"][0].split()) for ex in train
                   if ex.get("answers") and ex["answers"]["text"]]
        k = max(1, statistics.median_low(lengths)) if lengths else 1
        predictions = {}
        for ex in examples:
            words = list(re.finditer(r"\S+", ex["context"]))[:k]
            # Slice the original text so the prediction keeps the context's own spacing.
            predictions[ex["id"]] = ex["context"][words[0].start(): words[-1].end()] if words else ""
        return predictions


register_format(SpanQAFormat())
