"""Retrieval (Tatoeba-style): embed both sides, nearest neighbour by cosine, no training.

A sentence vector is the attention-weighted mean of one layer's hidden states, L2-normalised.
Task options: `layer` (index into hidden_states: 0 = embeddings, -1 = last; XTREME uses a
middle layer for XLM-R/mBERT, the last suits contrastive encoders such as e5) and `prefix`
(text put before every sentence, e.g. "query: " for e5).
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from xstilts.evaluate.metrics import accuracy, nearest_neighbours
from xstilts.formats.base import (
    TaskFormat,
    encode_inputs,
    padded_inputs,
    pool,
    register_format,
    require_keys,
    write_lines,
)


class RetrievalFormat(TaskFormat):
    name = "retrieval"
    trainable = False
    main_metric = "accuracy"
    prediction_suffix = "tsv"

    def featurize(self, examples, tokenizer, task, max_length):
        prefix = task.options.get("prefix", "")
        features = []
        for side in ("source", "target"):
            for i, ex in enumerate(examples):
                require_keys(ex, ("source", "target"), task.name)
                enc = tokenizer(prefix + ex[side], truncation=True, max_length=max_length)
                features.append({"input_ids": enc["input_ids"], "example_index": i,
                                 "side": side})
        return features

    def collate(self, features, pad_id):
        return padded_inputs([f["input_ids"] for f in features], pad_id)

    def predict_batch(self, encoder, head, batch, task):
        out = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"],
                            output_hidden_states=True)
        hidden = out.hidden_states[int(task.options.get("layer", -1))]
        vec = F.normalize(pool(hidden.float(), batch["attention_mask"], "mean"), dim=-1)
        return list(vec.cpu().numpy())

    def embeddings(self, examples, features, outputs) -> tuple[np.ndarray, np.ndarray]:
        """Source and target embedding matrices, rows in example order."""
        dim = len(outputs[0])
        src = np.zeros((len(examples), dim), dtype=np.float32)
        tgt = np.zeros_like(src)
        for f, vec in zip(features, outputs, strict=True):
            (src if f["side"] == "source" else tgt)[f["example_index"]] = vec
        return src, tgt

    def decode(self, examples, features, outputs, task):
        src, tgt = self.embeddings(examples, features, outputs)
        best = nearest_neighbours(src @ tgt.T)
        return {ex["id"]: int(best[i]) for i, ex in enumerate(examples)}

    def score(self, examples, predictions, task, lang):
        # Source i's gold is target i (line-aligned files).
        gold = list(range(len(examples)))
        return {"accuracy": accuracy(gold, [predictions[ex["id"]] for ex in examples])}

    def write_predictions(self, examples, predictions, task, path):
        write_lines(path, [str(predictions[ex["id"]]) for ex in examples])

    def write_labels(self, examples, task, path):
        write_lines(path, [str(i) for i in range(len(examples))])  # source i pairs with target i

    def trivial_predictions(self, train, examples, task):
        return {ex["id"]: 0 for ex in examples}


register_format(RetrievalFormat())
