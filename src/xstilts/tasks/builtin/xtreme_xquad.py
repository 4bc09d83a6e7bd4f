"""XQuAD: extractive QA in 11 languages (SQuAD v1.1 dev translated); trained on SQuAD v1.1."""

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
    # XQuAD has one split on the hub, "validation": it is the test set. It has no dev set:
    # the paper's dev table (jiant) scores XQuAD itself.
    "test": HubSource("google/xtreme", squad_row, config="XQuAD.{lang}",
                      splits={"test": "validation"}),
})
LOCAL = FileSource(reader="squad_json",
                   paths={"train": SQUAD_TRAIN, "selection": SQUAD_DEV,
                          "test": "xquad/xquad.{lang}.json"},
                   options={"require_answers": True})

TASK = register(Task(
    name="xquad", format="span_qa", languages=TASK_LANGS["xquad"], source=HUB,
    options=dict(XTREME_QA_OPTIONS),
    description="XQuAD (XTREME): extractive QA, train on SQuAD v1.1, test in 11 languages",
    alternatives={"hub": HUB, "local": LOCAL},
))
