"""Metrics against values worked out by hand (the arithmetic sits next to each expectation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xstilts.evaluate.metrics import (
    accuracy,
    best_threshold,
    bucc_f1,
    get_entities,
    macro_f1,
    margin_scores,
    mlqa_scores,
    nearest_neighbours,
    normalize_answer_mlqa,
    normalize_answer_squad,
    retrieval_accuracy,
    seqeval_f1,
    seqeval_prf,
    squad_exact_match,
    squad_f1,
    squad_scores,
    token_accuracy,
)

approx = pytest.approx

# ---------------------------------------------------------------- classification


def test_accuracy():
    # 3 of 4 positions agree -> 3/4 = 75%
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == approx(75.0)


def test_accuracy_errors():
    with pytest.raises(ValueError, match="gold has 4 items but pred has 3"):
        accuracy([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(ValueError, match="no items"):
        accuracy([], [])


def test_macro_f1():
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    # a: tp 1, gold 2, pred 1 -> F1 = 2*1/(2+1) = 2/3
    # b: tp 1, gold 1, pred 3 -> F1 = 2*1/(1+3) = 1/2
    # c: tp 0, gold 1, pred 0 -> F1 = 0
    # mean = (2/3 + 1/2 + 0)/3 = 7/18 = 38.89%
    assert macro_f1(gold, pred) == approx(100 * 7 / 18)
    # "d" is neither gold nor predicted, so it is left out: still 7/18
    assert macro_f1(gold, pred, labels=["a", "b", "c", "d"]) == approx(100 * 7 / 18)
    # only a and b: (2/3 + 1/2)/2 = 7/12 = 58.33%
    assert macro_f1(gold, pred, labels=["a", "b"]) == approx(100 * 7 / 12)


def test_macro_f1_errors():
    with pytest.raises(ValueError, match="none of the given labels"):
        macro_f1(["a"], ["a"], labels=["z"])
    with pytest.raises(ValueError, match="gold has 2 items but pred has 1"):
        macro_f1(["a", "b"], ["a"])


# ---------------------------------------------------------------- SQuAD v1.1


def test_normalize_answer_squad():
    # lowercase, ASCII punctuation gone, articles gone, whitespace squashed
    assert normalize_answer_squad("The  Cat, sat!") == "cat sat"
    # "an" inside "anthem" is not an article (word boundaries)
    assert normalize_answer_squad("Anthem of the an") == "anthem of"
    # SQuAD only strips string.punctuation: curly quotes stay (MLQA strips them)
    assert normalize_answer_squad("“cat”") == "“cat”"


def test_squad_f1_and_em():
    # "cat sat" vs "cat sat down": common 2, P = 2/2, R = 2/3 -> F1 = 2*1*(2/3)/(1+2/3) = 0.8
    assert squad_f1("the cat sat", ["a cat sat down"]) == approx(0.8)
    assert squad_exact_match("the cat sat", ["a cat sat down"]) == 0.0
    # max over ground truths: "dog" -> 0; "cat sat": P 1/1, R 1/2 -> 2/3
    assert squad_f1("cat", ["dog", "cat sat"]) == approx(2 / 3)
    # "The cat." normalises to "cat"
    assert squad_exact_match("cat", ["Dog", "The cat."]) == 1.0
    # a bare string is one ground truth, not a list of characters
    assert squad_exact_match("cat", "The cat") == 1.0
    # two answers that normalise to nothing score F1 0, as in the official script
    assert squad_f1("the", ["a"]) == 0.0


def test_squad_scores():
    refs = {"q1": ["Denver Broncos"], "q2": ["1998", "in 1998"], "q3": ["the blue house"]}
    preds = {"q1": "denver broncos", "q2": "1998 season", "qX": "ignored"}
    # q1: EM 1, F1 1
    # q2: vs "1998": P 1/2, R 1/1 -> 2/3; vs "in 1998": P 1/2, R 1/2 -> 1/2; max 2/3; EM 0
    # q3: no prediction -> 0 (with a warning); qX is not a reference id -> ignored
    # EM = 1/3 = 33.33%; F1 = (1 + 2/3 + 0)/3 = 5/9 = 55.56%
    with pytest.warns(UserWarning, match="1 of 3 questions have no prediction"):
        scores = squad_scores(preds, refs)
    assert scores == {"exact_match": approx(100 / 3), "f1": approx(100 * 5 / 9)}


def test_squad_errors():
    with pytest.raises(ValueError, match="no reference questions"):
        squad_scores({}, {})
    with pytest.raises(ValueError, match="no ground-truth answers"):
        squad_scores({"q": "x"}, {"q": []})


# ---------------------------------------------------------------- MLQA


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # en: curly quotes and comma are Unicode punctuation; "the" and "a" are articles
        ("The “Cat”, a dog", "en", "cat dog"),
        # es: los/las removed, "y" kept
        ("Los gatos y las casas", "es", "gatos y casas"),
        # es: ¿ and ? are punctuation; "el" is an article
        ("¿El Niño?", "es", "niño"),
        # de: der/die removed
        ("Der Hund und die Katze", "de", "hund und katze"),
        # de: "das" removed but not inside "dasein"
        ("Das Dasein", "de", "dasein"),
        # vi: những and của removed
        ("Những con mèo của tôi", "vi", "con mèo tôi"),
        # ar: the al- prefix becomes a space ...
        ("في القاهرة", "ar", "في قاهرة"),
        ("الكتاب", "ar", "كتاب"),
        # ... and, as MLQA's regex does, so does "ال" in the middle of a word: "مال" -> "م"
        ("مال", "ar", "م"),
        # hi: the danda (U+0964, category Po) is punctuation; no articles removed
        ("भारत की राजधानी।", "hi", "भारत की राजधानी"),
        # zh: every CJK character is a token; 。 is punctuation
        ("北京大学的学生。", "zh", "北 京 大 学 的 学 生"),
        # zh: non-CJK runs stay together (and are lowercased)
        ("1998年", "zh", "1998 年"),
        ("BERT模型", "zh", "bert 模 型"),
        # zh removes no articles
        ("the cat", "zh", "the cat"),
    ],
)
def test_normalize_answer_mlqa(text, lang, expected):
    assert normalize_answer_mlqa(text, lang) == expected


def test_mlqa_zh_mixed_segmentation_gives_partial_credit():
    # pred tokens 北 京 大 学 (4); gold tokens 北 京 大 学 的 学 生 (7)
    # common: 北 1, 京 1, 大 1, 学 min(1, 2) = 1 -> 4
    # P = 4/4, R = 4/7 -> F1 = 2*(4/7)/(1 + 4/7) = 8/11 = 72.73%; EM 0
    scores = mlqa_scores({"q": "北京大学"}, {"q": ["北京大学的学生"]}, "zh")
    assert scores == {"exact_match": 0.0, "f1": approx(100 * 8 / 11)}
    # with whitespace tokenisation the two are single, different tokens -> F1 0
    with pytest.warns(UserWarning, match="1 of 2 questions"):
        scores = mlqa_scores({"q": "北京大学"}, {"q": ["北京大学的学生"], "r": ["x"]}, "en")
    assert scores == {"exact_match": 0.0, "f1": 0.0}


def test_mlqa_scores_de():
    # "Die Katze" -> "katze" equals gold "katze" -> EM 1, F1 1
    # "einem Hund!" -> "hund" vs "der große Hund" -> "große hund": P 1/1, R 1/2 -> 2/3
    # EM = 1/2 = 50%; F1 = (1 + 2/3)/2 = 5/6 = 83.33%
    refs = {"a": ["katze"], "b": ["der große Hund"]}
    scores = mlqa_scores({"a": "Die Katze", "b": "einem Hund!"}, refs, "de")
    assert scores == {"exact_match": approx(50.0), "f1": approx(100 * 5 / 6)}


def test_mlqa_unknown_language():
    with pytest.raises(ValueError, match="no normalisation for language 'fr'"):
        normalize_answer_mlqa("le chat", "fr")


# ---------------------------------------------------------------- seqeval


def test_get_entities_iob2():
    assert get_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # IOB1: an I- with no B- still opens a chunk
    assert get_entities(["I-PER", "I-PER", "O"]) == [("PER", 0, 1)]
    # a type change closes a chunk even without B-
    assert get_entities(["B-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]
    # B- after B- of the same type starts a new chunk
    assert get_entities(["B-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]


def test_get_entities_raw_pos_tags():
    # No prefix: first char is the tag, the rest the type. "NOUN" = tag N, type OUN.
    # Same type -> no end and no start, so the run merges.
    assert get_entities(["NOUN", "NOUN", "VERB"]) == [("OUN", 0, 1), ("ERB", 2, 2)]
    # "SCONJ" = tag S, type CONJ: S always ends after itself and starts anew -> singletons
    assert get_entities(["SCONJ", "SCONJ"]) == [("CONJ", 0, 0), ("CONJ", 1, 1)]
    # "CCONJ" = tag C, type CONJ. At SCONJ (i=1): prev tag C with the same type -> no end;
    # tag S -> start at 1, overwriting CCONJ's start; the CCONJ chunk is never emitted.
    assert get_entities(["CCONJ", "SCONJ"]) == [("CONJ", 1, 1)]


def test_seqeval_ner_iob2():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    y_pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "I-ORG", "B-PER"]]
    # sentences are joined with an "O" after each: sentence 2 starts at offset 5
    # true: (PER,0,1) (LOC,3,3) (ORG,5,7)             -> 3 chunks
    # pred: (PER,0,1) (ORG,3,3) (ORG,5,7) (PER,8,8)   -> 4 chunks
    # correct: (PER,0,1) (ORG,5,7) = 2
    # P = 2/4 = 50%, R = 2/3 = 66.67%, F1 = 2*(1/2)*(2/3)/(1/2 + 2/3) = 4/7 = 57.14%
    prf = seqeval_prf(y_true, y_pred)
    assert prf == {
        "precision": approx(50.0),
        "recall": approx(100 * 2 / 3),
        "f1": approx(100 * 4 / 7),
    }
    assert seqeval_f1(y_true, y_pred) == approx(100 * 4 / 7)


def test_seqeval_iob1_lenient_and_sentence_breaks():
    # I-PER I-PER reads as the same chunk as B-PER I-PER -> 1/1 everywhere
    assert seqeval_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]]) == approx(100.0)
    # a chunk does not continue across sentences: gold joins to B-PER O I-PER O ->
    # (PER,0,0) (PER,2,2); pred B-PER O B-PER O -> the same two chunks -> 100%.
    # (Joined without the "O", B-PER I-PER would be one chunk (PER,0,1) and score 0.)
    assert seqeval_prf([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]])["f1"] == approx(100.0)


def test_seqeval_pos_chunk_merging():
    y_true = [["NOUN", "NOUN", "VERB"]]
    y_pred = [["NOUN", "VERB", "VERB"]]
    # true: NOUN NOUN merge -> (OUN,0,1); VERB -> (ERB,2,2)
    # pred: NOUN -> (OUN,0,0); VERB VERB merge -> (ERB,1,2)
    # no chunk in common -> P = R = F1 = 0, although 2/3 tokens are right
    assert seqeval_prf(y_true, y_pred) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert token_accuracy(y_true, y_pred) == approx(100 * 2 / 3)

    y_true = [["NOUN", "VERB", "VERB", "ADJ"]]
    y_pred = [["NOUN", "VERB", "NOUN", "ADJ"]]
    # true: (OUN,0,0) (ERB,1,2) (DJ,3,3)               -> 3
    # pred: (OUN,0,0) (ERB,1,1) (OUN,2,2) (DJ,3,3)     -> 4
    # correct: (OUN,0,0) (DJ,3,3) = 2 -> P 2/4, R 2/3, F1 4/7
    prf = seqeval_prf(y_true, y_pred)
    assert prf == {
        "precision": approx(50.0),
        "recall": approx(100 * 2 / 3),
        "f1": approx(100 * 4 / 7),
    }


def test_seqeval_no_chunks_scores_zero():
    # no chunks anywhere: seqeval's zero_division="warn" gives 0, not 100
    assert seqeval_prf([["O", "O"]], [["O", "O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_sequence_errors():
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        seqeval_prf([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 0 has 3 gold tags but 2 predicted"):
        seqeval_f1([["O", "O", "O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="sentence 1 has 1 gold tags but 0 predicted"):
        token_accuracy([["A"], ["B"]], [["A"], []])
    with pytest.raises(ValueError, match="no sentences"):
        seqeval_prf([], [])
    with pytest.raises(ValueError, match="empty tag at position 1"):
        get_entities(["O", ""])


def test_token_accuracy():
    # 2 of 3 tokens right over both sentences -> 66.67%
    assert token_accuracy([["A", "B"], ["C"]], [["A", "X"], ["C"]]) == approx(100 * 2 / 3)


# ---------------------------------------------------------------- retrieval


def test_retrieval_accuracy_and_neighbours():
    sim = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.8], [0.1, 0.0, 0.7]])
    # argmax per row: 0, 2, 2; gold 0, 1, 2 -> 2/3 right = 66.67%
    assert nearest_neighbours(sim).tolist() == [0, 2, 2]
    assert retrieval_accuracy(sim) == approx(100 * 2 / 3)
    # ties go to the first column
    assert nearest_neighbours([[0.5, 0.5]]).tolist() == [0]
    # fewer queries than candidates is fine: row 0's gold is column 0 -> 100%
    assert retrieval_accuracy([[0.9, 0.2, 0.1]]) == approx(100.0)


def test_retrieval_errors():
    with pytest.raises(ValueError, match="3 queries but only 2 candidates"):
        retrieval_accuracy(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        nearest_neighbours(np.zeros(3))


# ---------------------------------------------------------------- BUCC


def test_margin_scores():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.6, 0.8]])
    # cos = [[1, 0.6], [0, 0.8]]
    # k=1: x-side top-1: x0 1, x1 0.8; y-side top-1: y0 max(1,0)=1, y1 max(0.6,0.8)=0.8
    #   [0,0] 1/((1+1)/2) = 1; [0,1] 0.6/((1+0.8)/2) = 2/3; [1,0] 0; [1,1] 0.8/((0.8+0.8)/2) = 1
    assert margin_scores(x, y, k=1) == approx(np.array([[1.0, 2 / 3], [0.0, 1.0]]))
    # k=2: x0 (1+0.6)/2 = 0.8, x1 (0+0.8)/2 = 0.4; y0 (1+0)/2 = 0.5, y1 (0.6+0.8)/2 = 0.7
    #   [0,0] 1/((0.8+0.5)/2) = 1/0.65; [0,1] 0.6/((0.8+0.7)/2) = 0.8
    #   [1,0] 0;                       [1,1] 0.8/((0.4+0.7)/2) = 0.8/0.55
    expected = np.array([[1 / 0.65, 0.8], [0.0, 0.8 / 0.55]])
    assert margin_scores(x, y, k=2) == approx(expected)
    # k larger than either side shrinks to the side's size: same as k=2
    assert margin_scores(x, y, k=4) == approx(expected)


def test_margin_scores_errors():
    with pytest.raises(ValueError, match="rows of x must be L2-normalised"):
        margin_scores(np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match="k must be >= 1"):
        margin_scores(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), k=0)


def test_bucc_f1():
    # correct 1 of 3 predicted, 1 of 2 gold: P 1/3, R 1/2, F1 = 2*(1/6)/(5/6) = 0.4
    scores = bucc_f1({(1, "a"), (2, "b"), (3, "c")}, {(1, "a"), (2, "x")})
    assert scores == {"precision": approx(100 / 3), "recall": approx(50.0), "f1": approx(40.0)}
    assert bucc_f1(set(), {(1, "a")}) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_best_threshold():
    cands = [(0.9, "A"), (0.8, "B"), (0.7, "C"), (0.4, "D")]
    gold = {"A", "C", "E"}
    # F1 = 2c/(extracted + |gold|), |gold| = 3
    # >= 0.9: 1 extracted, 1 correct -> 2/4 = 0.5
    # >= 0.8: 2, 1 -> 2/5 = 0.4
    # >= 0.7: 3, 2 -> 4/6 = 0.667  <- best
    # >= 0.4: 4, 2 -> 4/7 = 0.571
    # threshold halfway to the next score: (0.7 + 0.4)/2 = 0.55
    t, f1 = best_threshold(cands, gold)
    assert t == approx(0.55)
    assert f1 == approx(100 * 2 / 3)
    extracted = {p for s, p in cands if s >= t}
    assert bucc_f1(extracted, gold)["f1"] == approx(f1)


def test_best_threshold_ties_and_last_group():
    # tied scores are extracted together: {B}, then {A, C} at 0.5
    # >= 0.9: 0 correct; >= 0.5: 3 extracted, 1 correct -> 2/(3+1) = 0.5
    # (stepping one candidate at a time would claim 2/(2+1) = 0.667 for a threshold of 0.5
    #  that really extracts all three)
    t, f1 = best_threshold([(0.9, "B"), (0.5, "A"), (0.5, "C")], {"A"})
    assert (t, f1) == (0.5, approx(50.0))
    # best cut keeps every candidate: the threshold is the lowest score itself
    # >= 0.1: 2 extracted, 1 correct -> 2/(2+1) = 2/3
    assert best_threshold([(0.9, "B"), (0.1, "A")], {"A"}) == (0.1, approx(100 * 2 / 3))
    # nothing correct: a threshold above every score, F1 0
    t, f1 = best_threshold([(0.9, "B")], {"A"})
    assert t > 0.9 and math.isclose(t, 0.9) and f1 == 0.0


def test_best_threshold_errors():
    with pytest.raises(ValueError, match="no gold pairs"):
        best_threshold([(0.5, "A")], set())
    with pytest.raises(ValueError, match="no candidates"):
        best_threshold([], {"A"})
    with pytest.raises(ValueError, match="more than once"):
        best_threshold([(0.5, "A"), (0.4, "A")], {"A"})
