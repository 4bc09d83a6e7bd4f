"""Classification of a sentence or a sentence pair (XNLI, PAWS-X, MNLI, SST-2, ...)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F

from xstilts.errors import XstiltsError
from xstilts.evaluate.metrics import accuracy, macro_f1
from xstilts.formats.base import (
    PooledHead,
    TaskFormat,
    encode_inputs,
    example_error,
    padded_inputs,
    register_format,
    write_lines,
)
from xstilts.formats.tokenize import in_chunks, pair_types, token_columns


def label_list(task) -> list[str]:
    """The task's labels; classification needs them declared."""
    if not task.labels:
        raise XstiltsError(
            f"task {task.name!r} has no label list.\n  fix: add `labels: [...]` to its declaration."
        )
    return [str(x) for x in task.labels]


class ClassificationFormat(TaskFormat):
    name = "classification"
    # token_type_ids: only with a tokenizer that types a pair's segments (BERT's).
    feature_fields = {"input_ids": "ints", "example_index": "int", "label": "int",
                      "token_type_ids": "ints"}

    required_keys = ("text_a",)

    def check_example(self, example, task):
        problem = super().check_example(example, task)
        if problem:
            return problem
        for key in ("text_a", "text_b"):
            if example.get(key) is not None and not isinstance(example[key], str):
                return f"has a {type(example[key]).__name__} as {key!r}, not a text"
        labels = label_list(task)
        if example.get("label") is not None and str(example["label"]) not in labels:
            return f"has label {str(example['label'])!r}, not in the task's labels {labels}"
        return None

    def featurize(self, examples, tokenizer, task, max_length):
        labels = {lab: i for i, lab in enumerate(label_list(task))}
        typed = pair_types(tokenizer)
        features = []
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                problem = self.check_example(ex, task)
                if problem:
                    raise example_error(task, ex, problem)
            ids, types = token_columns(tokenizer, [ex["text_a"] for ex in chunk],
                                       [ex.get("text_b") for ex in chunk], typed,
                                       truncation=True, max_length=max_length)
            for i, (ex, row) in enumerate(zip(chunk, ids, strict=True), start=lo):
                feat = {"input_ids": row, "example_index": i}
                if types is not None:
                    feat["token_type_ids"] = types[i - lo]
                if ex.get("label") is not None:
                    feat["label"] = labels[str(ex["label"])]
                features.append(feat)
        return features

    def collate(self, features, pad_id):
        batch = padded_inputs([f["input_ids"] for f in features], pad_id,
                              [f.get("token_type_ids") for f in features])
        if all("label" in f for f in features):
            batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, hidden_size, task):
        return PooledHead(hidden_size, len(label_list(task)), task.options.get("pooling", "cls"))

    def _logits(self, encoder, head, batch):
        out = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"],
                            token_type_ids=batch.get("token_type_ids"))
        return head(out.last_hidden_state, batch["attention_mask"])

    def loss(self, encoder, head, batch):
        return F.cross_entropy(self._logits(encoder, head, batch).float(), batch["labels"])

    def predict_batch(self, encoder, head, batch, task):
        return list(self._logits(encoder, head, batch).float().cpu().numpy())

    def decode(self, examples, features, outputs, task):
        labels = label_list(task)
        return {examples[f["example_index"]]["id"]: labels[int(o.argmax())]
                for f, o in zip(features, outputs, strict=True)}

    def score(self, examples, predictions, task, lang):
        gold = [str(ex["label"]) for ex in examples]
        pred = [predictions.get(ex["id"], "") for ex in examples]
        return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}

    def write_predictions(self, examples, predictions, task, path: Path):
        write_lines(path, [predictions[ex["id"]] for ex in examples])

    def write_labels(self, examples, task, path: Path):
        write_lines(path, [str(ex["label"]) for ex in examples])

    def trivial_predictions(self, train, examples, task):
        majority = Counter(str(ex["label"]) for ex in train).most_common(1)[0][0]
        return {ex["id"]: majority for ex in examples}


register_format(ClassificationFormat())
