"""Four real processes, started together, each write 200 unique rows into one study store
(jobs, events, results) and into one per-run results database: nothing is lost, nothing is
duplicated, and writing the same rows again (a resumed job) adds none."""

from __future__ import annotations

import multiprocessing
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

from xstilts.evaluate.store import record_target
from xstilts.study.store import Store

PROCESSES, ROWS = 4, 200


def fake_job(proc: int, i: int) -> SimpleNamespace:
    key = f"p{proc}-j{i:03d}"
    return SimpleNamespace(key=key, kind="evaluation", label=key, folder=f"evaluations/{key}")


def result_row(proc: int, i: int) -> tuple:
    job = fake_job(proc, i)
    return ("study-c", f"run{proc}", "a,b", 2, 3, 0, 0, "t", f"l{i:03d}", "f1",
            proc + i / 1000, job.key)


def writer(root: str, db: str, proc: int, barrier, passes: int) -> None:
    """One process: every row in its own transaction (the most lock contention)."""
    barrier.wait()  # all four open the (maybe not yet created) databases at once
    for _ in range(passes):
        store = Store(root)
        for i in range(ROWS):
            job = fake_job(proc, i)
            store.started(job, "study-c")
            store.finished(job, {"metrics": {"f1": i}}, 0.1, "study-c")
            store.write_results([result_row(proc, i)])
            record_target(Path(db), f"/runs/{proc}", "hash-1", "tiny-random", ["a"],
                          f"t{i:03d}", {"de": {"f1": float(i)}}, {"f1": float(i)}, seed=proc)


def run_writers(root: Path, db: Path, passes: int = 1) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    procs = [context.Process(target=writer, args=(str(root), str(db), p, barrier, passes))
             for p in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    codes = [proc.exitcode for proc in procs]
    assert codes == [0] * PROCESSES, f"a writer failed (exit codes {codes})"


def table(db: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def expected() -> dict[str, set]:
    pairs = [(p, i) for p in range(PROCESSES) for i in range(ROWS)]
    return {"jobs": {fake_job(p, i).key for p, i in pairs},
            "results": {(f"run{p}", f"l{i:03d}") for p, i in pairs},
            "run_rows": {(f"/runs/{p}", f"t{i:03d}", lang) for p, i in pairs
                         for lang in ("de", "avg")}}


def check(root: Path, db: Path, events_per_job: int) -> None:
    want = expected()
    jobs = table(root / "store.sqlite", "SELECT key, status FROM jobs")
    assert len(jobs) == PROCESSES * ROWS
    assert {k for k, _ in jobs} == want["jobs"]
    assert {s for _, s in jobs} == {"done"}
    events = table(root / "store.sqlite", "SELECT key, event FROM events")
    # The event log is a log: each pass logs its start and its finish, none lost.
    assert len(events) == PROCESSES * ROWS * events_per_job
    assert {k for k, _ in events} == want["jobs"]
    results = table(root / "store.sqlite", "SELECT run_id, language FROM results")
    assert len(results) == PROCESSES * ROWS
    assert set(results) == want["results"]
    records = sorted(p.stem for p in (root / "jobs").glob("*.json"))
    assert records == sorted(want["jobs"])
    assert not [p for p in (root / "jobs").iterdir() if p.name.startswith(".")]  # no temp
    rows = table(db, "SELECT run_dir, target, language FROM results")
    assert len(rows) == PROCESSES * ROWS * 2
    assert set(rows) == want["run_rows"]
    assert table(root / "store.sqlite", "PRAGMA journal_mode") == [("wal",)]
    assert table(db, "PRAGMA journal_mode") == [("wal",)]


def test_four_processes_lose_and_duplicate_nothing(tmp_path):
    root, db = tmp_path / "store", tmp_path / "run" / "results.sqlite"
    run_writers(root, db)
    check(root, db, events_per_job=2)
    # Resumed: the same rows written again by the same four processes.
    run_writers(root, db)
    check(root, db, events_per_job=4)
