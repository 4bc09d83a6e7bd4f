"""`xstilts run` under `accelerate launch` with two CPU processes: every training job runs once
on both ranks together (DDP inside the phase), rank 0 alone writes the store, evaluates and
writes results; the other rank prints no results (study/data_parallel.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.fixtures import log_records

from xstilts.study.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
seed: 0
encoder: {name: tiny-random}
suites:
  demo: {sizes: {train: 32, dev: 8, test: 8}, seed: 0}
intermediate:
  tasks: [demo-topic-en]
  training: {max_steps: 4, batch_size: 4, learning_rate: 1.0e-3, max_length: 48, evaluations: 2}
targets:
  tasks: [demo-nli]
  languages: {demo-nli: [en, de]}
  training: {max_steps: 4, batch_size: 4, learning_rate: 1.0e-3, max_length: 48, evaluations: 2}
"""


def test_a_run_trains_on_two_processes_and_evaluates_once(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         *filter(None, [env.get("PYTHONPATH")])])
    env.update(OMP_NUM_THREADS="1", XSTILTS_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
         "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "--main_process_port", "0", "-m", "xstilts.cli", "run", str(config), "--out",
         str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count("results:") == 1  # rank 0 alone prints the results
    assert "on 2 processes" in proc.stdout + proc.stderr  # both training jobs, both ranks

    # Each job started and finished once in the store (rank 0 writes; no duplicates).
    events = Store(out).events()
    started = Counter(e["key"] for e in events if e["event"] == "running")
    done = Counter(e["key"] for e in events if e["event"] == "done")
    assert set(done.values()) == {1} and set(started.values()) == {1}
    kinds = Counter(e["kind"] for e in events if e["event"] == "done")
    assert kinds == {"intermediate": 1, "target": 1, "evaluation": 2}, kinds

    # The training logs hold each step once (rank 0's), not twice.
    logs = [log_records(p) for p in (out / "checkpoints").glob("*/log.jsonl")]
    assert len(logs) == 2
    for records in logs:
        assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]

    results = json.loads((out / "results.json").read_text())
    assert set(results["targets"]["demo-nli"]["languages"]) == {"en", "de"}
