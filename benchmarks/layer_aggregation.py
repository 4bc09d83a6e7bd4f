"""Zero-shot transfer with each `encoder.layer_aggregation` (last, scalar_mix, attention):
e5-small on real files, same steps and seed for every kind.

UD POS: trained on English EWT dev (40 steps), scored on the first 300 test sentences of en,
de and es. XQuAD: trained on English articles 0-31 (32 steps, bottom 6 layers frozen), scored
on the first 48 questions of held-out articles 32-47 in six languages. The budgets are those
of tests/test_realdata_e5.py. Prints one table from one run (about 15 min on an idle 2-core
CPU). Usage: python benchmarks/layer_aggregation.py [DATA] [--tasks udpos xquad]
(DATA: the folder with udpos/ and xquad/, default ../shared/data).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from xstilts.config import RunConfig
from xstilts.models.encoder import quiet_transformers
from xstilts.study.run import run_config

KINDS = ("last", "scalar_mix", "attention")
UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]
UD_FILES = {"en": "en_ewt", "de": "de_gsd", "es": "es_gsd"}
XQUAD_LANGS = ["en", "de", "es", "zh", "ar", "hi"]


def udpos(data: Path) -> tuple[dict, dict, dict, str]:
    """(task declaration, encoder settings, targets settings, metric) for UD POS."""
    declaration = {
        "format": "tagging", "languages": list(UD_FILES), "reader": "conllu",
        "base_dir": str(data / "udpos"), "labels": UPOS,
        "paths": {"train": "en_ewt-ud-dev.conllu", "dev": "en_ewt-ud-dev.conllu",
                  "test": "{lang3}-ud-test.conllu"},
        "reader_options": {"lang_codes": UD_FILES}}
    targets = {"test_limit": 300, "training": {
        "max_steps": 40, "batch_size": 16, "learning_rate": 3.0e-4,
        "head_learning_rate": 3.0e-3, "max_length": 128, "dev_limit": 64,
        "eval_batch_size": 64}}
    return declaration, {"trim_vocab": True}, targets, "f1"


def xquad(data: Path) -> tuple[dict, dict, dict, str]:
    """(task declaration, encoder settings, targets settings, metric) for XQuAD."""
    declaration = {
        "format": "span_qa", "languages": XQUAD_LANGS, "reader": "squad_json",
        "base_dir": str(data / "xquad"),
        "paths": {s: "xquad.{lang}.json" for s in ("train", "dev", "test")},
        "split_reader_options": {"train": {"articles": [0, 32]}, "dev": {"articles": [0, 32]},
                                 "test": {"articles": [32, 48]}}}
    targets = {"test_limit": 48, "training": {
        "max_steps": 32, "batch_size": 16, "learning_rate": 3.0e-4,
        "head_learning_rate": 3.0e-3, "max_length": 192, "dev_limit": 16,
        "eval_batch_size": 32}}
    return declaration, {"freeze_embeddings": True, "freeze_layers": 6}, targets, "f1"


TASKS = {"udpos": udpos, "xquad": xquad}


def one_run(task: str, data: Path, kind: str, out: Path) -> tuple[dict, float, float]:
    """Per-language metrics, the dev score and the seconds of one run."""
    declaration, encoder, targets, _ = TASKS[task](data)
    config = RunConfig.model_validate({
        "seed": 0, "encoder": {"name": "e5-small", "layer_aggregation": kind, **encoder},
        "targets": {"tasks": [task], **targets}, "tasks": {task: declaration}})
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the pipeline's own progress lines
        target = run_config(config, out)["targets"][task]
    return target["languages"], target["dev"]["best_score"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="?", default="../shared/data", type=Path)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    args = parser.parse_args()
    for task in args.tasks:
        folder = args.data / task
        if not folder.is_dir():
            parser.error(f"{folder}: not found (give the folder that holds udpos/ and xquad/)")
    quiet_transformers()
    rows: dict[tuple[str, str], dict[str, float]] = {}
    dev: dict[tuple[str, str], float] = {}
    seconds: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            for kind in KINDS:
                langs, best, sec = one_run(task, args.data, kind, Path(tmp) / f"{task}-{kind}")
                metric = TASKS[task](args.data)[3]
                rows[(task, kind)] = {lang: m[metric] for lang, m in langs.items()}
                dev[(task, kind)], seconds[(task, kind)] = best, sec
                print(f"{task} {kind}: done in {sec / 60:.1f} min", flush=True)
    print(f"\ne5-small, seed 0, {torch.get_num_threads()} threads; zero-shot F1 on test "
          "(UD POS: first 300 sentences; XQuAD: first 48 held-out questions)")
    print(f"{'task':<7}{'lang':<6}" + "".join(f"{k:>12}" for k in KINDS))
    for task in args.tasks:
        langs = list(rows[(task, KINDS[0])])
        for lang in langs:
            print(f"{task:<7}{lang:<6}" + "".join(f"{rows[(task, k)][lang]:>12.1f}"
                                                  for k in KINDS))
        print(f"{task:<7}{'avg':<6}" + "".join(
            f"{np.mean(list(rows[(task, k)].values())):>12.1f}" for k in KINDS))
        print(f"{task:<7}{'dev':<6}" + "".join(f"{dev[(task, k)]:>12.1f}" for k in KINDS))
        print(f"{task:<7}{'min':<6}" + "".join(f"{seconds[(task, k)] / 60:>12.1f}"
                                                for k in KINDS))


if __name__ == "__main__":
    main()
