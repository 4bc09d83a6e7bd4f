"""`xstilts run` under `accelerate launch` with two CPU processes: every training job runs once
on both ranks together (DDP inside the phase), rank 0 alone writes the store, evaluates and
writes results; the other rank prints no results (study/data_parallel.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.bad_input_projects import study
from tests.fixtures import log_records

from xstilts.cli import main
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


def launch_run(tmp_path: Path, config_text: str, module: str = "xstilts.cli",
               timeout: int = 600) -> tuple[subprocess.CompletedProcess, Path]:
    """`xstilts run` (or a wrapper `module`) on two CPU processes under accelerate launch."""
    config = tmp_path / "c.yaml"
    config.write_text(config_text)
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         *filter(None, [env.get("PYTHONPATH")])])
    env.update(OMP_NUM_THREADS="1", XSTILTS_CACHE=str(tmp_path / "cache"))
    args = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
            "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
            "--dynamo_backend", "no", "--main_process_port", "0", "-m", module, "run",
            str(config), "--out", str(out)]
    with subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # hung: the ranks are killed, not left behind
            import psutil  # accelerate's dependency

            for child in [*psutil.Process(proc.pid).children(recursive=True), proc]:
                with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                    child.kill()
            proc.communicate()
            raise AssertionError(f"the two processes hung for {timeout} s") from None
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr), out


def test_a_run_trains_on_two_processes_and_evaluates_once(tmp_path):
    proc, out = launch_run(tmp_path, CONFIG, module="tests.study.dp_group_left_rank")
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
    # Both ranks left the process group before exiting (a gloo group left to the
    # interpreter's exit can abort a rank, and the launcher then kills the other).
    assert [(out / f"group-left-{r}").read_text() for r in (0, 1)] == ["True", "True"]


def test_one_tracker_run_and_one_log_line_per_job_with_two_processes(tmp_path, monkeypatch):
    proc, out = launch_run(tmp_path, CONFIG + "tracking: {backends: [tensorboard, mlflow]}\n")
    assert proc.returncode == 0, proc.stderr[-4000:]
    # One TensorBoard run per training job, written by one process (event files are named
    # events.out.tfevents.<time>.<host>.<pid>.<n>; the target's scores come in a second one).
    runs = [p for p in (out / "tracking" / "tensorboard").glob("*/*") if p.is_dir()]
    assert len(runs) == 2, runs
    writers = {f.name.split(".")[-2] for run in runs for f in run.glob("events.out.tfevents.*")}
    assert len(writers) == 1, writers
    # One MLflow run per training job: rank 1 created none of its own.
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow-skinny: the file store
    client = MlflowClient(tracking_uri=(out / "tracking" / "mlruns").resolve().as_uri())
    experiments = client.search_experiments()
    found = client.search_runs([e.experiment_id for e in experiments])
    assert sorted(r.data.tags["kind"] for r in found) == ["intermediate", "target"]
    # The run's log has each line once (rank 0's), also the lines every rank logs.
    lines = (out / "xstilts.log").read_text().splitlines()
    assert sum("xstilts run" in line and "(pid" in line for line in lines) == 1
    assert sum("encoder tiny-random" in line for line in lines) == 1
    assert sum("dev evaluation(s), best at step" in line for line in lines) == 2
    assert sum(" done " in line and "on 2 processes" not in line for line in lines) >= 2


def test_a_save_failing_on_rank_0_alone_stops_both_processes(tmp_path):
    # Rank 0's disk is full for the intermediate job's training state (first saved at step
    # 2 of 4); rank 1 must not go on into step 3's all-reduce alone (which would hang).
    proc, out = launch_run(tmp_path, CONFIG, module="tests.study.dp_full_disk_rank0",
                           timeout=300)
    assert proc.returncode != 0
    assert "the disk is full while writing the training state" in proc.stderr
    assert "No space left on device" in proc.stderr
    events = Store(out).events()
    assert not [e for e in events if e["event"] == "done"], events  # nothing counts as done
    failed = {e["kind"]: e["event"] for e in events if e["event"] in ("failed", "blocked")}
    assert failed == {"intermediate": "failed", "target": "blocked",
                      "evaluation": "blocked"}, events
    assert not (out / "results.json").exists() or "demo-nli" not in json.loads(
        (out / "results.json").read_text())["targets"]


def test_a_study_under_a_data_parallel_launch_is_refused_before_any_work(tmp_path, monkeypatch,
                                                                         capsys):
    # Each rank would run the whole study into one store; a study trains one job per GPU.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)) for a in study(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "WORLD_SIZE=2" in err and "--workers N" in err and "fix:" in err, err
    assert not out.exists()
