"""BUCC 2018: mining parallel sentences from comparable corpora (de/fr/ru/zh with English)."""

from __future__ import annotations

from xstilts.tasks.composite import PostSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import TASK_LANGS


def bucc_row(row: dict, lang: str) -> dict:
    """google/xtreme bucc18.{lang}: one gold pair per row."""
    # Its source_lang/target_lang fields hold the sentence ids (de-000000123), not languages.
    return {"source_id": row["source_lang"], "source": row["source_sentence"],
            "target_id": row["target_lang"], "target": row["target_sentence"]}


def pairs_to_sentences(pairs: list[dict], lang: str) -> list[dict]:
    """Gold pairs -> bitext_mining sentences: each source once, with all its gold targets."""
    sources: dict[str, dict] = {}
    targets: dict[str, dict] = {}
    for p in pairs:
        src = sources.setdefault(p["source_id"], {"id": p["source_id"], "side": "source",
                                                  "text": p["source"].strip(), "gold": []})
        if p["target_id"] not in src["gold"]:
            src["gold"].append(p["target_id"])
        targets.setdefault(p["target_id"], {"id": p["target_id"], "side": "target",
                                            "text": p["target"].strip()})
    return list(sources.values()) + list(targets.values())


# The hub keeps only the gold pairs, not the corpora around them: mining among them is easier
# than the official task. Local files (the full corpora) give comparable numbers.
HUB = PostSource(HubSource("google/xtreme", bucc_row, config="bucc18.{lang}",
                           splits={"dev": "validation", "test": "test"}), pairs_to_sentences)
# download_data.sh: bucc2018/{lang}-en.{dev|test}.{lang|en} ("id<TAB>sentence") and .gold.
LOCAL = FileSource(reader="bucc", paths={"dev": "bucc2018/{lang}-en.dev.{lang}",
                                         "test": "bucc2018/{lang}-en.test.{lang}"})

TASK = register(Task(
    name="bucc2018", format="bitext_mining", languages=TASK_LANGS["bucc2018"], source=HUB,
    description="BUCC 2018 (XTREME): parallel sentence mining, de/fr/ru/zh to English, "
                "no training (hub: gold pairs only)",
    alternatives={"hub": HUB, "local": LOCAL},
    source_caveats={"hub": "the hub copy of BUCC 2018 holds only the gold pairs, without the "
                           "comparable-corpus sentences around them, so mining there is not "
                           "BUCC and its F1 is not comparable to published numbers."},
))
