"""The content-addressed artifact store shared by runs and studies.

    STORE/checkpoints/intermediate-<key>/   best/, last/ (resume state), log.jsonl, summary.json
    STORE/checkpoints/target-<task>-<key>/
    STORE/evaluations/<task>-<lang>-<key>/   predictions/, labels/
    STORE/jobs/<key>.json                    a finished job's record (written last, atomically)
    STORE/store.sqlite                       jobs, their event log, results rows (WAL)
    STORE/locks/<key>.lock, <key>.use.lock   who runs a job, who may load its weights
                                             (study/locks.py)

A job is done when its record exists; everything it wrote before is complete (atomic writes),
so an interrupted job is simply not done and runs again (training resumes from `last/`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xstilts.artifacts import write_json_atomic
from xstilts.database import begin, connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, seconds REAL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, kind TEXT NOT NULL,
    event TEXT NOT NULL, study TEXT NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    study TEXT NOT NULL, run_id TEXT NOT NULL, intermediate TEXT NOT NULL, k INTEGER NOT NULL,
    n_languages INTEGER NOT NULL, intermediate_seed INTEGER NOT NULL,
    target_seed INTEGER NOT NULL, target TEXT NOT NULL, language TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL NOT NULL, job TEXT NOT NULL,
    PRIMARY KEY (study, run_id, target, language, metric));
"""
RESULT_COLUMNS = ("study", "run_id", "intermediate", "k", "n_languages", "intermediate_seed",
                  "target_seed", "target", "language", "metric", "value", "job")


def record_path(root: str | Path, key: str) -> Path:
    """Where the record of job `key` is (it exists once the job is done)."""
    return Path(root) / "jobs" / f"{key}.json"


def read_output(root: str | Path, key: str) -> dict | None:
    """A finished job's output, or None if it is not done (no database: workers call it)."""
    path = record_path(root, key)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["output"]


def write_record(root: str | Path, job, output: dict, seconds: float) -> None:
    """Write a finished job's record: the job is done from here on (its worker writes it,
    holding the job's lock, see study/claim.py; the driver then logs it)."""
    write_json_atomic(record_path(root, job.key), {
        "key": job.key, "kind": job.kind, "label": job.label, "seconds": seconds,
        "finished": time.time(), "output": output})


class Store:
    """Job outputs by content key, and one SQLite file (safe to write from several
    processes: WAL, a busy timeout, one transaction per write)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = self.root / "store.sqlite"
        self._log = None  # the job log's connection while `job_log()` is open
        with connect(self.db) as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def job_log(self) -> Iterator[None]:
        """Keep one connection open for the job log while a driver runs its jobs.

        Each start, finish and failure is still its own transaction, written at once (other
        processes and `xstilts study status` see it), but on a connection that stays open
        and does not sync the disk at each commit (synchronous=NORMAL; WAL mode syncs at its
        checkpoints): a connection per write, closed each time, synced every commit and
        checkpointed the WAL at each close, which dominated a large study's driver
        (benchmarks/README.md, study_overhead.py --noop-jobs). The job's record file
        is what says it is done (written and renamed into place by its worker), so a
        commit that a power cut loses costs a stale status, never a result; a process
        killed (even SIGKILL) loses nothing: the WAL is in the operating system's hands."""
        if self._log is not None:  # already open (nested): the outer one closes it
            yield
            return
        with connect(self.db) as conn:
            conn.execute("PRAGMA synchronous=NORMAL")
            self._log = conn
            try:
                yield
            finally:
                self._log = None

    def path(self, job) -> Path:
        """Where a job writes its artifacts."""
        return self.root / job.folder

    def record_path(self, key: str) -> Path:
        return record_path(self.root, key)

    def output(self, key: str) -> dict | None:
        """A finished job's output, or None if it is not done."""
        return read_output(self.root, key)

    def _status(self, job, status: str, study: str, error: str | None = None,
                seconds: float | None = None, event: str | None = None) -> None:
        now = time.time()
        with (begin(self._log) if self._log is not None else transaction(self.db)) as conn:
            conn.execute("INSERT OR REPLACE INTO jobs VALUES (?,?,?,?,?,?,?)",
                         (job.key, job.kind, job.label, status, error, seconds, now))
            conn.execute("INSERT INTO events (key, kind, event, study, time) VALUES (?,?,?,?,?)",
                         (job.key, job.kind, event or status, study, now))

    def started(self, job, study: str) -> None:
        """Log a job's start (status 'running' until it finishes or fails)."""
        self._status(job, "running", study)

    def finished(self, job, output: dict, seconds: float, study: str,
                 recorded: bool = False) -> None:
        """Write the job's record (the job is done from here on; `recorded`: its worker
        wrote it already) and log it."""
        if not recorded:
            write_record(self.root, job, output, seconds)
        self._status(job, "done", study, seconds=seconds)

    def reused(self, job, study: str) -> None:
        """Log a job found done by another process while this one waited for its lock
        (status 'done', event 'reused': its one 'done' event is the process's that ran it)."""
        self._status(job, "done", study, event="reused")

    def reconcile(self, job, study: str) -> None:
        """Log 'done' for a finished job whose record was written but whose log line was not
        (its process was killed in between): the job is done and is not run again."""
        record = json.loads(self.record_path(job.key).read_text(encoding="utf-8"))
        self._status(job, "done", study, seconds=record.get("seconds"))

    def drop_weights(self, job) -> None:
        """Note in a finished job's record that its weights were deleted (`keep:`)."""
        path = self.record_path(job.key)
        record = json.loads(path.read_text(encoding="utf-8"))
        record["output"]["weights_dropped"] = True
        write_json_atomic(path, record)
        self._status(job, "done", "keep", seconds=record.get("seconds"))

    def failed(self, job, error: str, study: str, status: str = "failed") -> None:
        """Log a failure (or 'blocked': a job it needs failed) with its message."""
        self._status(job, status, study, error=error)

    def statuses(self) -> dict[str, str]:
        """The last status of every job the store has seen, by key."""
        with connect(self.db) as conn:
            return dict(conn.execute("SELECT key, status FROM jobs").fetchall())

    def events(self, event: str | None = None) -> list[dict]:
        """The job log, oldest first (optionally one kind of event: running, done, failed)."""
        sql = "SELECT key, kind, event, study, time FROM events"
        with connect(self.db) as conn:
            rows = conn.execute(sql + (" WHERE event = ?" if event else "") + " ORDER BY id",
                                (event,) if event else ()).fetchall()
        return [dict(zip(("key", "kind", "event", "study", "time"), r, strict=True))
                for r in rows]

    def write_results(self, rows: list[tuple], study: str | None = None) -> None:
        """Insert (or replace) results rows in one transaction: a re-run never duplicates.

        With `study`, `rows` are that study's complete results: its other rows (arms or
        targets its spec no longer has, evaluations that now fail) are deleted in the same
        transaction, so the table always shows what the latest plan produced."""
        with transaction(self.db) as conn:
            if study is not None:
                conn.execute("DELETE FROM results WHERE study = ?", (study,))
            conn.executemany(f"INSERT OR REPLACE INTO results VALUES "
                             f"({','.join('?' * len(RESULT_COLUMNS))})", rows)

    def results(self, study: str | None = None) -> list[dict]:
        """Results rows (of one study, or all)."""
        sql = "SELECT * FROM results" + (" WHERE study = ?" if study else "")
        with connect(self.db) as conn:
            rows = conn.execute(sql + " ORDER BY study, run_id, target, language, metric",
                                (study,) if study else ()).fetchall()
        return [dict(zip(RESULT_COLUMNS, r, strict=True)) for r in rows]
