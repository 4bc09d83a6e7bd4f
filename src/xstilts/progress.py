"""What a run shows while it works: one progress-bar style and the `xstilts` logger's output.

Every long step goes through `progress` (a bar over an iterable or a count) or `stage` (a
timed step without a count of its own). Bars are drawn on stderr when it is a terminal (or
when forced); either way each finished step is one log line, e.g.
`featurised demo-nli train (en): 720 examples in 1.2 s`, so a CI log stays short and
`OUT/xstilts.log` records every stage. The CLI chooses the level (-q, -v) with `configure`;
a library user gets Python's logging defaults (warnings only) and no handlers of ours.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

log = logging.getLogger("xstilts")
BARS_ENV = "XSTILTS_PROGRESS"  # "1": bars even when stderr is no terminal; "0": never
_OURS = "_xstilts_handler"  # marks the handlers `configure` added (to replace or remove them)
_settings: dict = {"bars": None, "quiet": False}
_current: list = []  # open bars, innermost last (for `tick`)


def configure(level: int = logging.INFO, bars: bool | None = None,
              log_file: Path | None = None, header: str | None = None,
              hold_log: bool = False) -> None:
    """Console output of the `xstilts` logger at `level` (stderr, above any bars); bars on,
    off or (None) when stderr is a terminal; with `log_file`, also every INFO+ line there,
    timestamped, appended (the file and its folder are made at the first line, which
    `header` precedes). With `hold_log`, the file's lines are kept in memory until
    `release_log()` (a run's checks passed and it made OUT): a refused run writes nothing.
    Warnings (Python's `warnings`) go the same way."""
    reset()
    _settings.update(bars=bars, quiet=level > logging.INFO)
    console = _ConsoleHandler()
    console.setLevel(level)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        handlers.append(_RunLogHandler(Path(log_file), header, held=hold_log))
    for handler in handlers:
        setattr(handler, _OURS, True)
        for name in ("xstilts", "py.warnings"):
            logging.getLogger(name).addHandler(handler)
    for name in ("xstilts", "py.warnings"):
        logging.getLogger(name).setLevel(min(level, logging.INFO))
    logging.captureWarnings(True)


def reset() -> None:
    """Remove what `configure` set up (handlers closed, levels and bar setting back)."""
    for name in ("xstilts", "py.warnings"):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if getattr(h, _OURS, False)]:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(logging.NOTSET)
    logging.captureWarnings(False)
    _settings.update(bars=None, quiet=False)


def settings() -> dict:
    """What `configure` was given, for worker processes to do the same (without bars)."""
    level = log.level or logging.WARNING
    console = [h for h in log.handlers if getattr(h, _OURS, False)
               and isinstance(h, _ConsoleHandler)]
    files = [h.baseFilename for h in log.handlers if isinstance(h, _RunLogHandler)]
    return {"configured": bool(console), "level": console[0].level if console else level,
            "log_file": files[0] if files else None}


def configure_like(shown: dict) -> None:
    """In a worker process: the driver's level and log file (from `settings()`), no bars
    (several processes cannot share one terminal's bars)."""
    if shown.get("configured"):
        configure(shown["level"], bars=False, log_file=shown["log_file"])


def release_log() -> None:
    """Write the run log's held lines to its file, and every later line as it comes: a run
    calls this once its checks passed and it made OUT."""
    for handler in log.handlers:
        if isinstance(handler, _RunLogHandler):
            handler.write_held()


def file_only(level: int, message: str) -> None:
    """A line for the run's log file alone (an error the CLI prints itself), once the run
    writes there (a refused run writes nothing into OUT)."""
    record = log.makeRecord(log.name, level, __file__, 0, message, None, None)
    for handler in log.handlers:
        if isinstance(handler, _RunLogHandler) and handler.held is None:
            handler.handle(record)


class _RunLogHandler(logging.FileHandler):
    """OUT/xstilts.log: INFO+, timestamped, appended; opened (folder made, header written)
    at the first line. A held handler keeps its lines in memory until `write_held` (they keep
    their own times); closed before, it drops them."""

    def __init__(self, path: Path, header: str | None, held: bool = False):
        super().__init__(path, mode="a", encoding="utf-8", delay=True)
        self.header = header
        self.held: list[logging.LogRecord] | None = [] if held else None
        self.setLevel(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))

    def write_held(self) -> None:
        """Write the held lines, and every later one as it comes."""
        self.acquire()
        try:
            held, self.held = self.held, None
            for record in held or ():
                self.emit(record)
        finally:
            self.release()  # the handler's lock

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is not None:  # the message now: its arguments may change later
            self.format(record)  # caches the traceback text (exc_text), if any
            self.held.append(logging.makeLogRecord({**record.__dict__,
                                                    "msg": record.getMessage(), "args": None,
                                                    "exc_info": None}))
            return
        if self.stream is None:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            if self.header:
                first = logging.makeLogRecord({**record.__dict__, "msg": self.header,
                                               "args": None, "levelno": logging.INFO,
                                               "levelname": "INFO", "exc_info": None})
                super().emit(first)
        super().emit(record)


def bars_enabled() -> bool:
    """Whether bars are drawn: never when quiet; else as configured, XSTILTS_PROGRESS, or
    whether stderr is a terminal."""
    if _settings["quiet"]:
        return False
    if _settings["bars"] is not None:
        return bool(_settings["bars"])
    forced = os.environ.get(BARS_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class _ConsoleHandler(logging.Handler):
    """Lines on the current sys.stderr, written above any open bar (tqdm.write)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(_ConsoleFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a closed stream must not break the run
            self.handleError(record)


class _ConsoleFormatter(logging.Formatter):
    """`[xstilts] message`; other levels than INFO say theirs (`[xstilts] warning: ...`)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if record.levelno == logging.INFO:
            return f"[xstilts] {message}"
        return f"[xstilts] {record.levelname.lower()}: {message}"


def plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 or not unit else 's'}"


class Progress:
    """A bar over an iterable or a count (drawn only when bars are on) that logs one line
    when it closes: `{done or desc}: N units in T s` (at DEBUG if it took less than
    `min_seconds`: a step that is quick here may take minutes on a benchmark's data)."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None,
                 desc: str = "", unit: str = "it", initial: int = 0,
                 level: int | None = logging.INFO, done: str | None = None,
                 min_seconds: float = 0.0):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.level, self.done, self.initial = level, done, initial
        self.min_seconds = min_seconds
        self.n, self.closed = initial, False
        self.count: int | None = None  # what the finished line reports, when not the count
        self.started = time.perf_counter()
        # A step with nothing to count (a `stage`) shows its label until it is done.
        shape = "{desc} ..." if iterable is None and total is None else None
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False,
                        dynamic_ncols=True, mininterval=0.5, file=sys.stderr,
                        bar_format=shape, disable=not bars_enabled())
        _current.append(self)

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        except BaseException:
            self.close(report=False)
            raise
        self.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close(report=kind is None)

    def update(self, n: int = 1) -> None:
        self.n += n
        self.bar.update(n)

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(values, refresh=False)

    def close(self, report: bool | None = None, count: int | None = None) -> None:
        """Close the bar; log the finished line (with `count` units instead of the count
        so far) unless report is False or (None) an exception is on its way up."""
        if self.closed:
            return
        if report is None:  # e.g. `finally: bar.close()` while an error propagates
            report = sys.exc_info()[0] is None
        self.closed = True
        self.bar.close()
        if self in _current:
            _current.remove(self)
        if report and self.level is not None:
            seconds = time.perf_counter() - self.started
            count = next(c for c in (count, self.count, self.n - self.initial) if c is not None)
            what = f": {plural(count, self.unit)}" if self.unit else ""
            level = self.level if seconds >= self.min_seconds else logging.DEBUG
            log.log(level, "%s%s in %.1f s", self.done or self.desc, what, seconds)


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", initial: int = 0, level: int | None = logging.INFO,
             done: str | None = None, min_seconds: float = 0.0) -> Progress:
    """A bar over `iterable` (or a count `total`, advanced with `.update`) in xstilts' one
    style; its finished line (`done`, else `desc`) is logged at `level` (None: no line;
    DEBUG when quicker than `min_seconds`)."""
    return Progress(iterable, total, desc, unit, initial, level, done, min_seconds)


@contextmanager
def stage(desc: str, unit: str = "example", level: int | None = logging.INFO,
          done: str | None = None, min_seconds: float = 0.0):
    """A timed step with no count of its own (loading a file, converting a model): a bar
    without a total while it runs; set `.count` on the yielded object for the line."""
    with Progress(None, None, desc, unit, 0, level, done, min_seconds) as bar:
        yield bar


def tick(items: Iterable) -> Iterator:
    """Yield `items`, advancing the innermost open bar by one each (a loop inside a step
    that its caller measures: featurising a format's examples)."""
    owner = _current[-1] if _current else None
    for item in items:
        yield item
        if owner is not None and not owner.closed:
            owner.update(1)


def advance(n: int) -> None:
    """Advance the innermost open bar by `n` (work done in chunks)."""
    if _current and not _current[-1].closed:
        _current[-1].update(n)
