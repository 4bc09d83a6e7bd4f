"""Two `xstilts study` processes on one store (`--store`), started together: every job is
trained or evaluated once (the other process waits for it and reuses it), both studies end
with identical complete results, and one study's `keep:` never deletes a checkpoint the other
still needs. Then a process killed with SIGKILL while it holds a job's lock: the process
waiting for that job runs it.

Each process runs under tests/kill_harness.py's wrapper, which logs every optimiser step of
every training phase (with the process id) to its own events file.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

from tests import kill_harness
from tests.kill_harness import read_events

from xstilts.study.planned import plan_study
from xstilts.study.spec import load_study
from xstilts.study.store import Store

MAX_STEPS = 4
STUDY = """
name: {name}
base:
  encoder: {{name: tiny-random}}
  suites:
    demo: {{sizes: {{train: 32, dev: 16, test: 16}}, seed: 0}}
  intermediate:
    training: {{max_steps: {steps}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
               evaluations: 2, save_every: 2}}
  targets:
    tasks: [demo-nli]
    languages: {{demo-nli: [en, de]}}
    training: {{max_steps: {steps}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
               evaluations: 2, save_every: 2}}
pool: [demo-mc-en]
sizes: [0, 1]
draw: all
seeds: {{intermediate: [0], target: [0]}}
keep: {{intermediate_weights: true, target_weights: false}}
"""
JOBS = {"intermediate": 1, "target": 2, "evaluation": 4}  # arms: baseline, mc; nli en + de


def write(tmp_path: Path, name: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(STUDY.format(name=name, steps=MAX_STEPS))
    return tmp_path / f"{name}.yaml"


def build_encoder(tmp_path: Path) -> None:
    """Build the tiny-random encoder into the session's cache (XSTILTS_CACHE, which the
    processes inherit) first: two processes building it at once each get their own build,
    and two builds' tokenizers may differ in the order of tied pieces (so do the job keys)."""
    plan_study(load_study(write(tmp_path, "warm-up")))


def start(tmp_path: Path, name: str, spec: str = "none"):
    """`xstilts study` of study `name` on the shared store, under the wrapper."""
    write(tmp_path, name)
    args = ["study", str(tmp_path / f"{name}.yaml"), "--out", str(tmp_path / name),
            "--store", str(tmp_path / "store")]
    log = tmp_path / f"{name}.log"
    return kill_harness.start(spec, tmp_path / f"{name}-events.jsonl", args, log), log


def finish(proc, log: Path) -> str:
    rc = proc.wait(timeout=600)
    text = log.read_text(encoding="utf-8")
    assert rc == 0, f"study failed (rc {rc}):\n{text[-4000:]}"
    return text


def steps_per_phase(tmp_path: Path, names) -> Counter:
    return Counter(e["phase"] for name in names
                   for e in read_events(tmp_path / f"{name}-events.jsonl")
                   if e["kind"] == "step")


def rows(store: Store, name: str) -> list[tuple]:
    return [tuple(v for k, v in r.items() if k != "study") for r in store.results(name)]


def complete(store: Store, name: str) -> None:
    """A row per arm (baseline, mc) x language (en, de, and their average) x metric."""
    found = store.results(name)
    assert {(r["intermediate"], r["language"]) for r in found} == {
        (arm, lang) for arm in ("", "demo-mc-en") for lang in ("en", "de", "avg")}
    metrics = {r["metric"] for r in found}
    assert metrics and len(found) == 6 * len(metrics)


def check_store(tmp_path: Path, names) -> Store:
    """Every job done once, every training phase trained once, nothing half-written."""
    store = Store(tmp_path / "store")
    done = Counter(e["key"] for e in store.events("done") if e["study"] in names)  # not keep:
    assert sum(JOBS.values()) == len(done) and set(done.values()) == {1}, done
    phases = steps_per_phase(tmp_path, names)
    assert len(phases) == JOBS["intermediate"] + JOBS["target"]
    assert set(phases.values()) == {MAX_STEPS}, phases  # each step taken once, in one process
    assert not [p for p in (store.root / "checkpoints").glob("*/.*")]  # no temp folders
    return store


def test_two_studies_racing_on_one_store_run_each_job_once(tmp_path):
    build_encoder(tmp_path)
    (a, log_a), (b, log_b) = start(tmp_path, "race-a"), start(tmp_path, "race-b")
    text_a, text_b = finish(a, log_a), finish(b, log_b)
    store = check_store(tmp_path, ["race-a", "race-b"])
    # Both finish with the complete, identical results.
    assert rows(store, "race-a") == rows(store, "race-b")
    complete(store, "race-a")
    # They overlapped: at least one job was waited for and reused, not run twice.
    assert store.events("reused"), f"the two processes never raced\n{text_a[-2000:]}"
    assert any("running in another process" in t for t in (text_a, text_b))
    # Neither study's keep: deleted a target checkpoint the other still had to evaluate
    # (both succeeded); the study that ended last dropped them all.
    targets = list((store.root / "checkpoints").glob("target-*"))
    assert len(targets) == JOBS["target"] and not [t for t in targets if (t / "best").exists()]
    assert all(store.output(t.name.rsplit("-", 1)[1])["weights_dropped"] for t in targets)


def test_a_killed_holders_job_is_run_by_the_process_waiting_for_it(tmp_path):
    # The first study parks in its first training phase (at its 2nd step), holding that
    # job's lock; the second study waits for it; the first is killed; the second runs it.
    build_encoder(tmp_path)
    holder, log_a = start(tmp_path, "race-a", "step:2")
    armed = Path(str(tmp_path / "race-a-events.jsonl") + ".armed")
    deadline = time.monotonic() + 300
    while not armed.exists():
        assert holder.poll() is None and time.monotonic() < deadline, log_a.read_text()
        time.sleep(0.05)
    phase = armed.read_text()
    waiter, log_b = start(tmp_path, "race-b")
    while "running in another process" not in log_b.read_text(encoding="utf-8"):
        assert waiter.poll() is None and time.monotonic() < deadline, log_b.read_text()
        time.sleep(0.05)
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    finish(waiter, log_b)
    store = Store(tmp_path / "store")
    done = Counter(e["key"] for e in store.events("done") if e["study"] != "keep")
    assert sum(JOBS.values()) == len(done) and set(done.values()) == {1}
    assert {e["study"] for e in store.events("done")} == {"race-b", "keep"}
    # The killed phase was finished by the waiting process (resumed from the state the
    # holder saved, or from the start), to its last step.
    steps = [e for e in read_events(tmp_path / "race-b-events.jsonl")
             if e["kind"] == "step" and e["phase"] == phase]
    assert steps and steps[-1]["step"] == MAX_STEPS
    complete(store, "race-b")
