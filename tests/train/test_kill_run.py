"""SIGKILL harness for `xstilts run CONFIG --out DIR`: killed mid-step, mid-save or
mid-evaluation at seeded points (after its phase saved a `save_every` state), the same command
resumes that phase from `last/` and ends with the very results of an uninterrupted run: the
same metrics to the bit, every finished job kept, no row twice, no step logged twice."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from tests.fixtures import without_wall_clock
from tests.kill_harness import (
    choose_kill,
    kill_at,
    leftovers,
    read_events,
    run_to_end,
    saved_state,
    training_logs,
)

from xstilts.study.store import Store

MAX_STEPS = 6
CONFIG = f"""
seed: 1
encoder: {{name: tiny-random}}
suites:
  demo: {{sizes: {{train: 32, dev: 16, test: 16}}, seed: 0}}
intermediate:
  tasks: [demo-mc-en]
  training: {{max_steps: {MAX_STEPS}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
             evaluations: 2, save_every: 2}}
targets:
  tasks: [demo-nli]
  languages: {{demo-nli: [en, de]}}
  training: {{max_steps: {MAX_STEPS}, batch_size: 8, learning_rate: 5.0e-3, max_length: 48,
             evaluations: 2, save_every: 2}}
"""
SEED = 7  # the random kill points
TRIALS = ["save", "save", "step", "step", "eval", "eval"]


def run_args(config: Path, out: Path) -> list[str]:
    return ["run", str(config), "--out", str(out)]


def results(out: Path) -> dict:
    """results.json with this run's folder written as OUT (checkpoints are named in it)."""
    return without_wall_clock(json.loads((out / "results.json").read_text()
                                         .replace(str(out.resolve()), "OUT")))


def result_rows(out: Path) -> list[tuple]:
    with closing(sqlite3.connect(out / "results.sqlite")) as conn:
        return conn.execute("SELECT target, language, metric, value FROM results "
                            "ORDER BY target, language, metric").fetchall()


def predictions(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in (out / "predictions").rglob("*")
            if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The run once, uninterrupted, with the events of its phases (the kill points)."""
    folder = tmp_path_factory.mktemp("reference")
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = folder / "out"
    run_to_end(folder / "events.jsonl", run_args(config, out), folder / "log.txt")
    return {"config": config, "out": out, "events": read_events(folder / "events.jsonl"),
            "results": results(out), "rows": result_rows(out),
            "logs": training_logs(out), "predictions": predictions(out)}


@pytest.mark.parametrize("trial", range(len(TRIALS)))
def test_killed_run_resumes_mid_phase_to_the_same_results(reference, tmp_path, trial):
    kind = TRIALS[trial]
    spec, point = choose_kill(reference["events"], kind, random.Random(f"{SEED}-{trial}"))
    out, events, log = tmp_path / "out", tmp_path / "events.jsonl", tmp_path / "log.txt"
    args = run_args(reference["config"], out)

    phase = kill_at(spec, events, args, log)
    assert phase == point["phase"]
    step = saved_state(out, phase)
    assert step is not None and 0 < step < MAX_STEPS, (spec, step)  # a mid-phase state
    if kind == "save":  # killed with a checkpoint half written: a temp folder, not last/
        assert any(f"/.{point['part']}." in p for p in leftovers(out)), leftovers(out)
    done_before = {e["key"] for e in Store(out).events("done")}

    resumed_from = len(read_events(events))
    run_to_end(events, args, log)
    resumes = [e for e in read_events(events)[resumed_from:] if e["kind"] == "resume"]
    assert {"phase": phase, "step": step} in [
        {"phase": e["phase"], "step": e["step"]} for e in resumes], (spec, resumes)

    # The same results, to the bit; one row per (target, language, metric).
    assert results(out) == reference["results"]
    rows = result_rows(out)
    assert rows == reference["rows"]
    assert len({r[:3] for r in rows}) == len(rows)
    assert predictions(out) == reference["predictions"]

    # Jobs finished before the kill were not run again; every job done once.
    store_events = Store(out).events()
    done = Counter(e["key"] for e in store_events if e["event"] == "done")
    assert set(done.values()) == {1} and done_before <= set(done), done
    for key in done_before:
        assert [e["event"] for e in store_events if e["key"] == key].count("running") == 1

    # Training logs: each step once, the same losses and dev scores; no temp folder left.
    logs = training_logs(out)
    assert logs.keys() == reference["logs"].keys()
    for folder, records in logs.items():
        assert [r["step"] for r in records if "loss" in r] == list(range(1, MAX_STEPS + 1))
        assert records == reference["logs"][folder], folder
    assert leftovers(out) == []


def test_kill_points_cover_every_phase(reference):
    """The seeded points land in both phases and in all three kinds (so the trials above
    are not all the same kill)."""
    points = [choose_kill(reference["events"], kind, random.Random(f"{SEED}-{trial}"))[1]
              for trial, kind in enumerate(TRIALS)]
    assert {p["phase"].split("-")[0] for p in points} == {"intermediate", "target"}
    assert {p["kind"] for p in points} == {"save", "step", "eval"}
    assert {p.get("part") for p in points if p["kind"] == "save"} <= {"last", "best"}
