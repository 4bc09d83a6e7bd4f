"""Bitext mining (BUCC 2018): find the translation pairs hidden in two piles of sentences.

Examples are sentences {"id", "side": "source"|"target", "text"}; a source sentence may carry
"gold": [ids of its target translations]. Sentences are embedded as in `retrieval` (options
`layer`, `prefix`). Mining follows XTREME's `mine_bitext` (from LASER) with its defaults:
identical texts are embedded once; each sentence's k=4 cosine nearest neighbours on the other
side give its neighbourhood mean; a candidate scores by ratio margin
cos(x, y) / ((mean_k(x) + mean_k(y)) / 2); every source keeps its best-scoring neighbour and
every target its best; these pairs, best first, are taken one-to-one ("max" retrieval) while
their margin is > 0. As XTREME's `bucc_eval`, a sentence whose text occurs under two ids is
left out. Which candidates count as extracted is a threshold on the margin: `prepare` picks the
F1-best one on the language's dev split (BUCC's "sample" data), as XTREME does, and it is then
applied to test. Predictions are {source id: (target id, margin)} for every candidate.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import torch

from xstilts.errors import XstiltsError
from xstilts.evaluate.metrics import best_threshold, bucc_f1
from xstilts.formats.base import register_format, require_keys, write_lines
from xstilts.formats.retrieval import RetrievalFormat
from xstilts.formats.tokenize import in_chunks, token_ids
from xstilts.progress import progress

logger = logging.getLogger(__name__)
K = 4  # LASER/XTREME's neighbourhood size
SIDES = ("source", "target")


def _knn(x: torch.Tensor, y: torch.Tensor, k: int, desc: str = "mine"):
    """Top-k cosines (sorted, with indices) of x's rows among y's rows and of y's among x's.

    Both directions come from one pass over row blocks of x @ y.T, so memory stays bounded
    on BUCC-sized sides (hundreds of thousands of sentences each).
    """
    kx, ky = min(k, len(y)), min(k, len(x))
    block = max(1, 2 ** 26 // len(y))
    fwd_sim, fwd_ind = [], []
    bwd_sim = torch.full((ky, len(y)), -torch.inf, device=x.device)
    bwd_ind = torch.zeros((ky, len(y)), dtype=torch.long, device=x.device)
    for lo in progress(range(0, len(x), block), desc=desc, unit="block", level=None):
        sim = x[lo:lo + block] @ y.T
        top = torch.topk(sim, kx, dim=1)
        fwd_sim.append(top.values)
        fwd_ind.append(top.indices)
        col = torch.topk(sim, min(ky, len(sim)), dim=0)  # this block's best rows per column
        merged = torch.topk(torch.cat([bwd_sim, col.values]), ky, dim=0)
        bwd_ind = torch.gather(torch.cat([bwd_ind, col.indices + lo]), 0, merged.indices)
        bwd_sim = merged.values
    return torch.cat(fwd_sim), torch.cat(fwd_ind), bwd_sim.T, bwd_ind.T


def mine(x: np.ndarray, y: np.ndarray, k: int = K, desc: str = "mine"
         ) -> list[tuple[int, int, float]]:
    """(row of x, row of y, margin) candidate pairs of two L2-normalised embedding matrices
    (a bar labelled `desc` over the blocks of the similarity matrix, a line at DEBUG)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.float32), device=device)
    started = time.perf_counter()
    x2y_sim, x2y_ind, y2x_sim, y2x_ind = _knn(xt, yt, k, desc)
    x2y_mean, y2x_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    # Ratio margin of each neighbour: cos / mean of the two sides' neighbourhood means.
    fwd = x2y_sim / ((x2y_mean[:, None] + y2x_mean[x2y_ind]) / 2)
    bwd = y2x_sim / ((y2x_mean[:, None] + x2y_mean[y2x_ind]) / 2)
    fwd_best = x2y_ind.gather(1, fwd.argmax(1, keepdim=True)).squeeze(1).cpu().numpy()
    bwd_best = y2x_ind.gather(1, bwd.argmax(1, keepdim=True)).squeeze(1).cpu().numpy()
    src = np.concatenate([np.arange(len(x)), bwd_best])
    tgt = np.concatenate([fwd_best, np.arange(len(y))])
    scores = torch.cat([fwd.max(1).values, bwd.max(1).values]).double().cpu().numpy()
    out, seen_src, seen_tgt = [], set(), set()
    for i in np.argsort(-scores, kind="stable"):
        s, t = int(src[i]), int(tgt[i])
        if s in seen_src or t in seen_tgt:
            continue
        seen_src.add(s)
        seen_tgt.add(t)
        if scores[i] > 0:
            out.append((s, t, float(scores[i])))
    logger.debug("%s: %d x %d sentences, %d candidate pairs in %.1f s", desc, len(x), len(y),
                 len(out), time.perf_counter() - started)
    return out


def gold_pairs(examples: list[dict]) -> set | None:
    """{(source id, target id)} from the sources' "gold" lists; None if no example has gold."""
    sources = [ex for ex in examples if ex.get("side") == "source"]
    if not any("gold" in ex for ex in sources):
        return None
    return {(ex["id"], str(t)) for ex in sources for t in ex.get("gold") or []}


class BitextMiningFormat(RetrievalFormat):
    name = "bitext_mining"
    required_keys = ("id", "side", "text")

    def check_example(self, example, task):
        problem = super().check_example(example, task)
        if problem is None and example["side"] not in SIDES:
            return f"has side {example['side']!r}, not one of {SIDES}"
        return problem

    def featurize(self, examples, tokenizer, task, max_length):
        prefix = task.options.get("prefix", "")
        features = []
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                require_keys(ex, ("id", "side", "text"), task.name)
                if ex["side"] not in SIDES:
                    raise XstiltsError(
                        f"task {task.name!r}: example {ex['id']!r} has side {ex['side']!r}.\n"
                        f"  fix: a bitext-mining sentence's side is one of {SIDES}.")
            ids = token_ids(tokenizer, [prefix + ex["text"] for ex in chunk], truncation=True,
                            max_length=max_length)
            features.extend({"input_ids": row, "example_index": i, "side": ex["side"]}
                            for i, (ex, row) in enumerate(zip(chunk, ids, strict=True), start=lo))
        return features

    def decode(self, examples, features, outputs, task):
        vectors = {f["example_index"]: vec for f, vec in zip(features, outputs, strict=True)}
        sides = {}
        for side in SIDES:
            ids_of: dict[str, list[str]] = {}  # text -> ids; first occurrence's vector is kept
            first: dict[str, int] = {}
            for i, ex in enumerate(examples):
                if ex["side"] == side:
                    ids_of.setdefault(ex["text"], []).append(ex["id"])
                    first.setdefault(ex["text"], i)
            sides[side] = (list(ids_of.values()), [vectors[i] for i in first.values()])
        (src_ids, x), (tgt_ids, y) = sides["source"], sides["target"]
        if not x or not y:
            return {}
        return {src_ids[s][0]: (tgt_ids[t][0], score)
                for s, t, score in mine(np.stack(x), np.stack(y), int(task.options.get("k", K)),
                                        f"mine {task.name}")
                if len(src_ids[s]) == 1 and len(tgt_ids[t]) == 1}

    def limit(self, examples, n, task):
        """A smaller mining problem for `test_limit`: the first n source sentences, all their
        gold targets, and the first other targets up to n targets in all (distractors), in
        file order (cutting the example list would keep sources and drop every target)."""
        sources = [ex for ex in examples if ex["side"] == "source"][:n]
        targets = [ex for ex in examples if ex["side"] == "target"]
        gold = {str(t) for ex in sources for t in ex.get("gold") or []}
        others = [ex["id"] for ex in targets if ex["id"] not in gold]
        keep = gold | set(others[: max(0, n - len(gold))])
        return sources + [ex for ex in targets if ex["id"] in keep]

    @staticmethod
    def _candidates(predictions) -> list[tuple[float, tuple[str, str]]]:
        return [(score, (src, tgt)) for src, (tgt, score) in predictions.items()]

    def choose_threshold(self, dev_examples, dev_predictions) -> float:
        """The margin threshold with the best F1 on a dev set (XTREME's bucc_optimize)."""
        gold = gold_pairs(dev_examples)
        if not gold:
            raise XstiltsError(
                "bitext mining needs gold pairs on the dev split to choose its threshold.\n"
                "  fix: give the dev split its .gold file (BUCC's sample-gold archive).")
        candidates = self._candidates(dev_predictions)
        # With no candidate at all XTREME's search keeps its starting threshold, 0.
        return best_threshold(candidates, gold)[0] if candidates else 0.0

    def prepare(self, task, dev_examples, predict):
        """The task with options.threshold chosen on dev (kept if the task already sets one)."""
        if task.options.get("threshold") is not None:
            return task
        threshold = self.choose_threshold(dev_examples, predict(task, dev_examples))
        return dataclasses.replace(task, options={**task.options, "threshold": threshold})

    def _threshold(self, examples, predictions, task) -> float:
        """The task's threshold; without one, the best on these examples' own gold (the
        oracle XTREME's bucc_eval reports) or, with no gold either, 0 (every candidate)."""
        if task.options.get("threshold") is not None:
            return float(task.options["threshold"])
        gold = gold_pairs(examples)
        candidates = self._candidates(predictions)
        return best_threshold(candidates, gold)[0] if gold and candidates else 0.0

    def extracted(self, examples, predictions, task) -> list[tuple[str, str]]:
        """The pairs whose margin reaches the threshold, in source-sentence order."""
        t = self._threshold(examples, predictions, task)
        return [(ex["id"], predictions[ex["id"]][0]) for ex in examples
                if ex["side"] == "source" and ex["id"] in predictions
                and predictions[ex["id"]][1] >= t]

    def score(self, examples, predictions, task, lang):
        gold = gold_pairs(examples)
        if gold is None:
            raise XstiltsError(
                f"task {task.name!r} ({lang}): no gold pairs to score against.\n  fix: keep the "
                "split's .gold file (XTREME's download_data.sh deletes BUCC's test gold; it is "
                "in bucc2018-LANG-en.training-gold.tar.bz2).")
        return bucc_f1(set(self.extracted(examples, predictions, task)), gold)

    def write_predictions(self, examples, predictions, task, path):
        write_lines(path, [f"{s}\t{t}" for s, t in self.extracted(examples, predictions, task)])

    def write_labels(self, examples, task, path):
        write_lines(path, [f"{s}\t{t}" for s, t in sorted(gold_pairs(examples) or ())])

    def trivial_predictions(self, train, examples, task):
        return {}  # extracts nothing


register_format(BitextMiningFormat())
