"""PAWS-X: paraphrase identification in 7 languages; trained on English PAWS."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import PAWSX_LABELS, TASK_LANGS


def pawsx_row(row: dict, lang: str) -> dict | None:
    """google/xtreme PAWS-X.{lang}: sentence1, sentence2, label ("0"/"1" as a string)."""
    label = str(row["label"]).strip()
    if label not in PAWSX_LABELS:  # a few translated rows are malformed; XTREME drops them too
        return None
    return {"text_a": row["sentence1"], "text_b": row["sentence2"], "label": label}


HUB = HubSource("google/xtreme", pawsx_row, config="PAWS-X.{lang}")
LOCAL = FileSource(reader="tsv", paths={"train": "pawsx/train-en.tsv",
                                        "dev": "pawsx/dev-{lang}.tsv",
                                        "test": "pawsx/test-{lang}.tsv"},
                   options={"header": False, "columns": ["text_a", "text_b", "label"]})

TASK = register(Task(
    name="pawsx", format="classification", languages=TASK_LANGS["pawsx"], source=HUB,
    labels=PAWSX_LABELS,
    description="PAWS-X (XTREME): paraphrase identification, train on English, test in 7 "
                "languages",
    alternatives={"hub": HUB, "local": LOCAL},
    dev_languages=TASK_LANGS["pawsx"],  # each language's own dev set (the paper's dev table)
))
