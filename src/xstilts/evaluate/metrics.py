"""Task metrics, reimplemented to reproduce the scores of the scripts XTREME reports with.

Every score is a percentage (0-100). Reference behaviour:
SQuAD v1.1 ``evaluate-v1.1.py``, MLQA ``mlqa_evaluation_v1.py``, ``seqeval`` 1.2.2's default
(conlleval-compatible) ``f1_score``, and XTREME's BUCC ``bucc_optimize``/``bucc_extract``.
"""

from __future__ import annotations

import functools
import math
import re
import string
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

import numpy as np

# ---------------------------------------------------------------- classification


def _check_pair(gold: Sequence, pred: Sequence, what: str) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{what}: gold has {len(gold)} items but pred has {len(pred)}")
    if len(gold) == 0:
        raise ValueError(f"{what}: no items to score")


def accuracy(gold: Sequence, pred: Sequence) -> float:
    """Percentage of positions where pred equals gold."""
    _check_pair(gold, pred, "accuracy")
    return 100.0 * sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def macro_f1(gold: Sequence, pred: Sequence, labels: Sequence | None = None) -> float:
    """Unweighted mean of per-label F1 (percent) over labels seen in gold or pred."""
    _check_pair(gold, pred, "macro_f1")
    n_gold, n_pred, n_tp = Counter(gold), Counter(pred), Counter()
    for g, p in zip(gold, pred, strict=True):
        if g == p:
            n_tp[g] += 1
    candidates = list(dict.fromkeys(labels)) if labels is not None else set(n_gold) | set(n_pred)
    # A label never gold and never predicted has an undefined F1; it is left out rather
    # than counted as 0 so that passing the full label inventory does not deflate the mean.
    used = [lab for lab in candidates if n_gold[lab] + n_pred[lab] > 0]
    if not used:
        raise ValueError("macro_f1: none of the given labels occurs in gold or pred")
    return 100.0 * sum(2 * n_tp[lab] / (n_gold[lab] + n_pred[lab]) for lab in used) / len(used)


# ---------------------------------------------------------------- extractive QA


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:  # also covers two empty answers, which the official scripts score 0
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _max_over(score: Callable[[str, str], float], prediction: str, ground_truths) -> float:
    # A bare string would otherwise be iterated character by character.
    truths = [ground_truths] if isinstance(ground_truths, str) else list(ground_truths)
    if not truths:
        raise ValueError("no ground-truth answers to compare against")
    return max(score(prediction, truth) for truth in truths)


def _qa_scores(predictions: dict, references: dict, normalize: Callable[[str], str]) -> dict:
    if not references:
        raise ValueError("no reference questions to score")
    em = f1 = 0.0
    missing = 0
    for qid, truths in references.items():
        if qid not in predictions:
            missing += 1  # the official scripts score an unanswered question 0
            continue
        pred = predictions[qid]
        em += _max_over(lambda p, t: float(normalize(p) == normalize(t)), pred, truths)
        f1 += _max_over(
            lambda p, t: _token_f1(normalize(p).split(), normalize(t).split()), pred, truths
        )
    if missing:
        warnings.warn(
            f"{missing} of {len(references)} questions have no prediction; they score 0",
            stacklevel=3,
        )
    return {"exact_match": 100.0 * em / len(references), "f1": 100.0 * f1 / len(references)}


_SQUAD_PUNCT = frozenset(string.punctuation)


def normalize_answer_squad(s: str) -> str:
    """SQuAD v1.1 normalisation: lowercase, drop ASCII punctuation and a/an/the, squash spaces."""
    text = "".join(ch for ch in s.lower() if ch not in _SQUAD_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_exact_match(prediction: str, ground_truths) -> float:
    """1.0 if the normalised prediction equals any normalised ground truth, else 0.0."""
    return _max_over(
        lambda p, t: float(normalize_answer_squad(p) == normalize_answer_squad(t)),
        prediction,
        ground_truths,
    )


def squad_f1(prediction: str, ground_truths) -> float:
    """Best token-overlap F1 (0-1) of the prediction against any ground truth."""
    return _max_over(
        lambda p, t: _token_f1(
            normalize_answer_squad(p).split(), normalize_answer_squad(t).split()
        ),
        prediction,
        ground_truths,
    )


def squad_scores(predictions: dict, references: dict) -> dict[str, float]:
    """SQuAD v1.1 exact_match and f1 (percent) over the reference ids."""
    return _qa_scores(predictions, references, normalize_answer_squad)


@functools.cache
def _mlqa_punct() -> frozenset[str]:
    # Built lazily: scanning every code point takes a noticeable fraction of a second.
    # range(sys.maxunicode) stops one short of U+10FFFF exactly as MLQA's script does.
    unicode_p = {
        chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")
    }
    return frozenset(unicode_p | set(string.punctuation))


_MLQA_WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
_MLQA_MIXED_LANGS = ("zh",)
_MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    # MLQA's pattern verbatim. Its first branch can never match (``^`` after a consumed
    # character), so in effect every "ال" anywhere in the text, mid-word too, becomes a space.
    "ar": r"\sال^|ال",
}


def _mixed_segmentation(text: str) -> list[str]:
    # Each CJK ideograph (MLQA's range stops at U+9FA5) or punctuation mark is its own
    # token; runs of anything else are split on whitespace.
    punct = _mlqa_punct()
    tokens: list[str] = []
    run = ""
    for ch in text:
        if "\u4e00" <= ch <= "\u9fa5" or ch in punct:
            tokens.extend(run.split())
            run = ""
            tokens.append(ch)
        else:
            run += ch
    tokens.extend(run.split())
    return tokens


def normalize_answer_mlqa(s: str, lang: str) -> str:
    """MLQA normalisation: lowercase, drop Unicode punctuation and articles, re-tokenise."""
    if lang not in _MLQA_WHITESPACE_LANGS + _MLQA_MIXED_LANGS:
        raise ValueError(
            f"MLQA has no normalisation for language {lang!r}; "
            f"expected one of {_MLQA_WHITESPACE_LANGS + _MLQA_MIXED_LANGS}"
        )
    punct = _mlqa_punct()
    text = "".join(ch for ch in s.lower() if ch not in punct)
    if lang in _MLQA_ARTICLES:  # hi and zh have no articles to remove
        text = re.sub(_MLQA_ARTICLES[lang], " ", text)
    tokens = text.split() if lang in _MLQA_WHITESPACE_LANGS else _mixed_segmentation(text)
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_scores(predictions: dict, references: dict, lang: str) -> dict[str, float]:
    """MLQA exact_match and f1 (percent) over the reference ids, for answer language lang."""
    return _qa_scores(predictions, references, lambda s: normalize_answer_mlqa(s, lang))


# ---------------------------------------------------------------- sequence labelling


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(seq: Sequence[str]) -> list[tuple[str, int, int]]:
    """Chunks (type, start, end inclusive) exactly as seqeval 1.2.2 ``get_entities`` (prefix mode)."""
    chunks = []
    prev_tag, prev_type, begin = "O", "", 0
    # The trailing "O" flushes a chunk that runs to the end.
    for i, label in enumerate([*seq, "O"]):
        if not label:
            raise ValueError(f"get_entities: empty tag at position {i}")
        # seqeval reads the first character as the scheme tag and the rest (after an optional
        # "-") as the type, even for tags with no prefix: "NOUN" is tag "N", type "OUN".
        # Runs of one such tag therefore merge into one chunk; tags starting with B/I/E/S/O
        # (e.g. "SCONJ", "INTJ") follow that letter's rules.
        tag, type_ = label[0], label[1:].split("-", maxsplit=1)[-1] or "_"
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _check_sentences(y_true: Sequence[Sequence], y_pred: Sequence[Sequence], what: str) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{what}: {len(y_true)} gold sentences but {len(y_pred)} predicted")
    if len(y_true) == 0:
        raise ValueError(f"{what}: no sentences to score")
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"{what}: sentence {i} has {len(t)} gold tags but {len(p)} predicted")


def _flat_with_breaks(sentences: Sequence[Sequence[str]]) -> list[str]:
    # seqeval joins sentences with an "O" after each, so chunks never span sentences and
    # positions are offsets into this joined list.
    return [tag for sent in sentences for tag in [*sent, "O"]]


def seqeval_prf(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Micro precision, recall and f1 (percent) over exact chunk matches, as seqeval's default."""
    _check_sentences(y_true, y_pred, "seqeval_prf")
    true_chunks = set(get_entities(_flat_with_breaks(y_true)))
    pred_chunks = set(get_entities(_flat_with_breaks(y_pred)))
    correct = len(true_chunks & pred_chunks)
    # seqeval's zero_division="warn" scores an undefined ratio as 0.
    p = correct / len(pred_chunks) if pred_chunks else 0.0
    r = correct / len(true_chunks) if true_chunks else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": 100.0 * p, "recall": 100.0 * r, "f1": 100.0 * f}


def seqeval_f1(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> float:
    """seqeval's default micro chunk F1, in percent."""
    return seqeval_prf(y_true, y_pred)["f1"]


def token_accuracy(y_true: Sequence[Sequence], y_pred: Sequence[Sequence]) -> float:
    """Percentage of tokens, over all sentences, whose tag is right."""
    _check_sentences(y_true, y_pred, "token_accuracy")
    gold = [t for sent in y_true for t in sent]
    pred = [t for sent in y_pred for t in sent]
    return accuracy(gold, pred)


# ---------------------------------------------------------------- retrieval and mining


def _as_matrix(similarity, what: str) -> np.ndarray:
    sim = np.asarray(similarity)
    if sim.ndim != 2 or sim.shape[0] == 0 or sim.shape[1] == 0:
        raise ValueError(
            f"{what}: expected a non-empty 2-D similarity matrix, got shape {sim.shape}"
        )
    return sim


def nearest_neighbours(similarity) -> np.ndarray:
    """Column index of the highest similarity in each row (first one on ties)."""
    return np.argmax(_as_matrix(similarity, "nearest_neighbours"), axis=1)


def retrieval_accuracy(similarity) -> float:
    """Percentage of rows whose most similar column is the row's own index (the gold pair)."""
    sim = _as_matrix(similarity, "retrieval_accuracy")
    if sim.shape[0] > sim.shape[1]:
        raise ValueError(
            f"retrieval_accuracy: {sim.shape[0]} queries but only {sim.shape[1]} "
            "candidates; row i's gold is column i"
        )
    return 100.0 * float(np.mean(nearest_neighbours(sim) == np.arange(sim.shape[0])))


def _mean_top_k(sim: np.ndarray, k: int) -> np.ndarray:
    return np.mean(-np.sort(-sim, axis=1)[:, :k], axis=1)


def margin_scores(x, y, k: int = 4) -> np.ndarray:
    """Ratio-margin matrix: cos(x_i, y_j) / ((mean k-NN cos of x_i + mean k-NN cos of y_j) / 2)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or not len(x) or not len(y):
        raise ValueError(
            f"margin_scores: need two non-empty (n, d) arrays, got {x.shape}, {y.shape}"
        )
    for name, m in (("x", x), ("y", y)):
        if not np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-3):
            raise ValueError(f"margin_scores: rows of {name} must be L2-normalised")
    if k < 1:
        raise ValueError(f"margin_scores: k must be >= 1, got {k}")
    cos = x @ y.T
    # Like LASER/XTREME, the neighbourhood shrinks to the other side's size when that is < k.
    fwd = _mean_top_k(cos, min(k, len(y)))  # x_i's neighbours among y
    bwd = _mean_top_k(cos.T, min(k, len(x)))  # y_j's neighbours among x
    return cos / ((fwd[:, None] + bwd[None, :]) / 2)


def bucc_f1(predicted_pairs: set, gold_pairs: set) -> dict[str, float]:
    """Precision, recall and f1 (percent) of extracted sentence pairs against gold pairs."""
    predicted, gold = set(predicted_pairs), set(gold_pairs)
    correct = len(predicted & gold)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    p, r = correct / len(predicted), correct / len(gold)
    return {"precision": 100.0 * p, "recall": 100.0 * r, "f1": 100.0 * 2 * p * r / (p + r)}


def best_threshold(candidates: Sequence[tuple[float, Hashable]], gold: set) -> tuple[float, float]:
    """Threshold t maximising the F1 (percent) of extracting pairs with score >= t, and that F1."""
    if not gold:
        raise ValueError("best_threshold: no gold pairs")
    if not candidates:
        raise ValueError("best_threshold: no candidates")
    pairs = [pair for _, pair in candidates]
    if len(set(pairs)) != len(pairs):
        raise ValueError("best_threshold: a pair appears more than once among the candidates")
    items = sorted(candidates, key=lambda c: -c[0])
    best_t, best_f1 = math.nextafter(float(items[0][0]), math.inf), 0.0  # extracts nothing
    extracted = correct = 0
    i = 0
    while i < len(items):
        # XTREME's bucc_optimize steps one candidate at a time; stepping over a whole group
        # of tied scores instead keeps the reported F1 equal to what ">= t" really extracts.
        score = items[i][0]
        while i < len(items) and items[i][0] == score:
            extracted += 1
            correct += items[i][1] in gold
            i += 1
        if correct == 0:
            continue
        # 2c/(e+g) equals 2PR/(P+R) but rounds identically for equal F1s, so an exact tie
        # keeps the higher threshold (as XTREME's strict ">" intends) instead of float noise.
        f1 = 2 * correct / (extracted + len(gold))
        if f1 > best_f1:
            # Halfway to the next lower score, as XTREME does; the last group keeps its own.
            best_t, best_f1 = score, f1
            if i < len(items):
                mid = (score + items[i][0]) / 2
                if mid > items[i][0]:  # adjacent floats can round the midpoint onto it
                    best_t = mid
    return float(best_t), 100.0 * best_f1
