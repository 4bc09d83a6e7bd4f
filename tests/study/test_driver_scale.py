"""The driver at scale: benchmarks/study_overhead.py --noop-jobs runs the real executor over
no-op jobs in a study's shape and reports the driver's time per job and its memory; a rerun
says what it reused in one line. The store's job log keeps one connection for a whole
execution (a connection per write cost ~45 ms a job), and other processes still see every
status at once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from xstilts.study.execute import execute
from xstilts.study.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_noop_benchmark_reports_the_driver_and_one_reuse_line():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "study_overhead.py"),
                           "--noop-jobs", "400"], capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin",
                               "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # ceil(400 / 169) = 3 intermediate checkpoints, 7 targets each, 23 languages each.
    assert "Study driver: 507 no-op jobs (3 intermediate, 21 target, 483 evaluation)" in out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and "part" not in line}
    assert set(rows) == {"plan (no-op jobs, in memory)", "execute (wall)",
                         "workers: job records written", "driver (wall - workers)",
                         "rerun: 507 reused, 0 ran"}
    driver_ms = float(rows["driver (wall - workers)"][2])
    assert 0 < driver_ms < 15  # ~0.7 ms here; a connection per write was ~45 ms
    assert re.search(r"peak RSS [\d,]+ MiB \([+-][\d,]+ MiB\)", rows["execute (wall)"][3])
    assert re.search(r"driver [\d.]+ ms per job: target <= 2 ms (met|NOT met)", out)
    assert re.search(r"rerun said 1 line\(s\): reusing 507 job\(s\) already in \S+ \(3 "
                     r"intermediate, 21 target, 483 evaluation\); nothing to run", out)


class Backend:
    """Jobs succeed at once; after each, another connection reads the job's status."""

    capacity = 1

    def __init__(self, store: Store):
        self.store, self.seen = store, []

    def submit(self, job, setup, root, folders, threads):
        self.seen.append(Store(self.store.root).statuses()[job.key])  # a fresh connection
        return job.key

    def wait(self, handles):
        return handles[0], (True, {"metrics": {}}, 0.0)

    def close(self):
        pass


def test_the_job_log_is_seen_by_other_connections_while_it_runs(tmp_path):
    store = Store(tmp_path / "store")
    jobs = {f"j{i}": SimpleNamespace(key=f"j{i}", kind="target", label=f"j{i}",
                                     deps=(f"j{i - 1}",) if i else (), folder=f"out/j{i}")
            for i in range(5)}
    plan = SimpleNamespace(jobs=jobs, setup=SimpleNamespace(label="s"))
    backend = Backend(store)
    said = []
    execute(plan, store, backend, log=said.append)
    assert backend.seen == ["running"] * 5
    assert set(Store(store.root).statuses().values()) == {"done"}
    assert store._log is None  # closed with the execution
    again = []
    execute(plan, store, Backend(store), log=again.append)
    assert again == [f"reusing 5 job(s) already in {store.root} (5 target); nothing to run"]
    assert said[0] == f"5 job(s) to run, 0 already in {store.root}"
