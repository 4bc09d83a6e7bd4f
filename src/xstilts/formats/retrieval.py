"""Retrieval (Tatoeba-style): embed both sides, nearest neighbour by cosine, no training.

A sentence vector is the attention-weighted mean of one layer's hidden states (special tokens
included, as XTREME), L2-normalised. Examples pair line i of the source (non-English) file with
line i of the target (English) file.

Search direction, as XTREME's `utils_retrieve.similarity_search(x=xx, y=en)`: the source
sentences are indexed and every target (English) sentence is a query, so prediction i is the
index of the source sentence retrieved for English sentence i (`query_side: target`, the
default); `query_side: source` searches the other way. Task options: `layer` (index into
hidden_states: 0 = embeddings, -1 = last; XTREME reads a middle layer of XLM-R/mBERT, the last
suits contrastive encoders such as e5), `prefix` (text before every sentence, e.g. "query: "
for e5), `max_length` (XTREME encodes at 512 tokens; capped by the model).
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from xstilts.errors import XstiltsError
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
from xstilts.formats.tokenize import in_chunks, token_ids

QUERY_SIDES = ("target", "source")


def query_side(task) -> str:
    """Which side's sentences are the queries (the other side is indexed)."""
    side = task.options.get("query_side", "target")
    if side not in QUERY_SIDES:
        raise XstiltsError(
            f"task {task.name!r}: query_side {side!r}.\n  fix: use 'target' (XTREME: English "
            "sentences query the other language) or 'source'.")
    return side


class RetrievalFormat(TaskFormat):
    name = "retrieval"
    feature_fields = {"input_ids": "ints", "example_index": "int", "side": "json"}
    required_keys = ("source", "target")

    def featurize(self, examples, tokenizer, task, max_length):
        prefix = task.options.get("prefix", "")
        by_side: dict[str, list[dict]] = {"source": [], "target": []}
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                require_keys(ex, ("source", "target"), task.name)
            for side, features in by_side.items():
                ids = token_ids(tokenizer, [prefix + ex[side] for ex in chunk], truncation=True,
                                max_length=max_length)
                features.extend({"input_ids": row, "example_index": i, "side": side}
                                for i, row in enumerate(ids, start=lo))
        return by_side["source"] + by_side["target"]  # all sources first, then all targets

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
        queries, index = (tgt, src) if query_side(task) == "target" else (src, tgt)
        best = nearest_neighbours(queries @ index.T)
        # Keyed by example i: the query of line i (English by default) and what it found.
        return {ex["id"]: int(best[i]) for i, ex in enumerate(examples)}

    def score(self, examples, predictions, task, lang):
        # Line i of one side's gold is line i of the other (line-aligned files).
        gold = list(range(len(examples)))
        return {"accuracy": accuracy(gold, [predictions[ex["id"]] for ex in examples])}

    def write_predictions(self, examples, predictions, task, path):
        write_lines(path, [str(predictions[ex["id"]]) for ex in examples])

    def write_labels(self, examples, task, path):
        write_lines(path, [str(i) for i in range(len(examples))])  # line i pairs with line i

    def trivial_predictions(self, train, examples, task):
        return {ex["id"]: 0 for ex in examples}


register_format(RetrievalFormat())
