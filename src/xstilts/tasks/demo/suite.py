"""The demo suite: generated multilingual tasks that need no download.

Targets (train/dev in English, test in six languages with parallel test sets): demo-nli,
demo-qa, demo-ner, demo-retrieval. Intermediate tasks in several formats and languages:
demo-mc-{en,es,ru}, demo-topic-{en,de,zh}, demo-nli-{de,es}, demo-qa-ru, demo-pos-en.
"""

from __future__ import annotations

from collections.abc import Mapping

from xstilts.tasks.demo.gen_pairs import NLI_LABELS, generate_mc, generate_nli, generate_qa
from xstilts.tasks.demo.gen_text import (
    NER_LABELS,
    POS_LABELS,
    TOPIC_LABELS,
    generate_ner,
    generate_pos,
    generate_retrieval,
    generate_topic,
)
from xstilts.tasks.demo.lexicon import LANGS
from xstilts.tasks.task import DATA_SPLITS, GeneratedSource, Task

DEFAULT_SIZES = {"train": 400, "dev": 100, "test": 100}
_NAMES = {"en": "English", "de": "German", "es": "Spanish", "ru": "Russian", "zh": "Chinese",
          "ar": "Arabic"}


def _sizes(sizes: Mapping | None, name: str, splits) -> dict[str, int]:
    """Split sizes: defaults, then split -> n for every task, then name -> {split: n}."""
    sizes = sizes or {}
    out = {**DEFAULT_SIZES, **{k: int(v) for k, v in sizes.items() if k in DATA_SPLITS}}
    out.update({k: int(v) for k, v in (sizes.get(name) or {}).items()})
    return {s: out[s] for s in splits}


def make_tasks(sizes: Mapping | None = None, seed: int = 0) -> dict[str, Task]:
    """Every demo task, with split sizes from `sizes` (see `_sizes`) and one seed."""

    def task(name, fmt, generate, languages, description, train_language="en", labels=None,
             splits=DATA_SPLITS):
        source = GeneratedSource(generate=generate, sizes=_sizes(sizes, name, splits),
                                 seed=seed, splits=tuple(splits))
        return Task(name=name, format=fmt, languages=tuple(languages), source=source,
                    train_language=train_language, labels=tuple(labels) if labels else None,
                    description=description)

    def own(lang):  # an intermediate task is tested in its language, and in English
        return (lang,) if lang == "en" else (lang, "en")

    tasks = [
        task("demo-nli", "classification", generate_nli, LANGS,
             "Demo NLI (generated): a sentence about a person, a one-fact hypothesis about them; "
             "train English, test 6 languages", labels=NLI_LABELS),
        task("demo-qa", "span_qa", generate_qa, LANGS,
             "Demo extractive QA (generated): short stories, who/where/when/how-many "
             "questions; train English, test 6 languages"),
        task("demo-ner", "tagging", generate_ner, LANGS,
             "Demo NER (generated): PER/LOC/ORG in IOB2; train English, test 6 languages",
             labels=NER_LABELS),
        task("demo-retrieval", "retrieval", generate_retrieval, LANGS,
             "Demo sentence retrieval (generated): find the English translation of each "
             "sentence; test only", splits=("test",)),
    ]
    for lang in ("en", "es", "ru"):
        tasks.append(task(f"demo-mc-{lang}", "multiple_choice", generate_mc, own(lang),
                          f"Demo reading comprehension with 4 choices, {_NAMES[lang]} "
                          "(generated, intermediate)", train_language=lang))
    for lang in ("en", "de", "zh"):
        tasks.append(task(f"demo-topic-{lang}", "classification", generate_topic, own(lang),
                          f"Demo news topic classification, {_NAMES[lang]} (generated, "
                          "intermediate)", train_language=lang, labels=TOPIC_LABELS))
    for lang in ("de", "es"):
        tasks.append(task(f"demo-nli-{lang}", "classification", generate_nli, own(lang),
                          f"Demo NLI in {_NAMES[lang]} (translate-train style, intermediate)",
                          train_language=lang, labels=NLI_LABELS))
    tasks.append(task("demo-qa-ru", "span_qa", generate_qa, own("ru"),
                      "Demo extractive QA in Russian (translate-train style, intermediate)",
                      train_language="ru"))
    tasks.append(task("demo-pos-en", "tagging", generate_pos, ("en",),
                      "Demo English part-of-speech tagging, UD coarse tags (generated, "
                      "intermediate)", labels=POS_LABELS))
    return {t.name: t for t in tasks}
