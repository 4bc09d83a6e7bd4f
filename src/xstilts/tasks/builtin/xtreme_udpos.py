"""UD-POS: universal part-of-speech tagging (UD v2.5) in 33 languages; trained on English."""

from __future__ import annotations

from xstilts.tasks.composite import LangMapSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import TASK_LANGS, UDPOS_NAMES, UPOS_TAGS, tag_names


def udpos_row(row: dict, lang: str) -> dict | None:
    """google/xtreme udpos.{Language}: tokens, pos_tags (class ids; strings in old versions)."""
    tokens = [str(t) for t in row["tokens"]]
    if not tokens:
        return None
    return {"tokens": tokens, "tags": tag_names(row["pos_tags"], UPOS_TAGS)}


UDPOS_NO_DEV = ("kk", "th", "tl", "yo")
# Hub configs are named by English language name: ask for "German", not "de".
HUB = LangMapSource(HubSource("google/xtreme", udpos_row, config="udpos.{lang}"), UDPOS_NAMES)
# utils_preprocess.py writes "token<TAB>tag" lines, a blank line between sentences.
LOCAL = FileSource(reader="conll", paths={"train": "udpos/train-{lang}.tsv",
                                          "dev": "udpos/dev-{lang}.tsv",
                                          "test": "udpos/test-{lang}.tsv"})

TASK = register(Task(
    name="udpos", format="tagging", languages=TASK_LANGS["udpos"], source=HUB,
    labels=UPOS_TAGS,
    description="UD-POS (XTREME): part-of-speech tagging, train on English (EWT et al.), "
                "test in 33 languages",
    alternatives={"hub": HUB, "local": LOCAL},
    # kk, th, tl and yo have no dev set (the hub's udpos.Kazakh: train and test; udpos.Thai,
    # Tagalog, Yoruba: test), so the dev table scores them on test, as jiant does
    # (c_tokenize_and_cache.sh tokenizes them for test only).
    dev_languages=tuple(lang for lang in TASK_LANGS["udpos"] if lang not in UDPOS_NO_DEV),
))
