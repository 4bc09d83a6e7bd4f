"""Running one job under its lock: what every backend's worker calls (this process, a local
worker process, a Ray task).

The worker takes the job's run lock (study/locks.py; it waits while another process runs the
same job), then looks at the store again: if another process finished the job meanwhile, it
reuses that record and runs nothing. Otherwise it holds shared use locks on the checkpoints
the job starts from, runs it, and writes the job's record before letting the lock go, so a
process that waited for the lock finds the job done.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from xstilts.errors import XstiltsError
from xstilts.study import locks
from xstilts.study.jobs import run_job_safely
from xstilts.study.store import read_output, write_record

RECORDED, REUSED = "recorded", "reused"


class Outcome(NamedTuple):
    """What a worker returns: ok, the output (or the error), seconds, and `how`: RECORDED
    (it ran and wrote its record), REUSED (another process had finished it), or "" (the
    driver writes the record: a backend that runs jobs without locks)."""

    ok: bool
    payload: dict | str
    seconds: float
    how: str = ""


def has_weights(root: str, key: str) -> bool:
    """Job `key` is done and its weights (if any) were not dropped by `keep:`."""
    output = read_output(root, key)
    return output is not None and not output.get("weights_dropped")


def run_claimed(job, setup, root: str, folders: dict[str, str], device: str | None = None,
                threads: int | None = None) -> Outcome:
    """Run `job` unless another process has (run_job_safely under the job's lock); never
    raises for a job's failure."""
    started = time.perf_counter()
    try:
        with locks.running(root, job.key, job.label):
            if has_weights(root, job.key):  # finished by another process while we waited
                return Outcome(True, read_output(root, job.key),
                               time.perf_counter() - started, REUSED)
            with locks.using(root, job.deps):
                gone = [folders[d] for d in job.deps if not has_weights(root, d)]
                if gone:  # only a process that holds no pins (see locks.Pins) can get here
                    return Outcome(False, "the checkpoint this job starts from "
                                   f"({', '.join(gone)}) was dropped by another process's "
                                   "`keep:` before the job could load it.\n  fix: run the same "
                                   "command again: it trains that checkpoint first.",
                                   time.perf_counter() - started)
                ok, payload, seconds = run_job_safely(job, setup, root, folders, device,
                                                      threads)
            if ok:
                write_record(root, job, payload, seconds)
            return Outcome(ok, payload, seconds, RECORDED if ok else "")
    except (XstiltsError, OSError) as exc:  # no lock (a filesystem without flock), no record
        return Outcome(False, str(exc) if isinstance(exc, XstiltsError)
                       else f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
