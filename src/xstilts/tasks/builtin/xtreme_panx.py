"""PAN-X (WikiANN): named entities (PER, ORG, LOC) in 40 languages; trained on English."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import PANX_TAGS, TASK_LANGS, tag_names


def panx_row(row: dict, lang: str) -> dict | None:
    """google/xtreme PAN-X.{lang}: tokens, ner_tags (class ids), langs."""
    # Older versions of the dataset named them words and ner (strings).
    tokens = [str(t) for t in row.get("tokens", row.get("words", []))]
    if not tokens:
        return None
    return {"tokens": tokens, "tags": tag_names(row.get("ner_tags", row.get("ner")), PANX_TAGS)}


HUB = HubSource("google/xtreme", panx_row, config="PAN-X.{lang}")
# utils_preprocess.py writes "token<TAB>tag" lines; the raw files prefix tokens with "en:".
LOCAL = FileSource(reader="conll", paths={"train": "panx/train-{lang}.tsv",
                                          "dev": "panx/dev-{lang}.tsv",
                                          "test": "panx/test-{lang}.tsv"},
                   options={"strip_lang_prefix": True})

TASK = register(Task(
    name="panx", format="tagging", languages=TASK_LANGS["panx"], source=HUB,
    labels=PANX_TAGS,
    description="PAN-X/WikiANN NER (XTREME): train on English, test in 40 languages",
    alternatives={"hub": HUB, "local": LOCAL},
    dev_languages=TASK_LANGS["panx"],  # each language's own dev set (the paper's dev table)
))
