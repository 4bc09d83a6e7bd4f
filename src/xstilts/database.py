"""SQLite connections for the stores that several processes write at once.

Every connection is in WAL mode (readers never block the writer, nor it them), waits up to
BUSY_TIMEOUT_S for a lock instead of failing, and is closed on exit (`with
sqlite3.connect(...)` only commits; it leaves the connection, and its file handle, open).
A write transaction takes the write lock up front (BEGIN IMMEDIATE): one that started as a
reader and upgraded later could fail half-way with SQLITE_BUSY, which no timeout retries.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 120.0


@contextmanager
def connect(path: str | Path, timeout: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
    """A WAL-mode connection with a busy timeout, closed on exit (autocommit: for reads)."""
    with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as conn:
        _use_wal(conn, timeout)
        yield conn


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the database to WAL (persistent: later connections find it so). Switching
    needs an exclusive lock, and SQLite answers "database is locked" at once, without its
    busy timeout, when two processes opening a new database ask together (neither can
    upgrade while the other reads): so retry until `timeout`."""
    deadline, pause = time.monotonic() + timeout, 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause * (1 + random.random()))  # jittered: the openers spread out
            pause = min(pause * 2, 0.5)


@contextmanager
def transaction(path: str | Path, timeout: float = BUSY_TIMEOUT_S
                ) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with connect(path, timeout) as conn, begin(conn):
        yield conn


@contextmanager
def begin(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on an open connection (one of `connect`'s)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
