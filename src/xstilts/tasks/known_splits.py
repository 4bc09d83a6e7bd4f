"""What is known about a split's files, keyed by their content: how many examples they give,
the rows left out while reading them, whether they passed the run's checks and the digest
of their examples (the feature cache's key).

    XSTILTS_CACHE/splits/<key>.json

Every run reads and checks each split it needs before any work (preflight.py), and the
feature cache keys features by a hash of the examples. For an MNLI-sized training set that
is seconds of parsing, checking and hashing on every run although nothing changed. Here the
key is the files' bytes (sha256), the task's declaration, the split and its languages, and
the code that reads and checks examples (the source of `tasks/` and `formats/`), so a split
none of those changed need not be parsed at all when its features are cached:
`known_split` hands out `LazyExamples`, which reads the files the first time an example is
asked for and answers its length, dropped rows and known facts without reading them.

Covered: splits of one `FileSource` whose reader reads exactly the file it is given (not
Tatoeba's or BUCC's sibling files) and whose converter, if any, is xstilts' own code (a
user's converter can change without the files changing). Records are written atomically;
one that cannot be read or written costs time, never a run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import xstilts
from xstilts.artifacts import cache_root, content_key, file_hash, write_json_atomic
from xstilts.tasks.reader_io import Examples
from xstilts.tasks.task import FileSource, Task, log_dropped

log = logging.getLogger(__name__)

# Readers whose examples depend on the one file they are given (and the declaration).
SINGLE_FILE_READERS = frozenset({"jsonl", "tsv", "csv", "text", "squad_json", "conllu",
                                 "conll", "ccg"})


@functools.cache
def code_digest() -> str:
    """sha256 of xstilts' version and the source of the code that reads and checks examples."""
    package = Path(xstilts.__file__).parent
    digest = hashlib.sha256(xstilts.__version__.encode("utf-8"))
    for layer in ("tasks", "formats"):
        for path in sorted((package / layer).rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def covered_files(task: Task, split: str, languages: Sequence[str]) -> list[Path] | None:
    """The files a split's examples come from, one per language; None when its examples may
    depend on anything else (see the module's docstring) or a file is missing (the reader
    then says so)."""
    source = task.source
    if not isinstance(source, FileSource) or source.reader not in SINGLE_FILE_READERS:
        return None
    if source.convert is not None and not source.convert.__module__.startswith("xstilts."):
        return None
    if not source.has(split):
        return None
    files = [source.path(split, lang) for lang in languages]
    return files if all(f.is_file() for f in files) else None


def split_key(task: Task, split: str, languages: Sequence[str], files: Sequence[Path]) -> str:
    """The record's key: the files' content, the task's declaration, the split and code."""
    return content_key({"task": task.describe(), "split": split, "languages": list(languages),
                        "files": [[str(f), file_hash(f)] for f in files],
                        "code": code_digest()})


class LazyExamples(Sequence):
    """A split's examples, read on first use; its length and dropped rows are known before.

    `known(fact)` answers a recorded fact ("checked", "examples_digest"), `remember(...)`
    records facts for the next run over the same files."""

    def __init__(self, read: Callable[[], Examples], key: str, facts: dict | None):
        self._read, self.key, self.facts = read, key, dict(facts or {})
        self._examples: Examples | None = None

    @property
    def loaded(self) -> bool:
        return self._examples is not None

    def examples(self) -> Examples:
        """The examples themselves (read now if not yet)."""
        if self._examples is None:
            examples = self._read()
            facts = {"count": len(examples), "dropped": dict(examples.dropped)}
            if {k: self.facts.get(k) for k in facts} != facts:
                self.facts = facts  # new (or a record that does not match): start afresh
                self._write()
            self._examples = examples
        return self._examples

    def known(self, fact: str):
        return self.facts.get(fact)

    def remember(self, **facts) -> None:
        """Record facts of these files (e.g. checked=<what it was checked as>) for the next run."""
        if "count" not in self.facts:
            self.examples()
        if any(self.facts.get(k) != v for k, v in facts.items()):
            self.facts.update(facts)
            self._write()

    @property
    def dropped(self) -> dict[str, int]:
        return dict(self._examples.dropped if self.loaded else self.facts.get("dropped", {}))

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def __len__(self) -> int:
        return len(self._examples) if self.loaded else int(self.facts["count"])

    def __getitem__(self, index):
        return self.examples()[index]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.examples())

    def _write(self) -> None:
        try:
            write_json_atomic(record_path(self.key), self.facts)
        except OSError as exc:  # a read-only or full cache: the next run reads again
            log.debug("split record %s not written: %s", self.key, exc)


def record_path(key: str) -> Path:
    return cache_root() / "splits" / f"{key}.json"


def read_record(key: str) -> dict | None:
    """A split's recorded facts; None when absent or unreadable."""
    try:
        facts = json.loads(record_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(facts, dict) and isinstance(facts.get("count"), int) \
        and isinstance(facts.get("dropped"), dict)
    return facts if ok else None


def known_split(task: Task, split: str, languages: Sequence[str],
                read: Callable[[], Examples]) -> Examples | LazyExamples:
    """The split's examples: `LazyExamples` (read later, if at all) when its files are
    covered and recorded, read now (and recorded) when covered and new, else `read()`."""
    files = covered_files(task, split, languages)
    if files is None:
        return read()
    key = split_key(task, split, languages, files)
    lazy = LazyExamples(read, key, read_record(key))
    if not lazy.facts:
        lazy.examples()  # read now: a bad file is refused here, as without a record
    else:  # what Task.load says when it reads them
        log_dropped(task.name, split, ",".join(languages), lazy.dropped, len(lazy))
    return lazy
