"""Extractive question answering: predict the answer's start and end token (SQuAD, XQuAD, MLQA).

Long contexts are cut into overlapping windows ("features"); each window scores every token as a
start and an end, and decoding picks the best legal span over all windows of an example.

Window options (set at most one):
- `window_step`: tokens between the starts of neighbouring windows, XTREME's `doc_stride`
  (its run_squad.py / `squad_convert_examples_to_features`). Each window holds
  room = max_length - question tokens - special tokens context tokens, so neighbours share
  max(0, room - window_step). Built-in QA tasks use XTREME's max_length 384, window_step 128.
- `doc_stride`: tokens shared by neighbouring windows (the HF tokenizer's `stride`, HF
  run_qa.py's `--doc_stride`). With neither set: doc_stride = min(128, max_length // 4).
Other options: `max_query_length` (64), `max_answer_length` (30), `n_best` (20).

Scores: exact_match, f1 (the default selection metric, XTREME's) and em_f1 = (EM + F1) / 2
(jiant's "major" QA metric; select it with the option `main_metric: em_f1`). With
`version_2_with_negative` (SQuAD 2.0) decoding keeps each question's best non-null answer and
its null-score difference; EM/F1 are taken at the option `null_threshold` (0.0: answer "" when
the null score beats the best span), and best_exact/best_f1 with best_exact_threshold/
best_f1_threshold are the official script's threshold search (evaluate/squad_v2.py; the
built-in squad_v2 selects on best_f1). Prediction files are {id: answer text}, cut at
null_threshold.
"""

from __future__ import annotations

import math
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
from xstilts.evaluate.metrics import (
    mlqa_scores,
    normalize_answer_mlqa,
    normalize_answer_squad,
    squad_scores,
)
from xstilts.evaluate.squad_v2 import squad_v2_scores
from xstilts.formats.base import (
    TaskFormat,
    encode_inputs,
    padded_inputs,
    register_format,
    require_keys,
)
from xstilts.formats.tokenize import in_chunks, pair_types


def _int_option(task, name: str, value, minimum: int) -> int:
    """An integer option at least `minimum`, else a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise XstiltsError(f"task {task.name!r}: option {name}: {value!r} is not an integer of "
                           f"at least {minimum}.\n  fix: set {name} to such a number.")
    return value


def qa_options(task, max_length: int) -> dict:
    """The task's span-QA options, with defaults (window_step and doc_stride exclude each
    other; with neither, doc_stride = min(128, max_length // 4) tokens of overlap)."""
    opts = task.options
    step, stride = opts.get("window_step"), opts.get("doc_stride")
    if step is not None and stride is not None:
        raise XstiltsError(
            f"task {task.name!r}: options window_step ({step}) and doc_stride ({stride}) both "
            "set; they are two ways to say how windows overlap.\n  fix: keep one: window_step "
            "= tokens between window starts (XTREME's doc_stride), doc_stride = tokens shared "
            "by neighbouring windows (HF run_qa); set the other to null, e.g. task_options: "
            f"{{{task.name}: {{doc_stride: 64, window_step: null}}}}.")
    if step is not None:
        step, stride = _int_option(task, "window_step", step, 1), None
    else:
        stride = _int_option(task, "doc_stride", stride if stride is not None
                             else min(128, max_length // 4), 0)
    return {
        "window_step": step,
        "doc_stride": stride,
        "max_query_length": int(opts.get("max_query_length", 64)),
        "max_answer_length": int(opts.get("max_answer_length", 30)),
        "n_best": int(opts.get("n_best", 20)),
        "version_2_with_negative": bool(opts.get("version_2_with_negative", False)),
        "null_threshold": float(opts.get("null_threshold", 0.0)),
    }


def truncate_questions(questions: list[str], tokenizer, max_query_length: int):
    """Cut each question to its first max_query_length tokens (on the text, via offsets).

    Returns the cut questions and each one's token count (as the pair encoding sees it).
    """
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    cut = [q if len(offs) <= max_query_length else q[: offs[max_query_length - 1][1]]
           for q, offs in zip(questions, enc["offset_mapping"], strict=True)]
    # Re-tokenize the cut text: a cut prefix can tokenize to other pieces than the full text.
    lengths = [len(ids) for ids in tokenizer(cut, add_special_tokens=False)["input_ids"]]
    return cut, lengths


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
    hidden = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"],
                           token_type_ids=batch.get("token_type_ids")).last_hidden_state
    logits = head(hidden).float()
    logits = logits.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e9)
    start, end = logits.unbind(-1)
    return start, end


def answer_text(prediction, threshold: float = 0.0) -> str:
    """A prediction's answer: SQuAD 2.0's {text, null_diff} is "" above the threshold."""
    if isinstance(prediction, dict):
        return "" if prediction["null_diff"] > threshold else prediction["text"]
    return prediction


def top_indices(logits: np.ndarray, n: int) -> list[int]:
    """Indices of the n largest values, best first (stable on ties)."""
    return [int(i) for i in np.argsort(-logits, kind="stable")[:n]]


class SpanQAFormat(TaskFormat):
    name = "span_qa"
    # token_type_ids: only with a tokenizer that types a pair's segments (BERT's).
    feature_fields = {"input_ids": "ints", "attention_mask": "ints", "example_index": "int",
                      "offsets": "spans", "start_position": "int", "end_position": "int",
                      "token_type_ids": "ints"}
    required_keys = ("id", "context", "question")

    def check_example(self, example, task):
        problem = super().check_example(example, task)
        answers = example.get("answers")
        if problem or answers is None:
            return problem
        if not (isinstance(answers, dict) and isinstance(answers.get("text"), list)
                and isinstance(answers.get("answer_start"), list)
                and len(answers["text"]) == len(answers["answer_start"])):
            return ("has answers that are not {text: [...], answer_start: [...]} lists of "
                    "equal length")
        return None

    def featurize(self, examples, tokenizer, task, max_length):
        """Overlapping windows of (question, context) with offsets and, given answers, labels."""
        if not getattr(tokenizer, "is_fast", False):
            raise XstiltsError(
                f"task {task.name!r}: span QA needs a fast tokenizer (for offset mappings); "
                f"got {type(tokenizer).__name__}.\n  fix: load the tokenizer with use_fast=True."
            )
        opts = qa_options(task, max_length)
        typed = pair_types(tokenizer)
        features = []
        for lo, chunk in in_chunks(examples):  # also bounds memory on SQuAD-sized splits
            for ex in chunk:
                require_keys(ex, ("id", "context", "question"), task.name)
            # Leading spaces in questions waste tokens and break offsets (as HF's run_qa).
            questions, lengths = truncate_questions(
                [ex["question"].lstrip() for ex in chunk], tokenizer, opts["max_query_length"])
            per_example = [[] for _ in chunk]
            for members, overlap in self._groups(lengths, tokenizer, task, max_length, opts):
                enc = tokenizer([questions[j] for j in members],
                                [chunk[j]["context"] for j in members], truncation="only_second",
                                max_length=max_length, stride=overlap,
                                return_overflowing_tokens=True, return_offsets_mapping=True,
                                padding=False, return_token_type_ids=typed)
                for i in range(len(enc["input_ids"])):
                    j = members[enc["overflow_to_sample_mapping"][i]]
                    per_example[j].append(self._window(enc, i, lo + j, chunk[j], typed))
            # Example order, then window order: the same whatever the grouping was.
            features.extend(f for windows in per_example for f in windows)
        return features

    @staticmethod
    def _groups(lengths, tokenizer, task, max_length, opts) -> list[tuple[list[int], int]]:
        """(example positions, tokenizer stride) per tokenizer call.

        doc_stride is the tokenizer's own stride (overlap), one call for all. window_step fixes
        the step between window starts instead, so the overlap (room - step) depends on the
        question's length: one call per question length.
        """
        special = tokenizer.num_special_tokens_to_add(pair=True)
        if opts["window_step"] is None:
            room = max_length - max(lengths, default=0) - special
            if room <= opts["doc_stride"]:
                raise XstiltsError(
                    f"task {task.name!r}: max_length {max_length} leaves {room} context tokens "
                    f"per window after a {max(lengths)}-token question, not more than doc_stride "
                    f"{opts['doc_stride']}.\n  fix: raise max_length, or lower `doc_stride`/"
                    "`max_query_length` in the task's options.")
            return [(list(range(len(lengths))), opts["doc_stride"])]
        by_length = defaultdict(list)
        for j, n in enumerate(lengths):
            by_length[n].append(j)
        groups = []
        for n, members in sorted(by_length.items()):
            room = max_length - n - special
            if room < 1:
                raise XstiltsError(
                    f"task {task.name!r}: max_length {max_length} leaves no context tokens "
                    f"after a {n}-token question and {special} special tokens.\n  fix: raise "
                    "max_length, or lower `max_query_length` in the task's options.")
            # A step longer than the room makes windows adjacent: no context token is skipped.
            groups.append((members, max(0, room - opts["window_step"])))
        return groups

    @staticmethod
    def _window(enc, i: int, ex_index: int, example: dict, typed: bool = False) -> dict:
        """Feature i of a tokenizer output: ids, context offsets, token types when `typed`
        and, given answers, labels."""
        seq_ids = enc.sequence_ids(i)
        # Only context tokens keep offsets, so decoding can never pick question tokens.
        offsets = [tuple(o) if s == 1 else None
                   for o, s in zip(enc["offset_mapping"][i], seq_ids, strict=True)]
        feat = {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                "example_index": ex_index, "offsets": offsets}
        if typed:
            feat["token_type_ids"] = enc["token_type_ids"][i]
        answers = example.get("answers")
        if answers is not None:
            feat["start_position"], feat["end_position"] = 0, 0  # no answer: CLS
            if answers["text"]:  # train on the first answer, as SQuAD does
                start_char = int(answers["answer_start"][0])
                end_char = start_char + len(answers["text"][0])
                feat["start_position"], feat["end_position"] = label_span(
                    enc["offset_mapping"][i], seq_ids, start_char, end_char)
        return feat

    def collate(self, features, pad_id):
        batch = padded_inputs([f["input_ids"] for f in features], pad_id,
                              [f.get("token_type_ids") for f in features])
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
            if opts["version_2_with_negative"]:
                # HF's null_score_diff; the threshold is applied when scoring and writing.
                diff = null_score - texts[0][0] if texts else math.inf
                predictions[ex["id"]] = {"text": text, "null_diff": float(diff)}
            else:
                predictions[ex["id"]] = text
        return predictions

    def score(self, examples, predictions, task, lang):
        """EM, F1 and em_f1 = (EM + F1) / 2 (jiant's QA selection metric); SQuAD 2.0 tasks
        also get best_exact, best_f1 and their null-score thresholds (official script)."""
        opts = qa_options(task, max_length=0)
        if task.options.get("metric") == "mlqa":
            normalize = lambda s: normalize_answer_mlqa(s, lang)  # noqa: E731
        else:
            normalize = normalize_answer_squad
        if opts["version_2_with_negative"]:
            scores = squad_v2_scores(
                {qid: (p["text"], p["null_diff"]) if isinstance(p, dict) else (p, None)
                 for qid, p in predictions.items()},
                {ex["id"]: list(ex["answers"]["text"]) for ex in examples}, normalize,
                opts["null_threshold"])
        else:
            # An unanswerable question's reference is "" (the metrics need one answer at least).
            references = {ex["id"]: list(ex["answers"]["text"]) or [""] for ex in examples}
            answers = {qid: answer_text(p, opts["null_threshold"])
                       for qid, p in predictions.items()}
            if task.options.get("metric") == "mlqa":
                scores = mlqa_scores(answers, references, lang)
            else:
                scores = squad_scores(answers, references)
        return {**scores, "em_f1": (scores["exact_match"] + scores["f1"]) / 2}

    def write_predictions(self, examples, predictions, task, path: Path):
        """{id: answer text} JSON, SQuAD 2.0 answers cut at the task's null_threshold."""
        threshold = qa_options(task, max_length=0)["null_threshold"]
        write_json_atomic(path, {ex["id"]: answer_text(predictions[ex["id"]], threshold)
                                 for ex in examples})

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
