"""Tiny XTREME data for tests: local files in download_data.sh's layout (the hub's own layouts:
tests/hub_replicas.py)."""

from __future__ import annotations

import json
from pathlib import Path

from xstilts.tasks.builtin.xtreme_udpos import UDPOS_NO_DEV
from xstilts.tasks.xtreme_langs import TASK_LANGS, TATOEBA_ISO3

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
