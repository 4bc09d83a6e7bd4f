"""The SQLite results store of `xstilts run`: one row per run × target × language × metric.

`results` holds what each run folder shows now: the rows of the latest configuration written
into it. A run that writes its rows under a new config hash moves that folder's rows of other
config hashes into `results_history` (with the time they were replaced) in the same
transaction, so a changed config never leaves old numbers beside new ones, and nothing
measured is silently lost. Writing the same config's rows again (a resumed run) replaces
them: no duplicates.
"""

from __future__ import annotations

import time
from pathlib import Path

from xstilts.database import connect, transaction

COLUMNS = """
    run_dir TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    encoder TEXT NOT NULL,
    intermediate TEXT NOT NULL,      -- comma-separated task names; '' for the baseline
    target TEXT NOT NULL,
    language TEXT NOT NULL,          -- a language code, or 'avg'
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    seed INTEGER NOT NULL,
    created REAL NOT NULL"""
SCHEMA = (f"CREATE TABLE IF NOT EXISTS results ({COLUMNS},\n"
          "    PRIMARY KEY (run_dir, config_hash, target, language, metric))",
          f"CREATE TABLE IF NOT EXISTS results_history ({COLUMNS},\n    replaced REAL NOT NULL)")
NAMES = ("run_dir, config_hash, encoder, intermediate, target, language, metric, value, seed, "
         "created")


def record_run(db: Path, run_dir: str, config_hash: str, encoder: str,
               intermediate: list[str], seed: int,
               targets: dict[str, tuple[dict[str, dict], dict[str, float]]]) -> None:
    """Write a run's rows (target -> (per-language metrics, average)) in one transaction;
    the folder's rows of other config hashes move to `results_history`."""
    db.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    rows = []
    for target, (per_language, average) in targets.items():
        for lang, metrics in [*per_language.items(), ("avg", average)]:
            rows += [(run_dir, config_hash, encoder, ",".join(intermediate), target, lang,
                      metric, float(value), seed, now) for metric, value in metrics.items()]
    with transaction(db) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
        stale = "FROM results WHERE run_dir = ? AND config_hash != ?"
        conn.execute(f"INSERT INTO results_history SELECT {NAMES}, ? {stale}",
                     (now, run_dir, config_hash))
        conn.execute(f"DELETE {stale}", (run_dir, config_hash))
        conn.executemany(f"INSERT OR REPLACE INTO results ({NAMES}) VALUES "
                         f"({','.join('?' * 10)})", rows)


def record_target(db: Path, run_dir: str, config_hash: str, encoder: str,
                  intermediate: list[str], target: str, per_language: dict[str, dict],
                  average: dict[str, float], seed: int) -> None:
    """Insert (or replace) one target's rows in a single transaction (see `record_run`)."""
    record_run(db, run_dir, config_hash, encoder, intermediate, seed,
               {target: (per_language, average)})


def query(db: Path, sql: str = "SELECT * FROM results", params: tuple = ()) -> list[tuple]:
    """Rows of a query against the store (for reports and tests)."""
    with connect(db) as conn:
        return conn.execute(sql, params).fetchall()
