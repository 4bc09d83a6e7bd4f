"""XTREME scoring of prediction folders against values worked out by hand (arithmetic in comments)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures import write_colour_task

from xstilts.cli import main
from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.average import task_score
from xstilts.evaluate.xtreme import (
    TASK_METRIC,
    XTREME_LANGUAGES,
    XTREME_R_GROUPS,
    XTREME_R_LANGUAGES,
    describe_average,
    format_scores,
    score_benchmark,
    split_text,
    suffix,
)
from xstilts.formats import get_format
from xstilts.study.run import run_config
from xstilts.tasks.task import GeneratedSource, Task

approx = pytest.approx


def put(root: Path, side: str, task: str, lang: str, content, split: str = "test") -> Path:
    """Write root/side/task/<split>-lang.suffix (text as is, anything else as JSON)."""
    path = root / side / task / f"{split}-{lang}.{suffix(task)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False),
                    encoding="utf-8")
    return path


def squad(qas: dict[str, list[str]]) -> dict:
    """SQuAD-format labels: question id -> gold answer texts."""
    return {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "q", "answers": [{"text": t, "answer_start": 0} for t in answers]}
        for qid, answers in qas.items()]}]}]}


def write_pair(root, task, lang, gold, pred, split="test"):
    put(root, "labels", task, lang, gold, split)
    put(root, "predictions", task, lang, pred, split)


def score(root, benchmark="xtreme", split="auto"):
    return score_benchmark(root / "predictions", root / "labels", benchmark, split)


# ---------------------------------------------------------------- task writers with known scores

PAWSX_PRED = {"de": "1\n0\n1\n1\n", "en": "1\n0\n1\n0\n", "es": "1\n1\n1\n0\n",
              "fr": "0\n1\n1\n0\n", "ja": "0\n1\n0\n0\n", "ko": "1\n0\n1\n1\n", "zh": "0\n0\n1\n0\n"}
# Against gold 1,0,1,1: de 4/4, en 3/4, es 2/4, fr 1/4, ja 0/4, ko 4/4, zh 2/4 right
# -> 100, 75, 50, 25, 0, 100, 50; average 400/7 = 57.142857
PAWSX_AVG = 400 / 7


def write_pawsx(root):
    for lang, pred in PAWSX_PRED.items():
        write_pair(root, "pawsx", lang, "1\n0\n1\n1\n", pred)


UD_GOLD = "NOUN\nNOUN\nVERB\n\nDET\nNOUN\n\n"
UD_PRED = "NOUN\nVERB\nVERB\n\nDET\nNOUN\n\n"
# seqeval on raw tags reads NOUN as tag "N" of type "OUN": a run of NOUNs is one chunk.
# gold chunks: OUN[0-1], ERB[2], ET[4], OUN[5]; predicted: OUN[0], ERB[1-2], ET[4], OUN[5]
# -> 2 of 4 right: P = R = F1 = 50 (although 4 of 5 tokens are right).
# en predicted perfectly -> 100; average over 33 languages (100 + 32 * 50) / 33 = 51.515152
UDPOS_AVG = (100 + 32 * 50) / 33


def write_udpos(root):
    for lang in XTREME_LANGUAGES["udpos"]:
        write_pair(root, "udpos", lang, UD_GOLD, UD_GOLD if lang == "en" else UD_PRED)


MLQA_CASES = {  # lang: (gold, prediction)
    "en": ("the city", "City."),  # article and punctuation go: EM 1, F1 1
    "es": ("la ciudad", "ciudad"),  # Spanish article "la": EM 1, F1 1
    "de": ("der Eiffelturm", "Eiffelturm"),  # German article "der": EM 1, F1 1
    "ar": ("القاهرة", "قاهرة"),  # MLQA removes every "ال": EM 1, F1 1
    "hi": ("दिल्ली शहर", "दिल्ली"),  # 1 of 2 gold tokens: P 1, R 1/2 -> F1 2/3, EM 0
    "vi": ("thành phố Hà Nội", "Hà Nội"),  # 2 of 4 gold tokens: F1 2/3, EM 0
    "zh": ("北京市", "北京"),  # one token per ideograph: 2 of 3 -> F1 0.8, EM 0
}
MLQA_EM = 400 / 7  # 4 of 7 languages exact: 57.142857
MLQA_F1 = (4 + 2 / 3 + 2 / 3 + 0.8) / 7 * 100  # 87.619048
MLQA_SCORE = (MLQA_EM + MLQA_F1) / 2  # XTREME's QA task score: 72.380952


def write_mlqa(root):
    for lang, (gold, pred) in MLQA_CASES.items():
        write_pair(root, "mlqa", lang, squad({f"{lang}-1": [gold]}), {f"{lang}-1": pred})


BUCC_CASES = {  # lang: (gold lines, predicted lines)
    "de": (["de-1\ten-5", "de-2\ten-7", "de-3\ten-9"], ["de-1\ten-5", "de-2\ten-8"]),
    "fr": (["fr-1\ten-1"], ["fr-1\ten-1"]),
    "ru": (["ru-1\ten-1"], ["ru-1\ten-2"]),
    "zh": (["zh-1\ten-1", "zh-2\ten-2"], ["zh-1\ten-1", "zh-1\ten-1"]),
}
# de: 1 right of 2 predicted, 3 gold -> P 1/2, R 1/3, F1 = 2*(1/6)/(5/6) = 0.4 -> 40
# fr: 100; ru: 0; zh: the duplicate line counts once -> P 1, R 1/2, F1 2/3 -> 66.666667
BUCC_F1 = (40 + 100 + 0 + 200 / 3) / 4  # 51.666667
BUCC_P = (50 + 100 + 0 + 100) / 4  # 62.5
BUCC_R = (100 / 3 + 100 + 0 + 50) / 4  # 45.833333


def write_bucc(root):
    for lang, (gold, pred) in BUCC_CASES.items():
        write_pair(root, "bucc2018", lang, "".join(g + "\n" for g in gold),
                   "".join(p + "\n" for p in pred))


# Tatoeba: gold indices 0..3; predicted 0,1,3,3 -> 75, ar perfect -> 100
TATOEBA_AVG = (100 + 35 * 75) / 36  # 75.694444


def write_tatoeba(root):
    for lang in XTREME_LANGUAGES["tatoeba"]:
        write_pair(root, "tatoeba", lang, "0\n1\n2\n3\n", "0\n1\n2\n3\n" if lang == "ar" else
                   "0\n1\n3\n3\n")


def write_perfect(root, task, langs=None):
    """Predictions equal to the gold for every (or the given) language: score 100."""
    for lang in langs or XTREME_LANGUAGES[task]:
        if suffix(task) == "json":
            write_pair(root, task, lang, squad({"q": ["an answer"]}), {"q": "an answer"})
        elif TASK_METRIC[task] == "f1" and task != "bucc2018":
            write_pair(root, task, lang, "B-PER\nO\n\n", "B-PER\nO\n\n")
        else:
            write_pair(root, task, lang, "a\tb\n", "a\tb\n")


# ---------------------------------------------------------------- one task type at a time


def test_classification_accuracy_per_language_and_average(tmp_path):
    write_pawsx(tmp_path)
    r = score(tmp_path)["tasks"]["pawsx"]
    assert {lang: m["accuracy"] for lang, m in r["languages"].items()} == approx(
        {"de": 100.0, "en": 75.0, "es": 50.0, "fr": 25.0, "ja": 0.0, "ko": 100.0, "zh": 50.0})
    assert r["missing_languages"] == []
    assert r["average"] == approx({"accuracy": PAWSX_AVG})
    assert r["score"] == approx(57.142857)


def test_tagging_merges_runs_of_pos_tags_and_averages(tmp_path):
    write_udpos(tmp_path)
    r = score(tmp_path)["tasks"]["udpos"]
    assert r["languages"]["de"] == approx({"f1": 50.0, "precision": 50.0, "recall": 50.0})
    assert r["languages"]["en"]["f1"] == approx(100.0)
    assert r["score"] == approx(UDPOS_AVG) and r["score"] == approx(51.515152)


def test_squad_normalisation_for_xquad(tmp_path):
    gold = squad({"q1": ["the Eiffel Tower"], "q2": ["1889"], "q3": ["Paris", "city of Paris"]})
    pred = {"q1": "Eiffel Tower.", "q2": "in 1889", "q3": "Paris, France"}
    # q1: articles and punctuation dropped -> EM 1, F1 1
    # q2: [in, 1889] vs [1889] -> P 1/2, R 1 -> F1 2/3; EM 0
    # q3: best over golds: [paris, france] vs [paris] -> F1 2/3 (vs [city, of, paris]: 0.4); EM 0
    # -> EM 1/3 = 33.333333, F1 (1 + 2/3 + 2/3)/3 = 7/9 = 77.777778
    write_pair(tmp_path, "xquad", "en", gold, pred)
    # XQuAD keeps SQuAD's English-only normalisation in every language: "der" stays a token,
    # [eiffelturm] vs [der, eiffelturm] -> EM 0, F1 2/3 (MLQA's German rules would give 1, 1)
    write_pair(tmp_path, "xquad", "de", squad({"d": ["der Eiffelturm"]}), {"d": "Eiffelturm"})
    r = score(tmp_path)["tasks"]["xquad"]
    assert r["languages"]["en"] == approx({"exact_match": 100 / 3, "f1": 700 / 9})
    assert r["languages"]["de"] == approx({"exact_match": 0.0, "f1": 200 / 3})
    assert r["average"] is None and len(r["missing_languages"]) == 9


def test_mlqa_normalisation_per_language_and_qa_task_score(tmp_path):
    write_mlqa(tmp_path)
    r = score(tmp_path)["tasks"]["mlqa"]
    expected = {"en": (100, 100), "es": (100, 100), "de": (100, 100), "ar": (100, 100),
                "hi": (0, 200 / 3), "vi": (0, 200 / 3), "zh": (0, 80)}
    assert {lang: (m["exact_match"], m["f1"]) for lang, m in r["languages"].items()} == {
        lang: approx(v) for lang, v in expected.items()}
    assert r["average"] == approx({"exact_match": MLQA_EM, "f1": MLQA_F1})
    assert r["score"] == approx(MLQA_SCORE) and r["score"] == approx(72.380952)


def test_unanswered_question_scores_zero(tmp_path):
    # 2 gold questions, 1 answered exactly -> EM 50, F1 50 (as the official scripts)
    write_pair(tmp_path, "tydiqa", "en", squad({"a": ["x"], "b": ["y"]}), {"a": "x"})
    with pytest.warns(UserWarning, match="no prediction"):
        r = score(tmp_path)["tasks"]["tydiqa"]
    assert r["languages"]["en"] == approx({"exact_match": 50.0, "f1": 50.0})


def test_bucc_pairs(tmp_path):
    write_bucc(tmp_path)
    r = score(tmp_path)["tasks"]["bucc2018"]
    assert r["languages"]["de"] == approx({"precision": 50.0, "recall": 100 / 3, "f1": 40.0})
    assert r["languages"]["ru"]["f1"] == 0.0
    assert r["languages"]["zh"]["f1"] == approx(200 / 3)
    assert r["average"] == approx({"f1": BUCC_F1, "precision": BUCC_P, "recall": BUCC_R})
    assert r["score"] == approx(51.666667)


def test_tatoeba_indices(tmp_path):
    write_tatoeba(tmp_path)
    r = score(tmp_path)["tasks"]["tatoeba"]
    assert r["languages"]["ar"]["accuracy"] == 100.0 and r["languages"]["de"]["accuracy"] == 75.0
    assert r["score"] == approx(TATOEBA_AVG) and r["score"] == approx(75.694444)


# ---------------------------------------------------------------- groups and the overall score


def test_complete_benchmark_groups_and_overall(tmp_path):
    for write in (write_pawsx, write_udpos, write_mlqa, write_bucc, write_tatoeba):
        write(tmp_path)
    for task in ("xnli", "panx", "xquad", "tydiqa"):
        write_perfect(tmp_path, task)
    result = score(tmp_path)
    assert result["missing_tasks"] == []
    # group = mean of its tasks' scores; the three perfect tasks score 100
    assert result["groups"] == approx({
        "classification": (PAWSX_AVG + 100) / 2,  # 78.571429
        "tagging": (UDPOS_AVG + 100) / 2,  # 75.757576
        "qa": (100 + MLQA_SCORE + 100) / 3,  # 90.793651
        "retrieval": (BUCC_F1 + TATOEBA_AVG) / 2,  # 63.680556
    })
    # overall = mean over the nine task scores:
    # (57.142857 + 100 + 51.515152 + 100 + 100 + 72.380952 + 100 + 51.666667 + 75.694444) / 9
    # = 708.400072 / 9 = 78.711119
    overall = (PAWSX_AVG + 100 + UDPOS_AVG + 100 + 100 + MLQA_SCORE + 100 + BUCC_F1
               + TATOEBA_AVG) / 9
    assert result["overall"] == approx(overall) and result["overall"] == approx(78.711119)
    # All nine tasks in all their languages: the XTREME score, and the average says so.
    average = result["average"]
    assert average["complete"] and average["label"] == "XTREME score"
    assert average["value"] == result["overall"] and average["splits"] == "test"
    assert average["task_scores"]["mlqa"] == approx(MLQA_SCORE)
    text = format_scores(result)
    assert "overall: 78.71 (the XTREME score: all 9 tasks, every official language; split " \
           "test)" in text
    assert "partial" not in text


def test_incomplete_benchmark(tmp_path):
    write_pawsx(tmp_path)
    write_perfect(tmp_path, "xnli")
    write_udpos(tmp_path)  # panx absent: no tagging group
    write_perfect(tmp_path, "mlqa", ["en", "de"])  # 5 of 7 languages missing: no mlqa average
    (tmp_path / "predictions" / "colour").mkdir()  # not an XTREME task: ignored
    result = score(tmp_path)
    assert result["groups"] == approx({"classification": (PAWSX_AVG + 100) / 2})
    assert result["overall"] is None
    assert result["missing_tasks"] == ["panx", "xquad", "tydiqa", "bucc2018", "tatoeba"]
    mlqa = result["tasks"]["mlqa"]
    assert mlqa["average"] is None and mlqa["score"] is None
    assert mlqa["missing_languages"] == ["es", "ar", "hi", "vi", "zh"]
    assert set(mlqa["languages"]) == {"en", "de"}
    assert any("colour" in n for n in result["notes"])


def test_xtreme_r_definitions(tmp_path):
    assert XTREME_R_GROUPS["classification"] == ["xnli", "xcopa"]
    assert XTREME_R_GROUPS["retrieval"] == ["mewsli-x", "lareqa", "tatoeba"]
    assert {"lt", "pl", "uk", "wo", "ro"} <= set(XTREME_R_LANGUAGES["udpos"])
    assert len(XTREME_R_LANGUAGES["tatoeba"]) == 41
    write_pawsx(tmp_path)  # not part of XTREME-R
    write_perfect(tmp_path, "xnli")
    for lang in XTREME_R_LANGUAGES["xcopa"]:
        write_pair(tmp_path, "xcopa", lang, "0\n1\n", "0\n0\n")  # 1 of 2 -> 50
    result = score(tmp_path, "xtreme-r")
    assert "pawsx" not in result["tasks"]
    assert result["tasks"]["xcopa"]["score"] == approx(50.0)
    assert result["groups"] == approx({"classification": 75.0})  # (100 + 50) / 2
    assert result["overall"] is None and "mewsli-x" in result["missing_tasks"]


def test_xtreme_r_unsupported_task_is_an_error(tmp_path):
    write_perfect(tmp_path, "xnli")
    (tmp_path / "predictions" / "mewsli-x").mkdir()
    with pytest.raises(XstiltsError, match="cannot score the XTREME-R task.*Mewsli-X"):
        score(tmp_path, "xtreme-r")
    with pytest.raises(XstiltsError, match="unknown benchmark 'xtreme-s'"):
        score(tmp_path, "xtreme-s")


# ---------------------------------------------------------------- errors


def test_missing_prediction_file_is_an_error(tmp_path):
    write_pawsx(tmp_path)
    (tmp_path / "predictions" / "pawsx" / "test-de.tsv").unlink()
    with pytest.raises(XstiltsError) as err:
        score(tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "predictions" / "pawsx" / "test-de.tsv") in msg
    assert str(tmp_path / "labels" / "pawsx" / "test-de.tsv") in msg
    assert "no pawsx predictions for de" in msg and "fix:" in msg


def test_line_count_mismatch_names_both_files_and_counts(tmp_path):
    write_pawsx(tmp_path)
    pred = put(tmp_path, "predictions", "pawsx", "fr", "1\n0\n1\n")
    with pytest.raises(XstiltsError) as err:
        score(tmp_path)
    msg = str(err.value)
    label = tmp_path / "labels" / "pawsx" / "test-fr.tsv"
    assert f"{pred} has 3 lines but {label} has 4" in msg and "fix:" in msg


def test_tag_count_mismatch(tmp_path):
    write_udpos(tmp_path)
    put(tmp_path, "predictions", "udpos", "de", "NOUN\nVERB\n\nDET\nNOUN\n\n")
    with pytest.raises(XstiltsError, match="sentence 1 has 2 tags in .* but 3 in"):
        score(tmp_path)
    put(tmp_path, "predictions", "udpos", "de", "NOUN\nNOUN\nVERB\n\n")
    with pytest.raises(XstiltsError, match="has 1 sentences but .* has 2"):
        score(tmp_path)


def test_malformed_qa_labels(tmp_path):
    write_pair(tmp_path, "xquad", "en", {"data": [{"qas": []}]}, {"q": "x"})
    with pytest.raises(XstiltsError, match="not SQuAD-format labels"):
        score(tmp_path)


# ---------------------------------------------------------------- command line


def test_cli_score_writes_json(tmp_path, capsys):
    write_pawsx(tmp_path)
    write_mlqa(tmp_path)
    out = tmp_path / "scores.json"
    rc = main(["score", str(tmp_path / "predictions"), str(tmp_path / "labels"),
               "--json", str(out)])
    assert rc == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(score(tmp_path)))
    assert saved["tasks"]["pawsx"]["score"] == approx(PAWSX_AVG)
    printed = capsys.readouterr().out
    assert "pawsx (classification, accuracy): 57.14" in printed
    assert "mlqa (qa, (exact_match+f1)/2): 72.38" in printed
    assert "overall: not computed, no XTREME score" in printed
    # (57.142857 + 72.380952) / 2 = 64.761905: QA enters as (EM + F1) / 2, not F1 (87.62)
    assert "partial average over 2 of 9 XTREME tasks (missing tasks: xnli, udpos, panx, " \
           "xquad, tydiqa, bucc2018, tatoeba): 64.76 (split test; QA as (EM + F1) / 2)" in printed
    assert saved["average"]["value"] == approx(64.761905)


def test_cli_score_error_exits_2(tmp_path, capsys):
    write_pawsx(tmp_path)
    (tmp_path / "predictions" / "pawsx" / "test-ja.tsv").unlink()
    assert main(["score", str(tmp_path / "predictions"), str(tmp_path / "labels")]) == 2
    assert "test-ja.tsv" in capsys.readouterr().err


# ---------------------------------------------------------------- the formats' own files


def make_task(name, fmt, languages, labels=None, **options):
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    return Task(name=name, format=fmt, languages=languages, source=source, labels=labels,
                options=options)


def qa_example(qid, context, answer, question="q?"):
    return {"id": qid, "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [context.index(answer)]}}


def test_formats_files_rescore_to_the_formats_own_scores(tmp_path):
    pawsx = make_task("pawsx", "classification", ["en", "de"], labels=["0", "1"])
    cls = [{"id": f"c{i}", "text_a": "x", "label": lab} for i, lab in enumerate("0110")]
    udpos = make_task("udpos", "tagging", ["en", "de"], labels=["NOUN", "VERB", "DET"])
    tags = [{"id": "t1", "tokens": ["a", "b", "c"], "tags": ["NOUN", "NOUN", "VERB"]},
            {"id": "t2", "tokens": ["d", "e"], "tags": ["DET", "NOUN"]}]
    xquad = make_task("xquad", "span_qa", ["en", "de"])
    mlqa = make_task("mlqa", "span_qa", ["de", "zh"], metric="mlqa")
    qa = [qa_example("q1", "Der Turm steht in der Stadt Paris.", "der Stadt Paris"),
          qa_example("q2", "北京市是首都。", "北京市")]
    tatoeba = make_task("tatoeba", "retrieval", ["de", "fr"])
    pairs = [{"id": f"r{i}", "source": "s", "target": "t"} for i in range(4)]
    cases = [  # (task, examples, predictions per language)
        (pawsx, cls, {"en": ["0", "1", "0", "0"], "de": ["1", "1", "1", "0"]}),
        (udpos, tags, {"en": [["NOUN", "VERB", "VERB"], ["DET", "NOUN"]],
                       "de": [["NOUN", "NOUN", "VERB"], ["DET", "VERB"]]}),
        (xquad, qa, {"en": ["Stadt Paris", "北京"], "de": ["in der Stadt", "北京市"]}),
        (mlqa, qa, {"de": ["Stadt Paris", "北京"], "zh": ["Paris", "北京"]}),
        (tatoeba, pairs, {"de": [0, 1, 3, 3], "fr": [1, 0, 2, 3]}),
    ]
    expected = {}
    for task, examples, per_lang in cases:
        fmt = get_format(task.format)
        for lang, preds in per_lang.items():
            predictions = {ex["id"]: p for ex, p in zip(examples, preds, strict=True)}
            fmt.write_predictions(examples, predictions, task,
                                  tmp_path / "predictions" / task.name / f"test-{lang}.{suffix(task.name)}")
            fmt.write_labels(examples, task,
                             tmp_path / "labels" / task.name / f"test-{lang}.{suffix(task.name)}")
            expected[(task.name, lang)] = fmt.score(examples, predictions, task, lang)
    result = score(tmp_path)
    for (task, lang), own in expected.items():
        got = result["tasks"][task]["languages"][lang]
        assert got == approx({k: own[k] for k in got}), (task, lang)
    # mlqa/de (MLQA's German rules): "Stadt Paris" = "der Stadt Paris" once "der" goes -> 1, 1;
    # "北京" vs "北京市" are single whitespace tokens under German rules -> 0, 0. EM 50, F1 50
    # (SQuAD's rules would keep "der": F1 0.8 and EM 0 for the first question).
    assert result["tasks"]["mlqa"]["languages"]["de"] == approx({"exact_match": 50.0, "f1": 50.0})


def test_pipeline_run_rescores_to_results_json(tmp_path):
    write_colour_task(tmp_path / "data")
    config = tmp_path / "c.yaml"
    config.write_text("""
seed: 0
encoder: {name: tiny-random}
targets:
  tasks: [pawsx]
  training: {max_steps: 2, batch_size: 8, eval_every: 2}
tasks:
  pawsx:
    format: classification
    languages: [en, de]
    reader: jsonl
    paths: {train: "data/train-en.jsonl", dev: "data/dev-en.jsonl", test: "data/test-{lang}.jsonl"}
    labels: [pos, neg]
""")
    out = tmp_path / "out"
    run_config(load_config(config), out)
    saved = json.loads((out / "results.json").read_text())["targets"]["pawsx"]["languages"]
    assert (out / "labels" / "pawsx" / "test-de.tsv").read_text().count("\n") == 32
    r = score_benchmark(out / "predictions", out / "labels")["tasks"]["pawsx"]
    assert set(r["languages"]) == {"en", "de"}
    for lang in ("en", "de"):
        assert r["languages"][lang]["accuracy"] == approx(saved[lang]["accuracy"])
    # Two of PAWS-X's seven languages: no task average, so no group or overall score either.
    assert r["average"] is None and r["score"] is None
    assert r["missing_languages"] == ["es", "fr", "ja", "ko", "zh"]


# ---------------------------------------------------------------- dev files, splits, the average


def test_a_dev_folder_is_scored_on_its_dev_files(tmp_path):
    # dev labels 0,1,1,0; en predicts 0,1,1,1 (3 of 4) and de 1,0,0,0 (1 of 4): 75 and 25.
    # The other five languages: no files, so no task average.
    write_pair(tmp_path, "pawsx", "en", "0\n1\n1\n0\n", "0\n1\n1\n1\n", split="dev")
    write_pair(tmp_path, "pawsx", "de", "0\n1\n1\n0\n", "1\n0\n0\n0\n", split="dev")
    for split in ("auto", "dev"):
        result = score(tmp_path, split=split)
        r = result["tasks"]["pawsx"]
        assert r["languages"] == {"en": {"accuracy": 75.0}, "de": {"accuracy": 25.0}}
        assert r["splits"] == {"en": "dev", "de": "dev"} and r["score"] is None
        assert r["missing_languages"] == ["es", "fr", "ja", "ko", "zh"]
        average = result["average"]
        assert average["value"] == 50.0 and average["splits"] == "dev"  # (75 + 25) / 2
        assert not average["complete"]
        assert average["label"] == "partial average over 1 of 9 XTREME tasks"
        assert "missing languages: pawsx es, fr, ja, ko, zh" in average["detail"]
        assert result["overall"] is None
    text = format_scores(result)
    assert "[2/7 languages, split dev]" in text and "over the 2 there: 50.00" in text
    assert "partial average over 1 of 9 XTREME tasks" in text and ": 50.00 (split dev" in text
    # Asked for test, the folder has none: nothing scored, the dev files said to be ignored.
    result = score(tmp_path, split="test")
    assert result["tasks"]["pawsx"]["languages"] == {} and result["average"]["value"] is None
    assert any("split not scored ignored: dev-de.tsv, dev-en.tsv" in n for n in result["notes"])


def test_a_task_with_languages_on_dev_and_on_test(tmp_path):
    # UD-POS kk has no dev set: a dev run scores it on test. Every language on dev scores
    # UD_PRED (F1 50, see UDPOS_AVG) except en (100); kk, on test, is perfect (100).
    for lang in XTREME_LANGUAGES["udpos"]:
        split = "test" if lang == "kk" else "dev"
        write_pair(tmp_path, "udpos", lang, UD_GOLD, UD_GOLD if lang in ("en", "kk") else UD_PRED,
                   split=split)
    for split in ("auto", "dev"):
        r = score(tmp_path, split=split)["tasks"]["udpos"]
        assert r["splits"]["kk"] == "test" and r["splits"]["de"] == "dev"
        assert set(r["splits"].values()) == {"dev", "test"} and len(r["splits"]) == 33
        assert r["languages"]["kk"]["f1"] == 100.0 and r["languages"]["de"]["f1"] == 50.0
        assert r["missing_languages"] == []
        assert r["score"] == approx((2 * 100 + 31 * 50) / 33)  # 53.030303
    result = score(tmp_path, split="dev")
    assert result["average"]["splits"] == "dev; test: udpos (kk)"
    text = format_scores(result)
    assert "[33/33 languages, split dev; test: kk]" in text
    # --split test: only kk has a test file
    r = score(tmp_path, split="test")["tasks"]["udpos"]
    assert r["splits"] == {"kk": "test"} and len(r["missing_languages"]) == 32
    # the same language on both splits is ambiguous unless a split is chosen
    write_pair(tmp_path, "udpos", "de", UD_GOLD, UD_GOLD, split="test")
    with pytest.raises(XstiltsError,
                       match="(?s)both test-de and dev-de labels.*--split test or --split dev"):
        score(tmp_path)
    r = score(tmp_path, split="dev")["tasks"]["udpos"]
    assert r["splits"]["de"] == "dev" and r["languages"]["de"]["f1"] == 50.0
    r = score(tmp_path, split="test")["tasks"]["udpos"]
    assert r["splits"] == {"de": "test", "kk": "test"} and r["languages"]["de"]["f1"] == 100.0


def test_cli_score_split_option(tmp_path, capsys):
    write_pair(tmp_path, "pawsx", "en", "0\n1\n", "0\n0\n", split="dev")  # 1 of 2: 50
    args = ["score", str(tmp_path / "predictions"), str(tmp_path / "labels")]
    assert main([*args, "--split", "dev"]) == 0
    printed = capsys.readouterr().out
    assert "en 50.00" in printed and "split dev" in printed
    assert main([*args, "--split", "test"]) == 0
    assert "en 50.00" not in capsys.readouterr().out


def test_qa_contributes_the_mean_of_em_and_f1_to_the_average():
    # One QA task averaged over its languages: EM 40, F1 70 -> (40 + 70) / 2 = 55, not F1 70.
    assert task_score({"exact_match": 40.0, "f1": 70.0, "em_f1": 55.0}, "f1") == 55.0
    assert task_score({"accuracy": 80.0, "macro_f1": 60.0}, "accuracy") == 80.0
    assert task_score({"f1": 30.0, "precision": 20.0, "recall": 60.0}, "f1") == 30.0
    assert task_score({"accuracy": 80.0}) == 80.0 and task_score({"f1": 30.0}) == 30.0


def test_describe_average_labels():
    full = {task: list(langs) for task, langs in XTREME_LANGUAGES.items()}
    assert describe_average(full)["label"] == "XTREME score"
    assert describe_average(full)["complete"]
    fewer = {**full, "xnli": [lang for lang in full["xnli"] if lang not in ("sw", "th")]}
    del fewer["tatoeba"]
    out = describe_average(fewer)
    assert not out["complete"] and out["label"] == "partial average over 8 of 9 XTREME tasks"
    assert out["detail"] == "missing tasks: tatoeba; missing languages: xnli sw, th"
    assert out["missing_languages"] == {"xnli": ["sw", "th"]}
    # all nine, but a language outside XTREME's or another target: not the XTREME score
    out = describe_average({**full, "pawsx": [*full["pawsx"], "ru"]})
    assert not out["complete"] and "languages outside XTREME's: pawsx ru" in out["detail"]
    out = describe_average({**full, "squad": ["en"]})
    assert not out["complete"] and "XTREME score" not in out["label"].replace(
        "not the XTREME score", "")
    assert out["label"] == ("average over its 10 targets (9 of 9 XTREME tasks), not the XTREME "
                            "score") and out["detail"] == "targets outside XTREME: squad"
    # every task and language, but some scored on part of their examples (test_limit)
    out = describe_average(full, limited=["udpos", "xquad"])
    assert not out["complete"] and out["label"] == ("average over the 9 XTREME tasks, not the "
                                                    "XTREME score")
    assert out["detail"] == "scored on part of their examples (test_limit): udpos, xquad"
    out = describe_average(fewer, limited=["udpos", "squad"])  # squad: not a target
    assert out["detail"].endswith("; scored on part of their examples (test_limit): udpos")
    demo = describe_average({t: ["en", "de"] for t in ("demo-nli", "demo-qa", "demo-ner",
                                                       "demo-retrieval")})
    assert demo["label"] == "average over its 4 targets" and demo["detail"] == ""
    assert describe_average({"demo-nli": ["en"]})["label"] == "average over its 1 target"


def test_split_text():
    assert split_text({"en": "test", "de": "test"}) == "test"
    assert split_text({"en": "dev", "kk": "test", "de": "dev", "th": "test", "fr": "dev"}) == \
        "dev; test: kk, th"
    assert split_text({"udpos": {"de": "dev", "kk": "test"}, "xnli": {"de": "dev"}}) == \
        "dev; test: udpos (kk)"
    assert split_text({}) == ""
