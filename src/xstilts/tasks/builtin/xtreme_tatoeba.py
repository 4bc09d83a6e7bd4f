"""Tatoeba: sentence retrieval, 36 languages to English, no training."""

from __future__ import annotations

from xstilts.tasks.composite import LangMapSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import TASK_LANGS, TATOEBA_ISO3


def tatoeba_row(row: dict, lang: str) -> dict:
    """google/xtreme tatoeba.{iso3}: source_sentence, target_sentence (English)."""
    # The loading script kept each file line's newline.
    return {"source": row["source_sentence"].rstrip("\r\n"),
            "target": row["target_sentence"].rstrip("\r\n")}


# Hub configs and files use ISO 639-3 codes (tatoeba.deu); the hub has one split, validation.
HUB = LangMapSource(HubSource("google/xtreme", tatoeba_row, config="tatoeba.{lang}",
                              splits={"test": "validation"}), TATOEBA_ISO3)
# LASER's aligned pairs (XTREME's own tatoeba/ copy shuffles the English side to hide labels).
LOCAL = FileSource(reader="tatoeba", paths={"test": "tatoeba/v1/tatoeba.{lang3}-eng.{lang3}"},
                   options={"lang_codes": TATOEBA_ISO3})

TASK = register(Task(
    name="tatoeba", format="retrieval", languages=TASK_LANGS["tatoeba"], source=HUB,
    description="Tatoeba (XTREME): sentence retrieval to English in 36 languages, no training",
    alternatives={"hub": HUB, "local": LOCAL},
))
