"""Readers: turn one benchmark file into a list of example dicts.

`read_examples(reader, path, fields, options)` dispatches to one function per file format in
`READERS` (adding a reader is one function in the module of its kind, `readers_records`,
`readers_tokens` or `readers_benchmarks`, plus one entry). Every reader takes
`(path, fields, options)`; `fields` maps our key -> key in the record the file gives
(e.g. {"text_a": "premise"}); keys not mentioned are kept as they are. Readers do not check
that a format's required keys are present; the formats do. Problems with the file itself
(missing, not UTF-8, empty, malformed) raise `XstiltsError` naming the file and, where there
is one, the line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xstilts.errors import located
from xstilts.tasks.reader_io import Example
from xstilts.tasks.readers_benchmarks import read_bucc, read_squad_json, read_tatoeba
from xstilts.tasks.readers_records import read_csv, read_jsonl, read_text, read_tsv
from xstilts.tasks.readers_tokens import CCG_HOWTO, read_ccg, read_conll, read_conllu

__all__ = ["CCG_HOWTO", "READERS", "read_examples"]

Reader = Callable[[Path, dict, dict], list[Example]]

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "tsv": read_tsv,
    "squad_json": read_squad_json,
    "conllu": read_conllu,
    "conll": read_conll,
    "tatoeba": read_tatoeba,
    "bucc": read_bucc,
    "text": read_text,
    "csv": read_csv,
    "ccg": read_ccg,
}


def read_examples(reader: str, path: Path, fields: dict[str, str] | None = None,
                  options: dict | None = None) -> list[Example]:
    """Read all examples of one file with the named reader (see `READERS`)."""
    path = Path(path)
    if reader not in READERS:
        raise located(path, None, f"unknown reader {reader!r}",
                      fix=f"use one of: {', '.join(sorted(READERS))}")
    examples = READERS[reader](path, dict(fields or {}), dict(options or {}))
    if not examples:
        raise located(path, None, f"no examples found (reader {reader!r})",
                      fix="check that the file is the right one and in the reader's format")
    return examples
