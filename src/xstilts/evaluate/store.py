"""The SQLite results store: one row per run × target × language × metric."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    run_dir TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    encoder TEXT NOT NULL,
    intermediate TEXT NOT NULL,      -- comma-separated task names; '' for the baseline
    target TEXT NOT NULL,
    language TEXT NOT NULL,          -- a language code, or 'avg'
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    seed INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (run_dir, config_hash, target, language, metric)
)
"""


def record_target(db: Path, run_dir: str, config_hash: str, encoder: str,
                  intermediate: list[str], target: str, per_language: dict[str, dict],
                  average: dict[str, float], seed: int) -> None:
    """Insert (or replace) one target's rows in a single transaction."""
    db.parent.mkdir(parents=True, exist_ok=True)
    rows = [(lang, metric, float(value))
            for lang, metrics in per_language.items() for metric, value in metrics.items()]
    rows += [("avg", metric, float(value)) for metric, value in average.items()]
    now = time.time()
    with sqlite3.connect(db, timeout=60) as conn:
        conn.execute(SCHEMA)
        conn.executemany(
            "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(run_dir, config_hash, encoder, ",".join(intermediate), target, lang, metric,
              value, seed, now) for lang, metric, value in rows])


def query(db: Path, sql: str = "SELECT * FROM results", params: tuple = ()) -> list[tuple]:
    """Rows of a query against the store (for reports and tests)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()
