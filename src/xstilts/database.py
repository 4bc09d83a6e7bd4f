"""SQLite connections for the stores that several processes write at once.

Every connection is in WAL mode (readers never block the writer, nor it them), waits up to
BUSY_TIMEOUT_S for a lock instead of failing, and is closed on exit (`with
sqlite3.connect(...)` only commits; it leaves the connection, and its file handle, open).
A write transaction takes the write lock up front (BEGIN IMMEDIATE): one that started as a
reader and upgraded later could fail half-way with SQLITE_BUSY, which no timeout retries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 120.0


@contextmanager
def connect(path: str | Path, timeout: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
    """A WAL-mode connection with a busy timeout, closed on exit (autocommit: for reads)."""
    with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # persistent: a no-op after the first time
        yield conn


@contextmanager
def transaction(path: str | Path, timeout: float = BUSY_TIMEOUT_S
                ) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with connect(path, timeout) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
