"""SIGKILL harness: a study killed at several points and run again gives the same results
table as an uninterrupted run, with no duplicate rows and no finished job run twice; a
training phase killed mid-way resumes from `last/` to the very same losses and scores.

Every run is `xstilts study ...` (under tests/kill_harness.py's wrapper) in its own process
group, killed with SIGKILL (no handler runs, no buffer is flushed). Kill points are progress,
not wall time (this machine's speed varies several-fold): one second in (start-up), "a
training job is mid-phase" (its `last/` state saved, its record not), "n jobs done, then a
delay" with n and the delay seeded, including after the last job (dropping weights, writing
results), and exact points the wrapper parks the process at: mid-save (a checkpoint half
written), mid-step and mid-evaluation, seeded among the reference run's own. A kill that
comes after the run has exited still leaves a trial that checks everything.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from tests import kill_harness
from tests.kill_harness import choose_kill, read_events, saved_state, training_logs

from xstilts.study.store import Store
from xstilts.study.study import study_status

NAME = "kill-study"
MAX_STEPS = 6
STUDY = f"""
name: {NAME}
base:
  encoder: {{name: tiny-random}}
  suites:
    demo: {{sizes: {{train: 32, dev: 16, test: 16}}, seed: 0}}
  intermediate:
    training: {{max_steps: {MAX_STEPS}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
               evaluations: 2, save_every: 2}}
  targets:
    tasks: [demo-nli, demo-retrieval]
    languages: {{demo-nli: [en, de], demo-retrieval: [de]}}
    training: {{max_steps: {MAX_STEPS}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
               evaluations: 2, save_every: 2}}
pool: [demo-mc-en, demo-topic-de]
sizes: [0, 1]
draw: all
seeds: {{intermediate: [0], target: [0]}}
keep: {{intermediate_weights: true, target_weights: false}}
"""
COUNTS = {"intermediate": 2, "target": 3, "evaluation": 9}  # 3 arms: none, mc, topic
SEED = 1  # the random kill points


def command(study: Path, out: Path) -> list[str]:
    return ["study", str(study), "--out", str(out)]


def start(study: Path, out: Path, log: Path) -> subprocess.Popen:
    return kill_harness.start("none", log.with_name("events.jsonl"), command(study, out), log)


def run_to_end(study: Path, out: Path, log: Path) -> float:
    """Run the study to completion; its wall time."""
    started = time.perf_counter()
    proc = start(study, out, log)
    rc = proc.wait(timeout=900)
    assert rc == 0, f"study failed (rc {rc}):\n{log.read_text(encoding='utf-8')[-4000:]}"
    return time.perf_counter() - started


def mid_phase(store: Path, kind: str | None = None) -> str | None:
    """A training job that saved its resume state mid-phase and has no record yet."""
    for state in (store / "checkpoints").glob("*/last/training_state.json"):
        folder = state.parent.parent
        key = folder.name.rsplit("-", 1)[1]
        if kind and not folder.name.startswith(kind):
            continue
        try:
            step = json.loads(state.read_text(encoding="utf-8"))["step"]
        except (OSError, ValueError):  # replaced while we read it
            continue
        if step < MAX_STEPS and not (store / "jobs" / f"{key}.json").exists():
            return f"{folder.name} at step {step}"
    return None


def killed_state(store: Path) -> str:
    """What a kill interrupted: jobs whose last status is 'running', results rows so far."""
    if not (store / "store.sqlite").exists():
        return "no store yet"
    with closing(sqlite3.connect(store / "store.sqlite")) as conn:
        running = [f"{label} ({key})" for key, label in conn.execute(
            "SELECT key, label FROM jobs WHERE status = 'running'")]
        rows = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    return f"running {running or 'nothing'}, {rows} results rows"


def kill_at(study: Path, out: Path, log: Path, point: tuple) -> str:
    """Start the study and SIGKILL its process group at `point`: ("after", seconds),
    ("mid-phase", folder prefix), ("records", n, seconds): that long after n jobs are done,
    or ("exact", spec, event): where the wrapper parks it (tests/kill_harness.py); then the
    phase must resume from its `last/` state. Returns what was killed where."""
    store = out / "store"
    if point[0] == "exact":
        events = log.with_name("events.jsonl")
        phase = kill_harness.kill_at(point[1], events, command(study, out), log)
        assert phase == point[2]["phase"]
        step = saved_state(store, phase)
        assert step is not None and 0 < step < MAX_STEPS, (point, step)
        return f"killed at {point[1]} in {phase}, its state at step {step} ({killed_state(store)})"
    started = time.perf_counter()
    proc = start(study, out, log)
    where, armed = None, None
    while proc.poll() is None:
        elapsed = time.perf_counter() - started
        if point[0] == "after" and elapsed >= point[1]:
            where = f"{elapsed:.1f} s in"
        elif point[0] == "mid-phase":
            found = mid_phase(store, point[1])
            if found:
                where = f"mid-phase {found}, {elapsed:.1f} s in"
        elif point[0] == "records":
            if armed is None and len(list((store / "jobs").glob("*.json"))) >= point[1]:
                armed = elapsed
            if armed is not None and elapsed >= armed + point[2]:
                where = f"{point[2]:.2f} s after {point[1]} job records, {elapsed:.1f} s in"
        if elapsed > 600:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the kill point {point} never came ({log})")
        if where:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f"killed {where} ({killed_state(store)})"
        time.sleep(0.02)
    assert proc.returncode == 0, log.read_text(encoding="utf-8")[-4000:]
    return f"finished before the kill point {point} ({time.perf_counter() - started:.1f} s)"


def table(store: Path) -> list[tuple]:
    return [(r["run_id"], r["target"], r["language"], r["metric"], r["value"])
            for r in Store(store).results(NAME)]


def predictions(store: Path) -> dict[str, str]:
    return {str(p.relative_to(store)): p.read_text(encoding="utf-8")
            for p in (store / "evaluations").glob("*/predictions/*")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study run once, uninterrupted: its store and wall time."""
    folder = tmp_path_factory.mktemp("reference")
    study = folder / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    wall = run_to_end(study, folder / "out", folder / "log.txt")
    store = folder / "out" / "store"
    rows = table(store)
    assert len(rows) == 3 * (6 + 2)  # per arm: nli en/de/avg x 2 metrics, retrieval de/avg
    return {"study": study, "store": store, "wall": wall, "rows": rows,
            "events": read_events(folder / "events.jsonl")}


def schedule(name: str, events: list[dict]) -> list[tuple]:
    """The kill points of a trial's successive runs (see `kill_at`). Random points are drawn
    in progress (jobs done, then a delay), not wall time: this machine's speed varies; exact
    points among the reference run's steps, saves and evaluations (`events`)."""
    rng = random.Random(f"{SEED}-{name}")
    jobs = sum(COUNTS.values())
    first, second = sorted(rng.sample(range(jobs), 2))
    if name in ("save", "eval"):  # one exact point each (the run harness also kills mid-step)
        return [("exact", *choose_kill(events, name, rng))]
    return {
        # During start-up (imports, planning), then mid-way through the first training job.
        "early": [("after", 1.0), ("mid-phase", "intermediate")],
        # Two seeded random points in the study.
        "random": [("records", first, rng.uniform(0.0, 1.0)),
                   ("records", second, rng.uniform(0.0, 1.0))],
        # Mid-way through a target's training, during the last jobs, then after the last one
        # (dropping weights, writing results; or the run has already exited).
        "late": [("mid-phase", "target"), ("records", jobs, 0.0)],
    }[name]


@pytest.mark.parametrize("trial", ["early", "random", "late", "save", "eval"])
def test_killed_study_resumes_to_the_same_results(reference, tmp_path, trial):
    out, log = tmp_path / "out", tmp_path / "log.txt"
    store = out / "store"
    outcomes, exact = [], []
    for point in schedule(trial, reference["events"]):
        if point[0] == "exact":
            # The resume state of that phase when it was killed, and where events continue.
            exact.append((point[2]["phase"], len(read_events(log.with_name("events.jsonl")))))
        outcomes.append(kill_at(reference["study"], out, log, point))
        if point[0] == "exact":
            exact[-1] += (saved_state(store, point[2]["phase"]),)
    wall = run_to_end(reference["study"], out, log)
    print(f"{trial} (reference {reference['wall']:.1f} s): " + "; ".join(outcomes)
          + f"; completed in {wall:.1f} s")

    # The same table, to the bit, and one row per (run, target, language, metric).
    rows = table(store)
    assert rows == reference["rows"]
    with closing(sqlite3.connect(store / "store.sqlite")) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT run_id || '|' || target || '|' || language || '|'"
            " || metric) FROM results").fetchone()
    assert total == distinct == len(reference["rows"])

    # `study status`: everything done.
    status = study_status(out).splitlines()
    for kind, n in COUNTS.items():
        line = next(s for s in status if s.startswith(kind)).split()
        assert line[1:] == [str(n), "0", "0", "0", "0"], status

    # A job done before a kill never ran again: one 'done' each, nothing started after it.
    events = [e for e in Store(store).events() if e["study"] == NAME]
    done = Counter(e["key"] for e in events if e["event"] == "done")
    assert len(done) == sum(COUNTS.values()) and set(done.values()) == {1}, done
    for key in done:
        mine = [e["event"] for e in events if e["key"] == key]
        assert "running" not in mine[mine.index("done"):], (key, mine)
    assert set(Store(store).statuses().values()) == {"done"}

    # Training logs: no step twice, and the very same losses and dev scores as uninterrupted.
    logs, expected = training_logs(store), training_logs(reference["store"])
    assert logs.keys() == expected.keys()
    for folder, records in logs.items():
        losses = [r["step"] for r in records if "loss" in r]
        assert losses == list(range(1, MAX_STEPS + 1)), (folder, losses)
        assert records == expected[folder], folder
    assert predictions(store) == predictions(reference["store"])

    # An exact kill: the next run resumed that phase from its mid-phase `last/` state.
    events = read_events(log.with_name("events.jsonl"))
    for phase, since, step in exact:
        resumes = [(e["phase"], e["step"]) for e in events[since:] if e["kind"] == "resume"]
        assert (phase, step) in resumes, (phase, step, resumes)
        assert not list((store / "checkpoints" / phase).glob(".*"))  # no temp folder left
