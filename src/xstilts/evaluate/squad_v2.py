"""SQuAD 2.0 scoring with a no-answer threshold, as the official `evaluate-v2.0.py`.

Each question has a best non-null answer text and a null-score difference (null score minus
that span's score, HF's `null_score_diff`); at threshold t a question is answered "" when its
difference is above t. Scores per question follow the official script: an unanswerable
question's gold is "", an empty prediction matches it (EM and F1 = 1), gold answers that
normalise to nothing are dropped. `best_*` search the thresholds as its `find_best_thresh`:
questions sorted by difference are answered one after another, the best running total wins.
Three details differ, each so that `best_*` is exactly the score at `best_*_threshold`:
tied differences are answered together (one threshold cannot split them); the all-null start
reports a threshold just below the smallest difference (the official script says 0.0); an
answered unanswerable question changes the total by (its score - 1), which is the official
-1 except for a prediction that normalises to nothing (it scores 1 there, too).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable

Normalize = Callable[[str], str]


def v2_exact_f1(prediction: str, golds: list[str], normalize: Normalize) -> tuple[float, float]:
    """evaluate-v2.0.py's compute_exact and compute_f1, maximised over the gold answers."""
    golds = [g for g in golds if normalize(g)] or [""]
    pred_tokens = normalize(prediction).split()
    exact = f1 = 0.0
    for gold in golds:
        gold_tokens = normalize(gold).split()
        exact = max(exact, float(normalize(gold) == normalize(prediction)))
        if not gold_tokens or not pred_tokens:  # no-answer on either side: 1 if both
            f1 = max(f1, float(gold_tokens == pred_tokens))
            continue
        same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
        if same:
            p, r = same / len(pred_tokens), same / len(gold_tokens)
            f1 = max(f1, 2 * p * r / (p + r))
    return exact, f1


def best_null_threshold(rows: list[tuple[float, float, float]], total: int,
                        ) -> tuple[float, float]:
    """(best score in percent, its threshold) over rows of (difference, score if answered,
    score if null), out of `total` questions (missing ones count 0)."""
    if not rows:
        return 0.0, 0.0
    rows = sorted(rows, key=lambda r: r[0])
    running = sum(null for _, _, null in rows)
    best, threshold = running, math.nextafter(rows[0][0], -math.inf)  # everything null
    i = 0
    while i < len(rows):
        diff = rows[i][0]
        while i < len(rows) and rows[i][0] == diff:
            running += rows[i][1] - rows[i][2]
            i += 1
        if running > best:
            best, threshold = running, diff
    return 100.0 * best / total, float(threshold)


def squad_v2_scores(predictions: dict[str, tuple[str, float | None]],
                    references: dict[str, list[str]], normalize: Normalize,
                    threshold: float = 0.0) -> dict[str, float]:
    """exact_match and f1 at `threshold`, and best_exact/best_f1 with their thresholds.

    predictions: id -> (best non-null text, null-score difference or None for a plain answer,
    taken as given at every threshold); references: id -> gold texts ([] = unanswerable).
    """
    if not references:
        raise ValueError("no reference questions to score")
    em = f1 = 0.0
    rows_em, rows_f1 = [], []
    missing, plain = 0, False
    for qid, golds in references.items():
        if qid not in predictions:
            missing += 1  # scores 0 at every threshold, as in the v1.1 scorers here
            continue
        text, diff = predictions[qid]
        exact, overlap = v2_exact_f1(text, list(golds), normalize)
        null = 0.0 if golds else 1.0  # what answering "" scores
        if diff is None:
            plain = True
            em, f1 = em + exact, f1 + overlap
            continue
        answered = diff <= threshold
        em += exact if answered else null
        f1 += overlap if answered else null
        rows_em.append((diff, exact, null))
        rows_f1.append((diff, overlap, null))
    if missing:
        warnings.warn(f"{missing} of {len(references)} questions have no prediction; they "
                      "score 0", stacklevel=2)
    n = len(references)
    scores = {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}
    if plain:  # answers without differences: no threshold to search
        return {**scores, "best_exact": scores["exact_match"], "best_exact_threshold": threshold,
                "best_f1": scores["f1"], "best_f1_threshold": threshold}
    best_em, em_t = best_null_threshold(rows_em, n)
    best_f1, f1_t = best_null_threshold(rows_f1, n)
    return {**scores, "best_exact": best_em, "best_exact_threshold": em_t,
            "best_f1": best_f1, "best_f1_threshold": f1_t}
