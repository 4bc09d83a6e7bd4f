"""Multiple choice: N candidates, each encoded with the prompt, scored by one shared head."""

from __future__ import annotations

from collections import Counter

import torch
import torch.nn.functional as F

from xstilts.evaluate.metrics import accuracy
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


class MultipleChoiceFormat(TaskFormat):
    name = "multiple_choice"
    # choice_type_ids: only with a tokenizer that types a pair's segments (BERT's).
    feature_fields = {"choice_ids": "ints2", "example_index": "int", "label": "int",
                      "choice_type_ids": "ints2"}

    required_keys = ("prompt", "choices")

    def check_example(self, example, task):
        problem = super().check_example(example, task)
        if problem:
            return problem
        choices = example["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            return (f"has {len(choices) if isinstance(choices, list) else 'no list of'} "
                    "choice(s); multiple choice needs at least two `choices`")
        label = example.get("label")
        if label is None:
            return None
        try:
            index = int(label)
        except (TypeError, ValueError):
            return f"has label {label!r}, not the 0-based index of the right choice"
        if not 0 <= index < len(choices):
            return (f"has label {index} but {len(choices)} choices (`label` is the 0-based "
                    "index of the right choice)")
        return None

    def featurize(self, examples, tokenizer, task, max_length):
        typed = pair_types(tokenizer)
        features = []
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                problem = self.check_example(ex, task)
                if problem:
                    raise example_error(task, ex, problem)
            # Every (prompt, choice) row of the chunk in one call, then cut per example.
            counts = [len(ex["choices"]) for ex in chunk]
            prompts = [ex["prompt"] for ex in chunk for _ in ex["choices"]]
            rows, types = token_columns(tokenizer, prompts,
                                        [str(c) for ex in chunk for c in ex["choices"]], typed,
                                        truncation="only_first", max_length=max_length)
            start = 0
            for i, (ex, n) in enumerate(zip(chunk, counts, strict=True), start=lo):
                feat = {"choice_ids": rows[start:start + n], "example_index": i}
                if types is not None:
                    feat["choice_type_ids"] = types[start:start + n]
                start += n
                if ex.get("label") is not None:
                    feat["label"] = int(ex["label"])
                features.append(feat)
        return features

    def collate(self, features, pad_id):
        # Flatten (example, choice) to rows; pad every example to the same number of choices.
        n_choices = max(len(f["choice_ids"]) for f in features)
        rows, types, valid = [], [], []
        for f in features:
            ids = list(f["choice_ids"])
            missing = n_choices - len(ids)
            valid.append([1] * len(ids) + [0] * missing)
            rows.extend(ids + [[pad_id]] * missing)
            types.extend(list(f.get("choice_type_ids") or [None] * len(ids)) + [None] * missing)
        batch = padded_inputs(rows, pad_id, types)
        batch["choice_mask"] = torch.tensor(valid, dtype=torch.bool)
        if all("label" in f for f in features):
            batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, hidden_size, task):
        return PooledHead(hidden_size, 1, task.options.get("pooling", "cls"))

    def _logits(self, encoder, head, batch):
        out = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"],
                            token_type_ids=batch.get("token_type_ids"))
        scores = head(out.last_hidden_state, batch["attention_mask"]).float()
        scores = scores.view(batch["choice_mask"].shape)
        return scores.masked_fill(~batch["choice_mask"], -1e9)

    def loss(self, encoder, head, batch):
        return F.cross_entropy(self._logits(encoder, head, batch), batch["labels"])

    def predict_batch(self, encoder, head, batch, task):
        return list(self._logits(encoder, head, batch).cpu().numpy())

    def decode(self, examples, features, outputs, task):
        return {examples[f["example_index"]]["id"]: int(o.argmax())
                for f, o in zip(features, outputs, strict=True)}

    def score(self, examples, predictions, task, lang):
        gold = [int(ex["label"]) for ex in examples]
        return {"accuracy": accuracy(gold, [predictions.get(ex["id"], -1) for ex in examples])}

    def write_predictions(self, examples, predictions, task, path):
        write_lines(path, [str(predictions[ex["id"]]) for ex in examples])

    def write_labels(self, examples, task, path):
        write_lines(path, [str(int(ex["label"])) for ex in examples])

    def trivial_predictions(self, train, examples, task):
        majority = Counter(int(ex["label"]) for ex in train).most_common(1)[0][0]
        return {ex["id"]: majority for ex in examples}


register_format(MultipleChoiceFormat())
