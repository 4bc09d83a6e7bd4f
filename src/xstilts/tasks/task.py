"""A task is a declaration: name, format, languages, where each split comes from.

Examples are plain dicts whose keys depend on the format (see `xstilts.formats`):

- classification:   {"id", "text_a", "text_b"?, "label": str}
- multiple_choice:  {"id", "prompt", "choices": [str, ...], "label": int}
- span_qa:          {"id", "context", "question", "answers": {"text": [...], "answer_start": [...]}}
- tagging:          {"id", "tokens": [str, ...], "tags": [str, ...]}
- retrieval:        {"id", "source": str, "target": str}   (line i of source aligned to target i)
- mlm:              {"id", "text"}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Example = dict
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class FileSource:
    """Examples read from files: a path template with {split} and {lang}, a reader, a field map."""

    reader: str  # "jsonl", "tsv", "squad_json", "conllu", "tatoeba"
    paths: dict[str, str]  # split -> path template, e.g. "data/test-{lang}.jsonl"
    fields: dict[str, str] = field(default_factory=dict)  # our key -> key in the file
    base_dir: str = "."
    options: dict = field(default_factory=dict)  # reader-specific (e.g. tatoeba codes)

    def has(self, split: str) -> bool:
        return split in self.paths

    def path(self, split: str, lang: str) -> Path:
        """The file for one split and language (templates may use {split} and {lang})."""
        template = self.paths[split]
        iso3 = self.options.get("lang_codes", {}).get(lang, lang)
        p = Path(template.format(split=split, lang=lang, lang3=iso3))
        return p if p.is_absolute() else Path(self.base_dir) / p

    def load(self, split: str, lang: str) -> list[Example]:
        from xstilts.tasks.readers import read_examples

        return read_examples(self.reader, self.path(split, lang), self.fields, self.options)

    def describe(self) -> dict:
        return {"reader": self.reader, "paths": self.paths, "fields": self.fields,
                "base_dir": str(self.base_dir), "options": self.options}


@dataclass(frozen=True)
class GeneratedSource:
    """Examples made by a function (split, lang, size, seed) -> list of examples."""

    generate: Callable[[str, str, int, int], list[Example]]
    sizes: dict[str, int]  # split -> number of examples
    seed: int = 0
    splits: tuple[str, ...] = SPLITS

    def has(self, split: str) -> bool:
        return split in self.splits

    def load(self, split: str, lang: str) -> list[Example]:
        return self.generate(split, lang, self.sizes.get(split, 0), self.seed)

    def describe(self) -> dict:
        gen = getattr(self.generate, "__qualname__", repr(self.generate))
        return {"generator": f"{self.generate.__module__}.{gen}", "sizes": self.sizes,
                "seed": self.seed}


@dataclass(frozen=True)
class Task:
    """What a task is: its format, languages, labels and sources of each split."""

    name: str
    format: str
    languages: Sequence[str]  # evaluation (test) languages
    source: FileSource | GeneratedSource
    train_language: str = "en"  # language of train and dev
    # When set, train/dev are the concatenation over these languages (e.g. multilingual MLM).
    train_languages: Sequence[str] | None = None
    labels: Sequence[str] | None = None  # classification / tagging label list
    description: str = ""
    options: dict = field(default_factory=dict)  # format options, e.g. {"layer": 8}

    def load(self, split: str, lang: str | None = None) -> list[Example]:
        """Examples of one split; train/dev default to the training language."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        lang = lang or self.train_language
        return self.source.load(split, lang)

    def load_training(self, split: str) -> list[Example]:
        """train/dev examples: the training language, or every language in train_languages."""
        if not self.train_languages:
            return self.load(split, self.train_language)
        out = []
        for lang in self.train_languages:
            out.extend({**ex, "id": f"{lang}:{ex.get('id')}", "lang": lang}
                       for ex in self.load(split, lang))
        return out

    def has_split(self, split: str) -> bool:
        return self.source.has(split)

    def describe(self) -> dict:
        """A JSON-able description: part of the content key of anything trained on it."""
        return {"name": self.name, "format": self.format, "languages": list(self.languages),
                "train_language": self.train_language,
                "train_languages": list(self.train_languages or []),
                "labels": list(self.labels) if self.labels else None,
                "source": self.source.describe(), "options": self.options}
