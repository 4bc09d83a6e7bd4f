"""Readers of record files: JSON lines, TSV, CSV and plain text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from xstilts.errors import located
from xstilts.tasks.reader_io import (
    BAD_ROWS,
    Example,
    file_text,
    map_fields,
    note_dropped,
    numbered_lines,
    with_id,
)


def read_jsonl(path: Path, fields: dict, options: dict) -> list[Example]:
    """One JSON object per line; blank lines skipped; id defaults to "<stem>-<line>"."""
    examples = []
    for no, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise located(path, no, f"not valid JSON: {e.msg} (column {e.colno})",
                          fix="each non-blank line must be one JSON object") from None
        if not isinstance(record, dict):
            raise located(path, no, f"expected a JSON object, found {type(record).__name__}",
                          fix="each non-blank line must be one JSON object ({...})")
        examples.append(with_id(map_fields(record, fields), f"{path.stem}-{no}"))
    return examples


def read_tsv(path: Path, fields: dict, options: dict) -> list[Example]:
    """Tab-separated rows, values kept as strings.

    options: "header" (default True: the first non-blank line names the columns);
    "columns": column names (required when header is False; overrides a header row);
    "skip_bad_rows": True skips rows with the wrong number of columns (machine-translated
    training sets such as PAWS-X's have a few) instead of failing.
    """
    header = options.get("header", True)
    columns = options.get("columns")
    lines = [(no, line) for no, line in numbered_lines(path) if line.strip()]
    if header:
        no, first = lines.pop(0)
        columns = columns or first.split("\t")
    if not columns:
        raise located(path, None, "no column names for a headerless TSV file",
                      fix='give options {"header": false, "columns": [...]} in the task')
    if len(set(columns)) != len(columns):
        raise located(path, 1 if header else None, f"duplicate column names: {columns}",
                      fix="give every column its own name (header row or options.columns)")
    examples, skipped = [], 0
    for no, line in lines:
        values = line.split("\t")
        if len(values) != len(columns) and options.get("skip_bad_rows"):
            skipped += 1
            continue
        examples.append(_row(path, no, columns, values, fields, "tab-separated",
                             "check for missing or extra tabs on this line"))
    note_dropped(skipped, BAD_ROWS)
    return examples


def read_csv(path: Path, fields: dict, options: dict) -> list[Example]:
    """Comma-separated values with a header row and standard quoting (Cosmos QA's files)."""
    rows = csv.reader(io.StringIO(file_text(path), newline=""))
    header = next(rows)
    examples = []
    for record in rows:
        if not any(v.strip() for v in record):
            continue
        examples.append(_row(path, rows.line_num, header, record, fields, "comma-separated",
                             "check the quoting of this row"))
    return examples


def _row(path: Path, no: int, columns: list[str], values: list[str], fields: dict,
         kind: str, fix: str) -> Example:
    """One example from a table row; a located error when the column count is off."""
    if len(values) != len(columns):
        raise located(path, no, f"expected {len(columns)} {kind} columns {columns}, "
                      f"found {len(values)}", fix=fix)
    return with_id(map_fields(dict(zip(columns, values, strict=True)), fields),
                   f"{path.stem}-{no}")


def read_text(path: Path, fields: dict, options: dict) -> list[Example]:
    """Plain text: one {"id": "<stem>-<line>", "text"} per non-blank line."""
    return [map_fields({"id": f"{path.stem}-{no}", "text": line}, fields)
            for no, line in numbered_lines(path) if line.strip()]
