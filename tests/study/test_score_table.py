"""`xstilts results DIR`: each format parses back to the run's results.json and the study's
store rows; a folder without results is a clear error."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import yaml

from xstilts.cli import main
from xstilts.config import load_config
from xstilts.study.run import run_config
from xstilts.study.spec import load_study
from xstilts.study.store import Store
from xstilts.study.study import run_study

BASE = {
    "encoder": {"name": "tiny-random"},
    "suites": {"demo": {"sizes": {"train": 16, "dev": 8, "test": 8}, "seed": 0}},
    "targets": {"tasks": ["demo-nli", "demo-retrieval"],
                "languages": {"demo-nli": ["en", "de"], "demo-retrieval": ["de", "es"]},
                "training": {"max_steps": 2, "batch_size": 4, "max_length": 32,
                             "evaluations": 1}},
}
LANGUAGES = {"demo-nli": ["en", "de"], "demo-retrieval": ["de", "es"]}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = {**BASE, "intermediate": {"tasks": ["demo-topic-en"],
                                       "training": BASE["targets"]["training"]}}
    (root / "c.yaml").write_text(yaml.safe_dump(config))
    run_config(load_config(root / "c.yaml"), root / "out", store=root / "store")
    return root


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    spec = {"name": "tiny-results", "base": {**BASE, "tracking": {"backends": ["tensorboard"]}},
            "pool": ["demo-topic-en"], "sizes": [0, 1]}
    (root / "s.yaml").write_text(yaml.safe_dump(spec))
    run_study(load_study(root / "s.yaml"), root / "out")
    return root / "out"


def results_of(capsys, *argv) -> str:
    assert main(["results", *map(str, argv)]) == 0
    return capsys.readouterr().out


def test_each_format_parses_back_to_results_json(run_dir, capsys):
    results = json.loads((run_dir / "out" / "results.json").read_text())
    csv = pd.read_csv(io.StringIO(results_of(capsys, run_dir / "out", "--format", "csv")))
    records = json.loads(results_of(capsys, run_dir / "out", "--format", "json"))
    printed = results_of(capsys, run_dir / "out")
    table_text, footer = printed.split("\n\n")  # the table, then the average over targets
    table = pd.read_csv(io.StringIO(table_text), sep=r"\s+", na_values="-")
    expected = {(name, metric): {**{lang: target["languages"][lang][metric]
                                    for lang in target["languages"]},
                                 "avg": target["average"][metric]}
                for name, target in results["targets"].items()
                for metric in target["average"]}
    for rows in (csv.to_dict(orient="records"), records):
        got = {(r["target"], r["metric"]): {k: r[k] for k in ("en", "de", "es", "avg")
                                            if r[k] is not None and not pd.isna(r[k])}
               for r in rows}
        assert got == expected  # exact: full precision in CSV and JSON
        assert {(r["intermediate"], r["intermediate_seed"]) for r in rows} == {
            ("demo-topic-en", 0)}
    for r in table.to_dict(orient="records"):
        for lang, value in expected[(r["target"], r["metric"])].items():
            assert r[lang] == pytest.approx(value, abs=0.005)  # shown with 2 decimals
    assert len(table) == len(expected)
    assert set(table["split"]) == {"test"} and {r["split"] for r in records} == {"test"}
    # Both targets are scored by accuracy: the average is the mean of their language averages.
    average = (results["targets"]["demo-nli"]["average"]["accuracy"]
               + results["targets"]["demo-retrieval"]["average"]["accuracy"]) / 2
    assert footer.startswith("Average over its 2 targets, per arm (span QA as (EM + F1) / 2):")
    assert footer.splitlines()[-1].split()[-1] == f"{average:.2f}"


def test_target_and_main_metric_filters(run_dir, capsys):
    rows = json.loads(results_of(capsys, run_dir / "out", "--format", "json", "--target",
                                 "demo-nli", "--metric", "main"))
    assert [(r["target"], r["metric"]) for r in rows] == [("demo-nli", "accuracy")]
    assert set(rows[0]) >= {"en", "de", "avg"} and "es" not in rows[0]
    assert main(["results", str(run_dir / "out"), "--target", "xnli"]) == 2
    assert "choose one of ['demo-nli', 'demo-retrieval']" in capsys.readouterr().err


def test_a_study_folder_and_its_store_give_the_store_rows(study_dir, capsys):
    stored = {(r["intermediate"], r["target"], r["language"], r["metric"]): r["value"]
              for r in Store(study_dir / "store").results("tiny-results")}
    for folder in (study_dir, study_dir / "store"):
        rows = json.loads(results_of(capsys, folder, "--format", "json"))
        got = {(r["intermediate"], r["target"], lang, r["metric"]): r[lang]
               for r in rows for lang in LANGUAGES[r["target"]] + ["avg"]}
        assert got == stored
        assert {r["intermediate"] for r in rows} == {"", "demo-topic-en"}
        assert {r["study"] for r in rows} == {"tiny-results"}


def test_a_study_reports_to_its_tracker_under_its_own_name(study_dir):
    runs = sorted(p.name for p in (study_dir / "tracking" / "tensorboard" / "tiny-results")
                  .iterdir())
    # One intermediate training, a demo-nli training per arm, demo-retrieval's scores per
    # start model (the base encoder and the intermediate checkpoint).
    assert [r.rsplit("-", 1)[0] for r in runs] == [
        "evaluate-demo-retrieval-baseline", "evaluate-demo-retrieval-demo-topic-en",
        "intermediate-demo-topic-en-s0", "target-demo-nli-baseline-s0",
        "target-demo-nli-demo-topic-en-s0"]


def test_folders_without_results_are_clear_errors(run_dir, tmp_path, capsys):
    assert main(["results", str(tmp_path)]) == 2
    assert "holds no results" in capsys.readouterr().err
    assert main(["results", str(run_dir / "store")]) == 2  # a run's store: jobs, no scores
    error = capsys.readouterr().err
    assert "no results yet" in error and "fix:" in error


# A run's results.json written by hand: a span-QA target (main metric f1) on test and a tagging
# target on dev except kk (no dev set), as a dev run of the paper's protocol writes it.
HAND = {
    "encoder": "tiny-random", "intermediate": {"tasks": []}, "settings": {"seed": 0},
    "targets": {
        "xquad": {"main_metric": "f1", "eval_split": "test",
                  "languages": {"en": {"exact_match": 50.0, "f1": 70.0},
                                "de": {"exact_match": 30.0, "f1": 50.0}},
                  "average": {"exact_match": 40.0, "f1": 60.0}},
        "udpos": {"main_metric": "f1", "eval_split": "dev",
                  "splits": {"de": "dev", "kk": "test"},
                  "languages": {"de": {"f1": 80.0}, "kk": {"f1": 40.0}},
                  "average": {"f1": 60.0}},
    },
}


def hand_run(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(HAND), encoding="utf-8")
    return out


def test_splits_per_language_and_the_average_with_qa_as_em_f1(tmp_path, capsys):
    out = hand_run(tmp_path)
    rows = json.loads(results_of(capsys, out, "--format", "json", "--metric", "f1"))
    # xquad has no "splits" (an older results.json): its eval_split for every language
    assert {r["target"]: r["split"] for r in rows} == {"xquad": "test",
                                                        "udpos": "dev; test: kk"}
    printed = results_of(capsys, out)
    # xquad contributes (40 + 60) / 2 = 50, udpos its F1 60: (50 + 60) / 2 = 55 (F1: 60)
    caption, header, row = printed.split("\n\n")[1].splitlines()
    assert caption == ("Partial average over 2 of 9 XTREME tasks (missing tasks: pawsx, xnli, "
                       "panx, mlqa, tydiqa, bucc2018, tatoeba; missing languages: udpos af, ar, "
                       + ", ".join(lang for lang in "bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,"
                                   "it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh".split(",")
                                   if lang not in ("de", "kk"))
                       + "; xquad es, el, ru, tr, ar, vi, th, zh, hi), per arm (span QA as "
                       "(EM + F1) / 2):")
    assert header.split() == ["study", "intermediate", "intermediate_seed", "target_seed",
                              "average"]
    assert row.split() == ["run", "0", "0", "55.00"]
    assert "XTREME score" not in printed
