"""MLQA: extractive QA in 7 languages (context and question in the same language)."""

from __future__ import annotations

from xstilts.tasks.composite import SplitSource
from xstilts.tasks.registry import register
from xstilts.tasks.squad_rows import (
    SQUAD_DEV,
    SQUAD_HUB,
    SQUAD_TRAIN,
    XTREME_QA_OPTIONS,
    squad_row,
)
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import TASK_LANGS

HUB = SplitSource({
    "train": SQUAD_HUB, "selection": SQUAD_HUB,
    # MLQA's own dev set per language (the paper's dev table), and its test set.
    "dev": HubSource("google/xtreme", squad_row, config="MLQA.{lang}.{lang}",
                     splits={"dev": "validation"}),
    "test": HubSource("google/xtreme", squad_row, config="MLQA.{lang}.{lang}",
                      splits={"test": "test"}),
})
LOCAL = FileSource(reader="squad_json", paths={
    "train": SQUAD_TRAIN, "selection": SQUAD_DEV,
    "dev": "mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
    "test": "mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json"},
    options={"require_answers": True})

TASK = register(Task(
    name="mlqa", format="span_qa", languages=TASK_LANGS["mlqa"], source=HUB,
    # MLQA's official metric normalises answers per language (articles, punctuation).
    options={**XTREME_QA_OPTIONS, "metric": "mlqa"},
    description="MLQA (XTREME): extractive QA, train on SQuAD v1.1, test in 7 languages",
    alternatives={"hub": HUB, "local": LOCAL},
    dev_languages=TASK_LANGS["mlqa"],  # each language's own dev set (the paper's dev table)
))
