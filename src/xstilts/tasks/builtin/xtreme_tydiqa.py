"""TyDiQA-GoldP: extractive QA in 9 languages; trained on its English training split."""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.squad_rows import XTREME_QA_OPTIONS, squad_row
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import TASK_LANGS, TYDIQA_NAMES


def tydiqa_row(row: dict, lang: str) -> dict | None:
    """google/xtreme tydiqa: every language in one split; ids start with the language name."""
    if str(row["id"]).split("-", 1)[0] != TYDIQA_NAMES.get(lang, lang):
        return None
    return squad_row(row, lang)


# XTREME trains on the English GoldP train split and evaluates on the GoldP dev sets; its
# train_qa.sh also uses the English dev file as dev, so English dev and test coincide.
HUB = HubSource("google/xtreme", tydiqa_row, config="tydiqa",
                splits={"train": "train", "dev": "validation", "test": "validation"})
DEV = "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json"
LOCAL = FileSource(reader="squad_json", paths={
    "train": "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json",
    "dev": DEV, "test": DEV}, options={"require_answers": True})

TASK = register(Task(
    name="tydiqa", format="span_qa", languages=TASK_LANGS["tydiqa"], source=HUB,
    options=dict(XTREME_QA_OPTIONS),
    description="TyDiQA-GoldP (XTREME): extractive QA, train on English GoldP, test in 9 "
                "languages (English dev = English test, as in XTREME)",
    alternatives={"hub": HUB, "local": LOCAL},
    dev_languages=TASK_LANGS["tydiqa"],  # each language's own dev set (the paper's dev table)
))
