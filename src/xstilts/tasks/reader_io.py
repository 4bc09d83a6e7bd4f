"""What every reader shares: reading a file with located errors, renaming fields, ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from xstilts.errors import located

Example = dict


class Examples(list):
    """A split's examples, with the rows left out while reading it: {reason: count}."""

    def __init__(self, items=(), dropped: dict[str, int] | None = None):
        super().__init__(items)
        self.dropped: dict[str, int] = dict(dropped or {})

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())


_DROPS: ContextVar[Counter | None] = ContextVar("xstilts_dropped_rows", default=None)


BAD_ROWS = "bad rows skipped"  # a reason that is a warning (others may be by design)
CONVERTER_DROPS = "left out by the task's converter"


def note_dropped(count: int, reason: str) -> None:
    """Count rows a reader or converter left out (reported per split by `Task.load`)."""
    sink = _DROPS.get()
    if count and sink is not None:
        sink[reason] += count


@contextmanager
def counting_drops() -> Iterator[Counter]:
    """Collect what `note_dropped` is told while reading one split: {reason: count}."""
    sink: Counter = Counter()
    token = _DROPS.set(sink)
    try:
        yield sink
    finally:
        _DROPS.reset(token)
PATH_FIX = "check the task's base_dir and paths (templates with {split}/{lang}) in the config"


def file_text(path: Path) -> str:
    """The whole file as text (UTF-8, BOM tolerated); located errors for the usual problems."""
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "file not found"
        if not path.is_absolute():
            what += f" (looked for {path.resolve()})"
        raise located(path, None, what, fix=PATH_FIX)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise located(path, line, f"not valid UTF-8 (byte 0x{data[e.start]:02x}): {e.reason}",
                      fix="re-encode the file as UTF-8") from None
    if not text.strip():
        raise located(path, None, "the file is empty", fix=PATH_FIX)
    return text


def numbered_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, line without its newline) for every line of the file.

    Splits on "\\n" only (not on other Unicode line breaks, which may occur inside a
    sentence) and drops a trailing "\\r", so CRLF files read like LF files.
    """
    text = file_text(path)
    parts = text.split("\n")
    if text.endswith("\n"):
        parts.pop()
    return [(i, line[:-1] if line.endswith("\r") else line) for i, line in enumerate(parts, 1)]


def map_fields(record: dict, fields: dict[str, str]) -> Example:
    """Rename keys: our key <- the file's key; keys not mentioned are kept as-is."""
    if not fields:
        return dict(record)
    out = {ours: record[theirs] for ours, theirs in fields.items() if theirs in record}
    renamed = set(fields.values())
    for key, value in record.items():
        if key not in renamed:
            out.setdefault(key, value)
    return out


def with_id(example: Example, default: str) -> Example:
    """The example, with `default` as its id unless it has one."""
    if "id" not in example:
        example["id"] = default
    return example
