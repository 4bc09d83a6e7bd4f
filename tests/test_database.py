"""Several processes opening one new database at once: every one gets a WAL connection.

Switching a new database to WAL needs an exclusive lock, and SQLite refuses at once (no busy
timeout) when two openers ask together; `connect` retries. Without the retry about one
opener in thirty failed here with "database is locked"."""

from __future__ import annotations

import multiprocessing

from xstilts.database import connect, transaction

OPENERS, ROUNDS, WRITES = 6, 20, 20


def opener(path: str, barrier, results) -> None:
    barrier.wait()  # all at once, on a database that does not exist yet
    try:
        for _ in range(WRITES):
            with transaction(path) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
                conn.execute("INSERT INTO t VALUES (1)")
        with connect(path) as conn:
            results.put(conn.execute("PRAGMA journal_mode").fetchone()[0])
    except Exception as exc:  # reported to the test, not lost in a child's stderr
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_database_together_all_get_wal(tmp_path):
    context = multiprocessing.get_context("spawn")
    outcomes = []
    for round_no in range(ROUNDS):
        path = str(tmp_path / f"store-{round_no}.sqlite")
        barrier, results = context.Barrier(OPENERS), context.Queue()
        procs = [context.Process(target=opener, args=(path, barrier, results))
                 for _ in range(OPENERS)]
        for proc in procs:
            proc.start()
        outcomes += [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=120)
        with connect(path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == OPENERS * WRITES
    assert outcomes == ["wal"] * OPENERS * ROUNDS
