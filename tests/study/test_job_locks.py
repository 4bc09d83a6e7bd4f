"""Per-job locks (study/locks.py, study/claim.py): a job another process is running is waited
for and then reused, never run twice; a lock dies with its holder; `keep:` leaves weights
alone while another process may load them. The holders here are other processes (or a
thread with its own descriptor, which flock treats like another process), locking the files
with plain `fcntl`, so the lock files' names and modes are checked too."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.study.test_keep_kill import finished_target

from xstilts.study import claim, locks
from xstilts.study import study as study_module
from xstilts.study.backends.local import InlineBackend
from xstilts.study.execute import execute
from xstilts.study.store import Store, write_record

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH if sys.argv[2] == "shared" else fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


def job(key, kind="target", deps=()):
    folder = f"checkpoints/{kind}-{key}" if kind != "evaluation" else f"evaluations/e-{key}"
    return SimpleNamespace(key=key, kind=kind, label=f"job {key}", deps=tuple(deps),
                           folder=folder)


def hold(path, mode="exclusive") -> subprocess.Popen:
    """Another process holding `path`'s flock until it is killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def runs(monkeypatch):
    """Replace the job body: count the calls, succeed with the job's key as its output."""
    calls = []

    def run_job_safely(job, setup, root, folders, device=None, threads=None):
        calls.append(job.key)
        return True, {"metrics": {"f1": 1.0}, "by": os.getpid(), "key": job.key}, 0.01

    monkeypatch.setattr(claim, "run_job_safely", run_job_safely)
    return calls


def test_a_job_running_elsewhere_is_waited_for_then_reused(tmp_path, runs, caplog):
    store, target = Store(tmp_path / "store"), job("t1")
    other = {"metrics": {"f1": 0.5}, "by": "the other process"}
    holding, release = threading.Event(), threading.Event()

    def other_process():  # its own descriptor: flock sees another holder
        fd = locks.acquire(locks.lock_path(store.root, "t1"))
        holding.set()
        release.wait(10)
        write_record(store.root, target, other, 2.0)  # finishes, then lets go
        locks.release(fd)

    thread = threading.Thread(target=other_process)
    thread.start()
    holding.wait(10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    with caplog.at_level(logging.INFO, logger="xstilts"):
        started = time.perf_counter()
        outcome = claim.run_claimed(target, None, str(store.root), {})
    thread.join()
    assert time.perf_counter() - started >= 0.4  # it waited for the holder
    assert outcome.ok and outcome.how == claim.REUSED and outcome.payload == other
    assert runs == []  # not run again
    waiting = [r.getMessage() for r in caplog.records if "waiting for job" in r.getMessage()]
    assert waiting == ["waiting for job job t1 (t1), running in another process"]


def test_the_driver_counts_a_job_finished_elsewhere_as_reused(tmp_path, runs):
    store = Store(tmp_path / "store")
    first, second = job("t1"), job("e1", "evaluation", ["t1"])
    plan = SimpleNamespace(jobs={"t1": first, "e1": second}, setup=SimpleNamespace(label="s"))

    class FinishedElsewhere(InlineBackend):  # the other process ends t1 just before us
        def submit(self, job, setup, root, folders, threads):
            if job.key == "t1":
                write_record(root, job, {"checkpoint": "theirs"}, 3.0)
            return super().submit(job, setup, root, folders, threads)

    execution = execute(plan, store, FinishedElsewhere(), log=lambda _: None)
    assert execution.reused == ["t1"] and execution.ran == ["e1"] and runs == ["e1"]
    assert store.output("t1") == {"checkpoint": "theirs"}
    assert [e["event"] for e in store.events() if e["key"] == "t1"] == ["running", "reused"]
    assert store.statuses() == {"t1": "done", "e1": "done"}
    # The worker wrote e1's record under its lock; the driver logged it done once.
    assert store.output("e1")["key"] == "e1" and len(store.events("done")) == 1


def test_a_lock_held_by_a_killed_process_is_released(tmp_path, runs):
    store = Store(tmp_path / "store")
    plan = SimpleNamespace(jobs={"t1": job("t1")}, setup=SimpleNamespace(label="s"))
    holder = hold(locks.lock_path(store.root, "t1"))
    try:
        assert locks.acquire(locks.lock_path(store.root, "t1"), blocking=False) is None
        done = []
        driver = threading.Thread(target=lambda: done.append(
            execute(plan, store, InlineBackend(), log=lambda _: None)), daemon=True)
        driver.start()
        driver.join(1.0)
        assert driver.is_alive() and runs == []  # waiting for the holder
        os.kill(holder.pid, signal.SIGKILL)
        driver.join(30)  # a lock that outlived its holder would hang here
        assert not driver.is_alive(), "the killed holder's lock was never released"
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    assert done[0].ran == ["t1"] and runs == ["t1"] and store.output("t1")["key"] == "t1"


def test_keep_skips_weights_another_process_may_load(tmp_path, caplog):
    store, target, plan, study = finished_target(tmp_path)
    weights = store.path(target) / "best" / "model.safetensors"
    holder = hold(locks.lock_path(store.root, "t1", use=True), "shared")
    try:
        with caplog.at_level(logging.INFO, logger="xstilts"):
            study_module.drop_unneeded_weights(plan, store, study)
    finally:
        holder.kill()
        holder.wait()
    assert weights.exists() and not store.output("t1").get("weights_dropped")
    assert any("keeping the weights of t1 (t1)" in r.getMessage() for r in caplog.records)
    # The holder is gone: a later study drops them.
    study_module.drop_unneeded_weights(plan, store, study)
    assert not weights.exists() and store.output("t1")["weights_dropped"]


def test_a_driver_pins_the_checkpoints_its_jobs_will_load(tmp_path, runs):
    """From plan to the end of the last job that loads them, not just while a job runs:
    another study's `keep:` in between must find them pinned."""
    store, target, plan, study = finished_target(tmp_path)
    later = job("e2", "evaluation", ["t1"])  # a new evaluation of the same checkpoint
    plan_b = SimpleNamespace(jobs={"t1": target, "e2": later}, setup=SimpleNamespace(label="b"))
    seen = []

    class OtherStudyDropsFirst(InlineBackend):
        def submit(self, job, setup, root, folders, threads):
            study_module.drop_unneeded_weights(plan, store, study)  # study A's keep:, now
            seen.append(store.output("t1").get("weights_dropped", False))
            return super().submit(job, setup, root, folders, threads)

    execution = execute(plan_b, store, OtherStudyDropsFirst(), log=lambda _: None)
    assert execution.ran == ["e2"] and not execution.failed and seen == [False]
    assert (store.path(target) / "best" / "model.safetensors").exists()
    study_module.drop_unneeded_weights(plan, store, study)  # B is done: unpinned
    assert store.output("t1")["weights_dropped"]


def test_a_job_whose_checkpoint_was_dropped_says_how_to_recover(tmp_path, runs):
    store, target, plan, study = finished_target(tmp_path)
    study_module.drop_unneeded_weights(plan, store, study)  # before this worker started
    outcome = claim.run_claimed(job("e2", "evaluation", ["t1"]), None, str(store.root),
                                {"t1": target.folder})
    assert not outcome.ok and runs == []
    assert "checkpoints/target-t1" in outcome.payload and "fix: run the same command again" \
        in outcome.payload


def test_an_unlockable_store_is_a_clear_failure(tmp_path, runs):
    root = tmp_path / "store"
    root.mkdir()
    (root / "locks").write_text("not a folder")  # no lock file can be made in it
    outcome = claim.run_claimed(job("t1"), None, str(root), {})
    assert not outcome.ok and runs == []
    assert "cannot lock" in outcome.payload and "fix:" in outcome.payload


PIN_MANY = """
import resource, sys
from xstilts.study.locks import Pins, acquire, lock_path
root = sys.argv[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
pins = Pins(root)
pins.hold({f"e{i}": [f"t{i}"] for i in range(2000)})  # a big study: 2000 checkpoints
assert len(pins.held) == 2000
assert acquire(lock_path(root, "t7", use=True), blocking=False) is None  # pinned
for i in range(2000):
    pins.done(f"e{i}", [f"t{i}"])
assert not pins.held and acquire(lock_path(root, "t7", use=True), blocking=False) is not None
"""


def test_a_big_study_pins_more_checkpoints_than_the_usual_open_file_limit(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(locks.__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PIN_MANY, str(tmp_path / "store")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
