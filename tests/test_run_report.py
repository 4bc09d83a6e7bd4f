"""The run table printed after `xstilts run` (xstilts.report): the split each language was
scored on and the average over the targets, labelled, with span QA as (EM + F1) / 2."""

from __future__ import annotations

from xstilts.evaluate.xtreme import XTREME_LANGUAGES
from xstilts.report import format_results, language_splits, targets_average


def target(main: str, languages: dict, average: dict, **more) -> dict:
    return {"main_metric": main, "languages": languages, "average": average, **more}


def results(targets: dict) -> dict:
    return {"encoder": "tiny-random", "intermediate": {"tasks": []}, "targets": targets}


def test_splits_per_language_and_a_partial_average():
    run = results({
        "mlqa": target("f1", {"en": {"exact_match": 20.0, "f1": 40.0}},
                       {"exact_match": 20.0, "f1": 40.0}, eval_split="dev"),
        "udpos": target("f1", {"de": {"f1": 80.0}, "kk": {"f1": 40.0}}, {"f1": 60.0},
                        eval_split="dev", splits={"de": "dev", "kk": "test"})})
    assert language_splits(run["targets"]["mlqa"]) == {"en": "dev"}  # from eval_split
    lines = format_results(run).splitlines()
    assert lines[1].split() == ["mlqa", "[f1]", "en", "avg"]
    assert lines[2].split() == ["on", "dev", "40.0", "40.0"]
    assert lines[4].split() == ["on", "dev/test", "80.0", "40.0", "60.0"]
    assert lines[5].split() == ["split", "dev", "test"]  # which language on which split
    # mlqa contributes (20 + 40) / 2 = 30, udpos 60: (30 + 60) / 2 = 45 (F1 would give 50)
    value, described = targets_average(run["targets"])
    assert value == 45.0 and described["label"] == "partial average over 2 of 9 XTREME tasks"
    assert lines[-1].startswith("partial average over 2 of 9 XTREME tasks (missing tasks: "
                                "pawsx, xnli, panx, xquad, tydiqa, bucc2018, tatoeba; missing "
                                "languages: udpos af, ar,")
    assert lines[-1].endswith("mlqa es, de, ar, hi, vi, zh): 45.0 (span QA as (EM + F1) / 2; "
                              "split dev; test: udpos (kk))")


def test_all_nine_tasks_in_all_languages_is_the_xtreme_score():
    qa = ("xquad", "mlqa", "tydiqa")
    run = results({task: target(
        "f1" if task in qa + ("udpos", "panx", "bucc2018") else "accuracy",
        {lang: ({"exact_match": 50.0, "f1": 70.0} if task in qa else
                {"f1": 70.0} if task in ("udpos", "panx", "bucc2018") else {"accuracy": 70.0})
         for lang in langs},
        {"exact_match": 50.0, "f1": 70.0} if task in qa else
        {"f1": 70.0} if task in ("udpos", "panx", "bucc2018") else {"accuracy": 70.0},
        eval_split="test") for task, langs in XTREME_LANGUAGES.items()})
    # six tasks at 70, three QA tasks at (50 + 70) / 2 = 60: (6 * 70 + 3 * 60) / 9 = 66.67
    value, described = targets_average(run["targets"])
    assert described["complete"] and abs(value - 600 / 9) < 1e-9
    assert format_results(run).splitlines()[-1] == (
        "XTREME score (all 9 tasks, every official language): 66.7 (span QA as (EM + F1) / 2; "
        "split test)")


def test_the_demo_targets_are_an_average_over_its_targets():
    run = results({"demo-nli": target("accuracy", {"en": {"accuracy": 60.0}},
                                      {"accuracy": 60.0}, eval_split="test"),
                   "demo-qa": target("f1", {"en": {"exact_match": 10.0, "f1": 30.0}},
                                     {"exact_match": 10.0, "f1": 30.0}, eval_split="test")})
    last = format_results(run).splitlines()[-1]
    # (60 + (10 + 30) / 2) / 2 = 40
    assert last == "average over its 2 targets: 40.0 (span QA as (EM + F1) / 2; split test)"
    assert "XTREME" not in last
