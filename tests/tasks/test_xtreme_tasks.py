"""The nine XTREME tasks: declarations, local files in XTREME's layout, hub rows (replicas of
the hub datasets through the real `datasets`), real files."""

from __future__ import annotations

import json
import sys

import pytest
from tests.tasks.xtreme_data import TASKS, build_local

from xstilts.errors import XstiltsError
from xstilts.tasks.check import check_task, split_languages
from xstilts.tasks.registry import builtin_tasks
from xstilts.tasks.task import SPLITS, FileSource
from xstilts.tasks.xtreme_langs import TATOEBA_ISO3

COUNTS = {"xnli": 15, "pawsx": 7, "udpos": 33, "panx": 40, "xquad": 11, "mlqa": 7,
          "tydiqa": 9, "bucc2018": 4, "tatoeba": 36}
FORMAT_KEYS = {"classification": ("id", "text_a", "text_b", "label"),
               "tagging": ("id", "tokens", "tags"),
               "span_qa": ("id", "context", "question", "answers"),
               "retrieval": ("id", "source", "target"),
               "bitext_mining": ("id", "side", "text")}


@pytest.fixture
def hub(hub_mirror_env, monkeypatch):
    """Hub tasks read the replicas of the hub (tests/hub_replicas.py) through the real
    `datasets`; returns the (dataset, config, split) of every load_dataset call."""
    import datasets

    calls: list = []
    real = datasets.load_dataset

    def load_dataset(path, name=None, split=None, **kwargs):
        calls.append((str(path).removeprefix(f"{hub_mirror_env}/"), name, split))
        return real(path, name, split=split, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def task(name: str):
    return builtin_tasks()[name]


def load_all(t) -> dict[tuple[str, str], list[dict]]:
    """Every split and language the task has, loaded."""
    return {(split, lang): t.load(split, lang) for split in SPLITS
            if t.has_split(split) for lang in split_languages(t, split)}


# --- declarations -----------------------------------------------------------------------------

def test_official_language_counts():
    assert {name: len(task(name).languages) for name in TASKS} == COUNTS
    for name in TASKS:
        assert len(set(task(name).languages)) == COUNTS[name]


@pytest.mark.parametrize("name", TASKS)
def test_declaration(name):
    t = task(name)
    assert t.train_language == "en" and t.description
    assert set(t.alternatives) == {"hub", "local"}
    assert t.source is t.alternatives["hub"]  # the hub is the default
    assert isinstance(t.alternatives["local"], FileSource)
    json.dumps(t.describe())  # part of content keys: must be JSON
    json.dumps(t.with_source("local", "/data").describe())


def test_labels_and_options():
    assert set(task("xnli").labels) == {"entailment", "neutral", "contradiction"}
    assert list(task("pawsx").labels) == ["0", "1"]
    assert len(task("udpos").labels) == 17 and "PROPN" in task("udpos").labels
    assert sorted(task("panx").labels) == sorted(
        ["O"] + [f"{p}-{e}" for p in "BI" for e in ("PER", "ORG", "LOC")])
    assert task("mlqa").options == {"metric": "mlqa", "max_length": 384, "window_step": 128}
    assert task("tatoeba").format == "retrieval" and task("bucc2018").format == "bitext_mining"
    assert not task("tatoeba").has_split("train") and not task("bucc2018").has_split("train")


# --- local files ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TASKS)
def test_local_layout_loads_every_split_and_language(tmp_path, name):
    build_local(tmp_path, name)
    t = task(name).with_source("local", str(tmp_path))
    data = load_all(t)
    assert {lang for split, lang in data if split == "test"} == set(t.languages)
    keys = FORMAT_KEYS[t.format]
    for examples in data.values():
        assert examples and all(k in ex for ex in examples for k in keys)
    assert [count for *_, count in check_task(t)] == [len(v) for v in data.values()]


def test_local_contents(tmp_path):
    for name in TASKS:
        build_local(tmp_path, name)
    xnli = task("xnli").with_source("local", str(tmp_path)).load("test", "sw")
    assert [ex["label"] for ex in xnli] == ["entailment", "contradiction"]  # CRLF gone
    assert xnli[0]["text_a"] == 'Premise 0 says "hi"' and xnli[0]["text_b"] == "Hypothesis 0"
    panx = task("panx").with_source("local", str(tmp_path)).load("train")
    assert panx[0] == {"id": "train-en-1", "tokens": ["Paris", "is"], "tags": ["B-LOC", "O"]}
    mlqa = task("mlqa").with_source("local", str(tmp_path))
    assert len(mlqa.load("train")) == 3 and mlqa.load("test", "hi")[0]["id"] == "hi-q0"
    bucc = task("bucc2018").with_source("local", str(tmp_path)).load("test", "zh")
    assert bucc[0] == {"id": "zh-000000001", "side": "source", "text": "Satz eins",
                       "gold": ["en-000000007"]}
    assert [ex["side"] for ex in bucc] == ["source"] * 2 + ["target"] * 3
    tatoeba = task("tatoeba").with_source("local", str(tmp_path)).load("test", "zh")
    assert tatoeba[0] == {"id": "0", "source": "Hallo (zh).", "target": "Hello."}


def test_local_test_file_with_blanked_answers_fails(tmp_path):
    # XTREME's download_data.sh blanks test answers; scoring against them would be meaningless.
    build_local(tmp_path, "xquad")
    doc = json.loads((tmp_path / "xquad/xquad.de.json").read_text())
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"] = [{"answer_start": 0, "text": ""}]
    (tmp_path / "xquad/xquad.de.json").write_text(json.dumps(doc))
    t = task("xquad").with_source("local", str(tmp_path))
    with pytest.raises(XstiltsError, match=r"xquad\.de\.json: question id 'de-q0' has no answer"):
        t.load("test", "de")


def test_local_bucc_without_gold_says_why(tmp_path):
    build_local(tmp_path, "bucc2018")
    (tmp_path / "bucc2018/de-en.test.gold").unlink()
    t = task("bucc2018").with_source("local", str(tmp_path))
    with pytest.raises(XstiltsError, match=r"de-en\.test\.gold: file not found(?s:.*)test\.gold"):
        t.load("test", "de")


# --- hub rows (replicas of the hub datasets, read through the real `datasets`) ------------------

def test_hub_xnli_trains_on_mnli_and_filters_languages(hub):
    t = task("xnli").with_source("hub")
    train = t.load("train")
    assert hub[-1] == ("nyu-mll/glue", "mnli", "train")
    assert [ex["id"] for ex in train[:3]] == ["mnli-0", "mnli-1", "mnli-2"]
    assert [ex["label"] for ex in train[:3]] == ["entailment", "neutral", "contradiction"]
    de = t.load("test", "de")
    assert hub[-1] == ("google/xtreme", "XNLI", "test")
    # One split holds every language: the converter keeps this language's rows.
    assert [ex["text_a"] for ex in de] == [f"de premise {i}" for i in range(4)]
    assert [ex["label"] for ex in de] == ["entailment", "neutral", "contradiction",
                                          "entailment"]
    assert de.n_dropped == 4 * (len(t.languages) - 1)


def test_hub_classification_and_tagging_rows(hub):
    pawsx = task("pawsx").with_source("hub")
    assert [ex["label"] for ex in pawsx.load("test", "ja")] == ["0", "1", "0", "1"]
    assert hub[-1] == ("google/xtreme", "PAWS-X.ja", "test")
    translated = pawsx.load("train", "ja")  # a machine-translated split: its malformed row
    assert len(translated) == 8 and translated.n_dropped == 1
    udpos = task("udpos").with_source("hub").load("test", "de")
    assert hub[-1] == ("google/xtreme", "udpos.German", "test")
    assert udpos[0]["tokens"] == [f"de-test-0w{j}" for j in range(5)]
    assert udpos[0]["tags"] == ["ADJ", "ADP", "ADV", "AUX", "CCONJ"]  # ClassLabel ids -> names
    panx = task("panx").with_source("hub").load("test", "en")
    assert hub[-1] == ("google/xtreme", "PAN-X.en", "test")
    assert panx[0]["tags"] == ["B-PER", "I-PER", "O", "B-LOC"]


def test_hub_qa_rows(hub):
    xquad = task("xquad").with_source("hub")
    first = xquad.load("train")[0]
    assert hub[-1] == ("rajpurkar/squad", None, "train")
    assert first["answers"] == {"text": ["France"],
                                "answer_start": [first["context"].index("France")]}
    th = xquad.load("test", "th")
    assert hub[-1] == ("google/xtreme", "XQuAD.th", "validation")
    # google/xtreme stripped the text but kept the offsets: one character off, realigned.
    assert th[1]["answers"] == {"text": ["Peru"], "answer_start": [th[1]["context"].index("Peru")]}
    mlqa = task("mlqa").with_source("hub")
    assert mlqa.load("test", "vi")[0]["id"] == "mlqa-test-vi-0000"
    assert hub[-1] == ("google/xtreme", "MLQA.vi.vi", "test")


def test_hub_tydiqa_filters_by_id_language(hub):
    t = task("tydiqa").with_source("hub")
    train = t.load("train")
    assert hub[-1] == ("google/xtreme", "tydiqa", "train")
    assert len(train) == 8 and {ex["id"].split("-")[0] for ex in train} == {"english"}
    ar = t.load("test", "ar")
    assert hub[-1] == ("google/xtreme", "tydiqa", "validation")
    assert [ex["id"] for ex in ar] == [f"arabic-validation-{i:04d}" for i in range(4)]


def test_hub_retrieval_rows(hub):
    bucc = task("bucc2018").with_source("hub").load("test", "fr")
    assert hub[-1] == ("google/xtreme", "bucc18.fr", "test")
    # source_lang/target_lang hold the sentence ids: each source once, with its gold target.
    assert bucc[0] == {"id": "fr-000000100", "side": "source", "text": "fr sentence 0",
                       "gold": ["en-000000150"]}
    assert [ex["side"] for ex in bucc] == ["source"] * 4 + ["target"] * 4
    assert bucc[4] == {"id": "en-000000150", "side": "target", "text": "English sentence 0"}
    tatoeba = task("tatoeba").with_source("hub").load("test", "zh")
    assert hub[-1] == ("google/xtreme", "tatoeba.cmn", "validation")
    assert [(ex["source"], ex["target"]) for ex in tatoeba[:2]] == [
        ("zh sentence number 0.", "English sentence number 0."),
        ("zh sentence number 1.", "English sentence number 1.")]  # newlines stripped


def test_hub_without_datasets_says_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails
    with pytest.raises(XstiltsError, match="pip install 'xstilts\\[hub\\]'"):
        task("pawsx").load("test", "de")


# --- real files (../shared/data) --------------------------------------------------------------

def test_real_xquad_and_tatoeba_through_local_layout(shared_data, tmp_path):
    xquad_langs = sorted(p.name.split(".")[1] for p in (shared_data / "xquad").glob("xquad.*.json"))
    assert len(xquad_langs) >= 6
    (tmp_path / "xquad").mkdir()
    for lang in xquad_langs:
        (tmp_path / "xquad" / f"xquad.{lang}.json").symlink_to(
            shared_data / "xquad" / f"xquad.{lang}.json")
    (tmp_path / "tatoeba" / "v1").mkdir(parents=True)
    for p in (shared_data / "tatoeba").glob("tatoeba.*-eng.*"):
        (tmp_path / "tatoeba" / "v1" / p.name).symlink_to(p)
    xquad = task("xquad").with_source("local", str(tmp_path))
    counts = {lang: len(xquad.load("test", lang)) for lang in xquad_langs}
    assert set(counts.values()) == {1190}  # the same questions in every language
    tatoeba = task("tatoeba").with_source("local", str(tmp_path))
    for lang in tatoeba.languages:
        pairs = tatoeba.load("test", lang)
        assert 0 < len(pairs) <= 1000, TATOEBA_ISO3[lang]
        assert all(ex["source"] and ex["target"] for ex in pairs)
