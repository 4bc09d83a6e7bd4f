"""Span-QA selection metrics: jiant's em_f1, and SQuAD 2.0's no-answer threshold search.

Hand-computed cases, plus a transcription of the official evaluate-v2.0.py (compute_exact,
compute_f1, find_best_thresh) as an independent implementation on random cases.
"""

from __future__ import annotations

import collections
import json
import math
import random
import re
import string

import pytest

from xstilts.evaluate.metrics import normalize_answer_squad
from xstilts.evaluate.squad_v2 import squad_v2_scores
from xstilts.formats.span_qa import SpanQAFormat
from xstilts.tasks.task import GeneratedSource, Task

FMT = SpanQAFormat()


def make_task(**options) -> Task:
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    return Task(name="qa", format="span_qa", languages=["en"], source=source, options=options)


def example(qid: str, *answers: str) -> dict:
    context = "The Eiffel Tower is in Paris, not in Lyon or Nice."
    return {"id": qid, "context": context, "question": "?",
            "answers": {"text": list(answers), "answer_start": [context.index(a) for a in answers]}}


# Four questions, two unanswerable; answered in order of difference:
#   q1 (-3.0) unanswerable, predicts "Lyon"      answered 0,  null 1
#   q2 (-2.0) gold "Paris", predicts "Paris"     answered 1,  null 0
#   q3 (-1.0) gold "Eiffel Tower", "Tower"       EM 0, F1 2/3 (P 1, R 1/2), null 0
#   q4 (-0.5) unanswerable, predicts "Nice"      answered 0,  null 1
EXAMPLES = [example("q1"), example("q2", "Paris"), example("q3", "Eiffel Tower"), example("q4")]
PREDICTIONS = {"q1": {"text": "Lyon", "null_diff": -3.0},
               "q2": {"text": "Paris", "null_diff": -2.0},
               "q3": {"text": "Tower", "null_diff": -1.0},
               "q4": {"text": "Nice", "null_diff": -0.5}}


def test_squad_v2_scores_by_hand():
    scores = FMT.score(EXAMPLES, PREDICTIONS, make_task(version_2_with_negative=True), "en")
    # Threshold 0: all four answered -> EM (0+1+0+0)/4, F1 (0+1+2/3+0)/4.
    # Search, starting with all null (2 right): q1 -> 1, q2 -> 2, q3 -> EM 2 / F1 2+2/3,
    # q4 -> EM 1 / F1 1+2/3. EM never beats the all-null start (threshold just below -3);
    # F1 peaks after q3: threshold -1.
    assert scores == pytest.approx({
        "exact_match": 25.0, "f1": 100 * (5 / 3) / 4, "em_f1": (25.0 + 100 * (5 / 3) / 4) / 2,
        "best_exact": 50.0, "best_exact_threshold": math.nextafter(-3.0, -math.inf),
        "best_f1": 100 * (8 / 3) / 4, "best_f1_threshold": -1.0})
    assert scores["best_exact_threshold"] < -3.0


def test_best_scores_are_the_scores_at_their_thresholds():
    best = FMT.score(EXAMPLES, PREDICTIONS, make_task(version_2_with_negative=True), "en")
    for metric, key in (("exact_match", "best_exact"), ("f1", "best_f1")):
        task = make_task(version_2_with_negative=True, null_threshold=best[f"{key}_threshold"])
        assert FMT.score(EXAMPLES, PREDICTIONS, task, "en")[metric] == pytest.approx(best[key])


def test_unanswerable_predicted_empty_scores_one_in_f1_too():
    # The official v2 script: no answer on both sides is F1 1 (the v1.1 metric would say 0).
    preds = {"q1": {"text": "Lyon", "null_diff": 1.0}, "q2": {"text": "Paris", "null_diff": 1.0}}
    scores = FMT.score(EXAMPLES[:2], preds, make_task(version_2_with_negative=True), "en")
    assert (scores["exact_match"], scores["f1"]) == (50.0, 50.0)
    # Answering q2 alone would score 100, but no threshold splits their tied differences.
    assert (scores["best_exact"], scores["best_f1"]) == (50.0, 50.0)


def test_tied_differences_are_answered_together():
    preds = {"q1": {"text": "Lyon", "null_diff": 0.5}, "q2": {"text": "Paris", "null_diff": 0.5},
             "q3": {"text": "Eiffel Tower", "null_diff": 0.7}}
    scores = FMT.score(EXAMPLES[:3], preds, make_task(version_2_with_negative=True), "en")
    # All null: 1/3. At 0.5: q1 0, q2 1, q3 null 0 -> 1/3. At 0.7: 2/3 (the best).
    assert scores["best_exact"] == pytest.approx(200 / 3)
    assert scores["best_exact_threshold"] == 0.7


def test_v2_prediction_file_is_cut_at_the_threshold(tmp_path):
    path = tmp_path / "p.json"
    FMT.write_predictions(EXAMPLES, PREDICTIONS,
                          make_task(version_2_with_negative=True, null_threshold=-1.5), path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "q1": "Lyon", "q2": "Paris", "q3": "", "q4": ""}


def test_plain_answers_on_a_v2_task_have_no_threshold_to_search():
    preds = {"q1": "", "q2": "Paris", "q3": "Tower", "q4": "Nice"}  # e.g. a trivial baseline
    scores = FMT.score(EXAMPLES, preds, make_task(version_2_with_negative=True), "en")
    assert scores["exact_match"] == 50.0 and scores["f1"] == pytest.approx(100 * (8 / 3) / 4)
    assert (scores["best_exact"], scores["best_f1"]) == (scores["exact_match"], scores["f1"])


def test_em_f1_selectable_as_main_metric():
    task = make_task(main_metric="em_f1", metric="mlqa")
    zh = [{"id": "z", "context": "长城位于中国北部。", "question": "?",
           "answers": {"text": ["中国北部"], "answer_start": [4]}}]
    # MLQA's mixed segmentation: 中 国 北 部 vs 中 国 -> EM 0, F1 2·1·(1/2)/(3/2) = 2/3.
    scores = FMT.score(zh, {"z": "中国"}, task, "zh")
    assert scores[task.options["main_metric"]] == pytest.approx(100 * (2 / 3) / 2)


def test_builtin_squad_v2_selects_on_best_f1():
    from xstilts.tasks.registry import resolve_task

    opts = resolve_task("squad_v2", {}).options
    assert (opts["version_2_with_negative"], opts["main_metric"]) == (True, "best_f1")
    assert "main_metric" not in resolve_task("squad", {}).options  # F1, XTREME's


# ---- the official evaluate-v2.0.py, transcribed (an independent implementation) ----------

def official_normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def official_tokens(s):
    return official_normalize(s).split() if s else []


def official_exact(gold, pred):
    return int(official_normalize(gold) == official_normalize(pred))


def official_f1(gold, pred):
    gold_toks, pred_toks = official_tokens(gold), official_tokens(pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def official_find_best_thresh(preds, scores, na_probs, qid_to_has_ans):
    num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
    cur_score = num_no_ans
    best_score = cur_score
    best_thresh = 0.0
    qid_list = sorted(na_probs, key=lambda k: na_probs[k])
    for qid in qid_list:
        if qid not in scores:
            continue
        if qid_to_has_ans[qid]:
            diff = scores[qid]
        else:
            diff = -1 if preds[qid] else 0
        cur_score += diff
        if cur_score > best_score:
            best_score = cur_score
            best_thresh = na_probs[qid]
    return 100.0 * best_score / len(scores), best_thresh


@pytest.mark.parametrize("seed", range(20))
def test_threshold_search_matches_the_official_script(seed):
    rng = random.Random(seed)
    words = ["Paris", "Lyon", "the Eiffel Tower", "Tower", "Nice", "Gustave Eiffel", ""]
    golds, preds, diffs = {}, {}, {}
    for i in range(rng.randint(3, 12)):
        qid = f"q{i}"
        golds[qid] = [] if rng.random() < 0.4 else rng.sample(words[:-1], rng.randint(1, 2))
        preds[qid] = rng.choice(words)
        diffs[qid] = rng.uniform(-5, 5)  # distinct with probability 1
    ours = squad_v2_scores({q: (preds[q], diffs[q]) for q in golds}, golds,
                           normalize_answer_squad)
    has_ans = {q: bool(golds[q]) for q in golds}
    for raw, key in ((official_exact, "exact"), (official_f1, "f1")):
        scores = {q: max(raw(g, preds[q]) for g in (golds[q] or [""])) for q in golds}
        best, thresh = official_find_best_thresh(preds, scores, diffs, has_ans)
        assert ours[f"best_{key}"] == pytest.approx(best)
        if ours[f"best_{key}_threshold"] >= min(diffs.values()):
            assert ours[f"best_{key}_threshold"] == thresh
        else:  # all null is best: the official script reports 0.0 for that
            assert thresh == 0.0
