"""A task is a declaration: name, format, languages, where each split comes from.

Examples are plain dicts whose keys depend on the format (see `xstilts.formats`):

- classification:   {"id", "text_a", "text_b"?, "label": str}
- multiple_choice:  {"id", "prompt", "choices": [str, ...], "label": int}
- span_qa:          {"id", "context", "question", "answers": {"text": [...], "answer_start": [...]}}
- tagging:          {"id", "tokens": [str, ...], "tags": [str, ...]}
- retrieval:        {"id", "source": str, "target": str}   (line i of source aligned to target i)
- bitext_mining:    {"id", "side": "source"|"target", "text", "gold"?: [target ids]}
- mlm:              {"id", "text"}
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xstilts.tasks.reader_io import (
    BAD_ROWS,
    CONVERTER_DROPS,
    Examples,
    counting_drops,
    note_dropped,
)

Example = dict
log = logging.getLogger(__name__)
# "selection": the English dev set that selects the model, where it is not the task's "dev" in
# the training language (XNLI from the hub: MNLI's dev-matched, as jiant; "dev" is XNLI's own
# dev set in each language). Without it, selection reads "dev" in the training language(s).
SPLITS = ("train", "selection", "dev", "test")
DATA_SPLITS = ("train", "dev", "test")  # what a generated or user-declared task has


@dataclass(frozen=True)
class FileSource:
    """Examples read from files: a path template with {split} and {lang}, a reader, a field map."""

    reader: str  # "jsonl", "tsv", "squad_json", "conllu", "tatoeba"
    paths: dict[str, str]  # split -> path template, e.g. "data/test-{lang}.jsonl"
    fields: dict[str, str] = field(default_factory=dict)  # our key -> key in the file
    base_dir: str = "."
    options: dict = field(default_factory=dict)  # reader-specific (e.g. tatoeba codes)
    # split -> reader options that differ for that split, e.g. XQuAD articles 0-31 for train
    # and 32-47 for test from the same files: {"train": {"articles": [0, 32]}, ...}.
    split_options: dict = field(default_factory=dict)
    # Like HubSource.convert: (record, lang) -> example or None (dropped), for files whose
    # records are not yet in the task's format (nested choices, label codes, ...).
    convert: Callable[[dict, str], Example | None] | None = None

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

        options = {**self.options, **self.split_options.get(split, {})}
        examples = read_examples(self.reader, self.path(split, lang), self.fields, options)
        if self.convert is None:
            return examples
        return converted(examples, self.convert, lang)

    def describe(self) -> dict:
        out = {"reader": self.reader, "paths": self.paths, "fields": self.fields,
               "base_dir": str(self.base_dir), "options": self.options}
        if self.split_options:
            out["split_options"] = self.split_options
        if self.convert is not None:
            conv = getattr(self.convert, "__qualname__", repr(self.convert))
            out["convert"] = f"{self.convert.__module__}.{conv}"
        return out


def log_dropped(task: str, split: str, lang: str, dropped: dict[str, int], kept: int) -> None:
    """Say which rows reading a split left out, if any: skipped bad rows are a warning, a
    converter's filter may be by design."""
    if dropped:
        log.log(logging.WARNING if BAD_ROWS in dropped else logging.INFO,
                "task %s %s (%s): dropped %d of %d rows (%s)", task, split, lang,
                sum(dropped.values()), kept + sum(dropped.values()),
                "; ".join(f"{n} {why}" for why, n in dropped.items()))


def converted(records, convert: Callable[[dict, str], Example | None], lang: str) -> list[Example]:
    """`convert` applied to every record; the records it drops (None) are counted."""
    out = [ex for ex in (convert(r, lang) for r in records) if ex is not None]
    note_dropped(len(records) - len(out), CONVERTER_DROPS)
    return out


@dataclass(frozen=True)
class GeneratedSource:
    """Examples made by a function (split, lang, size, seed) -> list of examples."""

    generate: Callable[[str, str, int, int], list[Example]]
    sizes: dict[str, int]  # split -> number of examples
    seed: int = 0
    splits: tuple[str, ...] = DATA_SPLITS

    def has(self, split: str) -> bool:
        return split in self.splits

    def load(self, split: str, lang: str) -> list[Example]:
        return self.generate(split, lang, self.sizes.get(split, 0), self.seed)

    def describe(self) -> dict:
        gen = getattr(self.generate, "__qualname__", repr(self.generate))
        return {"generator": f"{self.generate.__module__}.{gen}", "sizes": self.sizes,
                "seed": self.seed}


@dataclass(frozen=True)
class HubSource:
    """Examples from the Hugging Face hub through `datasets` (needs `pip install xstilts[hub]`).

    `config` and `splits` values may use {lang}; `convert(row, lang)` turns one hub row into
    one example of the task's format (or None to drop it), so hub quirks stay in one place.
    """

    dataset: str
    convert: Callable[[dict, str], Example | None]
    config: str | None = None
    splits: dict[str, str] = field(default_factory=lambda: {
        "train": "train", "dev": "validation", "test": "test"})
    revision: str | None = None
    # A local copy of the hub to read from instead (`data.hub_mirror`; see xstilts.tasks.hub):
    # where the data is read from, not what it is, so no part of equality or describe().
    mirror: str | None = field(default=None, compare=False)

    def has(self, split: str) -> bool:
        return split in self.splits

    def load(self, split: str, lang: str) -> list[Example]:
        from xstilts.tasks.hub import load_hub_split

        return load_hub_split(self, split, lang)

    def describe(self) -> dict:
        conv = getattr(self.convert, "__qualname__", repr(self.convert))
        return {"hub": self.dataset, "config": self.config, "splits": self.splits,
                "revision": self.revision, "convert": f"{self.convert.__module__}.{conv}"}


# Task options that describe a task to a study, not its data or its training: `family`
# (translations of one task share one: study/spec.py's `types` strata) and `sizes` (its
# splits' sizes, for a study's cost before its data is on disk: study/cost.py). They are in
# no content key (`keyed_options`), so setting one retrains and refeaturises nothing.
STUDY_OPTIONS = ("family", "sizes")


def keyed_options(options: dict) -> dict:
    """A task's options as content keys see them (without STUDY_OPTIONS)."""
    return {k: v for k, v in options.items() if k not in STUDY_OPTIONS}


@dataclass(frozen=True)
class Task:
    """What a task is: its format, languages, labels and sources of each split."""

    name: str
    format: str
    languages: Sequence[str]  # evaluation (test) languages
    source: FileSource | GeneratedSource | HubSource
    train_language: str = "en"  # language of train and dev
    # When set, train/dev are the concatenation over these languages (e.g. multilingual MLM).
    train_languages: Sequence[str] | None = None
    labels: Sequence[str] | None = None  # classification / tagging label list
    description: str = ""
    options: dict = field(default_factory=dict)  # format options, e.g. {"layer": 8}
    # Other places the same data can come from, by kind ("hub", "local"); see `with_source`.
    alternatives: dict = field(default_factory=dict)
    # Source kinds whose copy is not the benchmark, with why (BUCC's hub copy: gold pairs
    # only); a run refuses them unless `data.allow_gold_only` is set.
    source_caveats: dict = field(default_factory=dict)
    # The languages with a dev set of their own (None: every language); the others are
    # evaluated on test when dev is asked for (UD-POS kk, th, tl, yo, as jiant does).
    dev_languages: Sequence[str] | None = None

    @property
    def selection_split(self) -> str:
        """The split model selection reads (in the training language(s))."""
        return "selection" if self.source.has("selection") else "dev"

    def has_dev(self, lang: str) -> bool:
        """Whether `lang` has a dev set of its own to be evaluated on."""
        return self.source.has("dev") and (self.dev_languages is None
                                           or lang in self.dev_languages)

    def with_source(self, kind: str, data_dir: str | None = None,
                    hub_mirror: str | None = None) -> Task:
        """This task reading from another kind of source; local files are found under data_dir,
        hub datasets in the local copy of the hub under hub_mirror where it is set."""
        if kind not in self.alternatives:
            return self  # a task with one source (e.g. a generated suite) keeps it
        source = self.alternatives[kind]
        if _file_sources(source):
            if not data_dir:
                from xstilts.errors import XstiltsError

                raise XstiltsError(
                    f"task {self.name!r} reads local files, but no data folder is set.\n  fix: "
                    "set `data: {source: local, dir: PATH}` (the folder XTREME's "
                    "download_data.sh writes), or `data: {source: hub}`."
                )
            source = _under(source, str(data_dir))
        if hub_mirror:
            from xstilts.tasks.hub import mirrored

            source = mirrored(source, str(hub_mirror))
        return Task(**{**self.__dict__, "source": source})

    def with_labels_from(self, train: list[Example]) -> Task:
        """This task with its label list read from its training examples.

        For data-dependent label sets (CCG supertags): option `labels_from_train` is the
        minimum count; rarer labels are left out (ignored in training, scored as errors).
        """
        from collections import Counter

        counts = Counter(str(t) for ex in train
                         for t in (ex["tags"] if "tags" in ex else [ex.get("label")])
                         if t is not None)
        least = int(self.options.get("labels_from_train", 1))
        labels = sorted(lab for lab, n in counts.items() if n >= least)  # sorted: stable keys
        if not labels:
            from xstilts.errors import XstiltsError

            raise XstiltsError(
                f"task {self.name!r}: no label occurs {least} or more times in its training "
                "data.\n  fix: check the training file, or lower option labels_from_train."
            )
        return Task(**{**self.__dict__, "labels": labels})

    def load(self, split: str, lang: str | None = None) -> Examples:
        """Examples of one split; without `lang`, the training language. Rows left
        out while reading (bad rows skipped, converter drops) are counted and logged."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        lang = lang or self.train_language
        with counting_drops() as dropped:
            examples = Examples(self.source.load(split, lang), dropped)
        log_dropped(self.name, split, lang, dict(dropped), len(examples))
        return examples

    def load_training(self, split: str) -> Examples:
        """Examples of a training split (train, selection): the training language, or every
        language in train_languages."""
        if not self.train_languages:
            return self.load(split, self.train_language)
        out = Examples()
        for lang in self.train_languages:
            part = self.load(split, lang)
            out.extend({**ex, "id": f"{lang}:{ex.get('id')}", "lang": lang} for ex in part)
            for why, n in part.dropped.items():
                out.dropped[why] = out.dropped.get(why, 0) + n
        return out

    def has_split(self, split: str) -> bool:
        return self.source.has(split)

    def local_files(self, split: str, languages: Sequence[str]) -> list[Path]:
        """The existing local files behind a split in these languages (none for hub or
        generated data)."""
        out = []
        for source in _file_sources(self.source):
            if not source.has(split):
                continue
            for lang in languages:
                try:
                    path = source.path(split, lang)
                except (KeyError, IndexError, ValueError):  # a template that does not fit
                    continue
                if path.is_file():
                    out.append(path)
        return out

    def describe(self) -> dict:
        """A JSON-able description: part of the content key of anything trained on it."""
        return {"name": self.name, "format": self.format, "languages": list(self.languages),
                "train_language": self.train_language,
                "train_languages": list(self.train_languages or []),
                "labels": list(self.labels) if self.labels else None,
                "source": self.source.describe(), "options": keyed_options(self.options),
                **({"dev_languages": list(self.dev_languages)}
                   if self.dev_languages is not None else {})}



def _is_source(value) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type) and hasattr(value, "load")


def sources_of(value, kind: type) -> list:
    """Every source of type `kind` in a (possibly composite) source, found through its fields."""
    if isinstance(value, kind):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in sources_of(v, kind)]
    if _is_source(value):
        return sources_of([getattr(value, f.name) for f in dataclasses.fields(value)], kind)
    return []


def _file_sources(value) -> list[FileSource]:
    return sources_of(value, FileSource)


def _under(value, data_dir: str):
    """The same (possibly composite) source with every FileSource in it reading under data_dir."""
    if isinstance(value, FileSource):
        return dataclasses.replace(value, base_dir=data_dir)
    if isinstance(value, dict):
        return {k: _under(v, data_dir) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_under(v, data_dir) for v in value)
    if _is_source(value):
        return dataclasses.replace(value, **{f.name: _under(getattr(value, f.name), data_dir)
                                             for f in dataclasses.fields(value) if f.init})
    return value
