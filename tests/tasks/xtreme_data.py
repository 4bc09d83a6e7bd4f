"""Tiny XTREME data for tests: local files in download_data.sh's layout, and fake hub rows."""

from __future__ import annotations

import json
import types
from pathlib import Path

from xstilts.tasks.builtin.xtreme_udpos import UDPOS_NO_DEV
from xstilts.tasks.xtreme_langs import TASK_LANGS, TATOEBA_ISO3, TYDIQA_NAMES, UDPOS_NAMES

TASKS = ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def squad_json(lang: str, n: int = 2) -> str:
    """A SQuAD v1.1 file with n questions on one paragraph."""
    context = f"Paris ({lang}) is the capital of France. It has many museums."
    qas = [{"id": f"{lang}-q{i}", "question": f"What is the capital? {i}",
            "answers": [{"text": "Paris", "answer_start": 0}]} for i in range(n)]
    return json.dumps({"version": "1.1", "data": [
        {"title": "Paris", "paragraphs": [{"context": context, "qas": qas}]}]})


def _tsv_pairs(labels: list[str]) -> str:
    # utils_preprocess.py writes with csv.writer: CRLF line ends, quotes doubled in a field.
    rows = [f'Premise {i} says "hi"\tHypothesis {i}\t{lab}' for i, lab in enumerate(labels)]
    return "\r\n".join(rows) + "\r\n"


def _conll(sentences: list[list[tuple[str, str]]]) -> str:
    return "\n".join("\n".join(f"{w}\t{t}" for w, t in s) + "\n" for s in sentences)


def build_local(root: Path, task: str) -> None:
    """Write the files one task reads under `root`, as XTREME's download_data.sh lays them out."""
    langs = TASK_LANGS[task]
    if task in ("xnli", "pawsx"):
        labels = ["entailment", "contradiction"] if task == "xnli" else ["1", "0"]
        _write(root / task / "train-en.tsv", _tsv_pairs(labels))
        for lang in langs:  # utils_preprocess.py: dev and test files per language
            for split in ("dev", "test"):
                _write(root / task / f"{split}-{lang}.tsv", _tsv_pairs(labels))
    elif task in ("udpos", "panx"):
        if task == "udpos":
            sents = [[("The", "DET"), ("cat", "NOUN")], [("Runs", "VERB"), (".", "PUNCT")]]
        else:  # PAN-X: the raw files' "en:" prefix is stripped by the reader
            sents = [[("en:Paris", "B-LOC"), ("en:is", "O")], [("Ada", "B-PER"), ("L.", "I-PER")]]
        _write(root / task / "train-en.tsv", _conll(sents))
        for lang in langs:  # UD-POS kk, th, tl, yo have no dev set
            splits = ("test",) if task == "udpos" and lang in UDPOS_NO_DEV else ("dev", "test")
            for split in splits:
                _write(root / task / f"{split}-{lang}.tsv", _conll(sents))
    elif task in ("xquad", "mlqa"):
        _write(root / "squad" / "train-v1.1.json", squad_json("en", 3))
        _write(root / "squad" / "dev-v1.1.json", squad_json("en", 2))
        for lang in langs:
            name = (f"xquad/xquad.{lang}.json" if task == "xquad" else
                    f"mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json")
            _write(root / name, squad_json(lang))
            if task == "mlqa":  # MLQA's own dev set per language
                _write(root / f"mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
                       squad_json(lang))
    elif task == "tydiqa":
        _write(root / "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json",
               squad_json("en", 3))
        for lang in langs:
            _write(root / f"tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json",
                   squad_json(lang))
    elif task == "bucc2018":
        for lang in langs:
            for split in ("dev", "test"):
                stem = root / "bucc2018" / f"{lang}-en.{split}"
                _write(stem.with_name(stem.name + f".{lang}"),
                       f"{lang}-000000001\tSatz eins\n{lang}-000000002\tSatz zwei\n")
                _write(stem.with_name(stem.name + ".en"),
                       "en-000000007\tSentence one\nen-000000008\tOther\nen-000000009\tMore\n")
                _write(stem.with_name(stem.name + ".gold"), f"{lang}-000000001\ten-000000007\n")
    elif task == "tatoeba":
        for lang in langs:
            iso3 = TATOEBA_ISO3[lang]
            stem = root / "tatoeba" / "v1" / f"tatoeba.{iso3}-eng"
            _write(stem.with_name(stem.name + f".{iso3}"), f"Hallo ({lang}).\nDanke.\n")
            _write(stem.with_name(stem.name + ".eng"), "Hello.\nThanks.\n")
    else:
        raise ValueError(task)


# --- fake hub ---------------------------------------------------------------------------------

def _squad_rows(prefix: str, n: int, title: bool = True) -> list[dict]:
    rows = []
    for i in range(n):
        row = {"id": f"{prefix}-{i}", "context": "Paris is the capital of France.",
               "question": f"Capital? {i}", "answers": {"text": ["Paris"], "answer_start": [0]}}
        if title:
            row["title"] = "Paris"
        rows.append(row)
    return rows


def hub_rows(path: str, name: str | None, split: str) -> list[dict]:
    """Rows shaped like the real hub datasets' (field names and types from their loaders)."""
    if path == "nyu-mll/glue" and name == "mnli":
        return [{"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": 0, "idx": 0},
                {"premise": "A dog.", "hypothesis": "A cat.", "label": 2, "idx": 1},
                {"premise": "Hidden.", "hypothesis": "Test.", "label": -1, "idx": 2}]
    if path == "rajpurkar/squad":
        return _squad_rows(f"squad-{split}", 3)
    if path != "google/xtreme":
        raise ValueError(f"unknown dataset {path}")
    kind, _, lang = (name or "").partition(".")
    if kind == "XNLI" and split in ("test", "validation"):
        return [{"language": lg, "sentence1": f"{lg} premise {i}", "sentence2": "hyp",
                 "gold_label": ["neutral", "contradiction"][i]}
                for lg in TASK_LANGS["xnli"] for i in range(2)]
    if kind == "PAWS-X" and lang in TASK_LANGS["pawsx"]:
        return [{"sentence1": "a b", "sentence2": "b a", "label": "1"},
                {"sentence1": "c", "sentence2": "d", "label": "0"},
                {"sentence1": "broken", "sentence2": "", "label": ""}]
    if kind == "udpos" and lang in UDPOS_NAMES.values():
        return [{"tokens": ["The", "cat", "sleeps"], "pos_tags": [5, 7, 15]},
                {"tokens": ["Hi", "!"], "pos_tags": [6, 12]}]
    if kind == "PAN-X" and lang in TASK_LANGS["panx"]:
        return [{"tokens": ["Ada", "Lovelace", "in", "London"], "ner_tags": [1, 2, 0, 5],
                 "langs": [lang] * 4}]
    if kind == "XQuAD" and lang in TASK_LANGS["xquad"] and split == "validation":
        rows = _squad_rows(f"xquad-{lang}", 2, title=False)
        rows[1]["answers"] = {"text": ["France"], "answer_start": [25]}  # stripped: really 24
        return rows
    if kind == "MLQA" and split in ("test", "validation"):
        return _squad_rows(f"mlqa-{name}", 2)
    if kind == "tydiqa" and split in ("train", "validation"):
        return [row for lg in TASK_LANGS["tydiqa"]
                for row in _squad_rows(f"{TYDIQA_NAMES[lg]}-{split}{lg}", 2)]
    if kind == "bucc18" and lang in TASK_LANGS["bucc2018"] and split in ("test", "validation"):
        return [{"source_sentence": "Satz eins", "target_sentence": "Sentence one",
                 "source_lang": f"{lang}-000000001", "target_lang": "en-000000007"},
                {"source_sentence": "Satz eins", "target_sentence": "Sentence one too",
                 "source_lang": f"{lang}-000000001", "target_lang": "en-000000008"},
                {"source_sentence": "Satz zwei", "target_sentence": "Sentence two",
                 "source_lang": f"{lang}-000000002", "target_lang": "en-000000009"}]
    if kind == "tatoeba" and lang in TATOEBA_ISO3.values() and split == "validation":
        return [{"source_sentence": "Hallo.\n", "target_sentence": "Hello.\n",
                 "source_lang": lang, "target_lang": "eng"},
                {"source_sentence": "Danke.\n", "target_sentence": "Thanks.\n",
                 "source_lang": lang, "target_lang": "eng"}]
    raise ValueError(f"no config {name!r} with split {split!r} in {path}")


def fake_datasets(calls: list | None = None) -> types.ModuleType:
    """A stand-in `datasets` module whose load_dataset serves `hub_rows` (and logs calls)."""
    module = types.ModuleType("datasets")

    def load_dataset(path, name=None, split=None, revision=None, **kwargs):
        if calls is not None:
            calls.append((path, name, split))
        return hub_rows(path, name, split)

    module.load_dataset = load_dataset
    return module
