"""Data parallelism for one phase: two CPU processes under `accelerate launch --multi_gpu`
(Accelerate falls back to gloo on CPUs; its `--cpu` launcher needs MPI for several processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from xstilts.train.distributed import DataParallel, world_size

ROOT = Path(__file__).resolve().parents[2]


def test_one_process_needs_no_wrapper(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world_size() == 1
    par = DataParallel()
    assert par.accelerator is None and par.is_main and par.rank == 0
    assert par.device(torch.device("cpu")) == torch.device("cpu")


def test_two_processes_train_one_phase_with_synchronised_gradients(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         *filter(None, [env.get("PYTHONPATH")])])
    env.update(OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
         "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "--main_process_port", "0", "-m", "tests.train.ddp_rank", str(tmp_path)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]

    # Rank 0 wrote the phase's checkpoints, log and summary; rank 1 nothing of its own.
    phase = tmp_path / "phase"
    assert (phase / "best" / "model.safetensors").exists()
    assert (phase / "last" / "training_state.json").exists()
    summary = json.loads((phase / "summary.json").read_text())
    assert summary["steps"] == 4
    steps = [json.loads(x) for x in (phase / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "loss" in r] == [1, 2, 3, 4]  # logged once, not twice

    # Different batches on the two ranks (8 micro-batches each: 4 steps x grad_accum 2) ...
    batches = [json.loads((tmp_path / f"batches-{r}.json").read_text()) for r in (0, 1)]
    assert len(batches[0]) == len(batches[1]) == 8
    assert all(a != b for a, b in zip(*batches, strict=True))
    # ... and yet the very same weights after training: the gradients were averaged. (With
    # the DDP wrapper taken out, 45 of these 47 tensors differ between the ranks.)
    params = [load_file(str(tmp_path / f"params-{r}.safetensors")) for r in (0, 1)]
    assert params[0].keys() == params[1].keys() and len(params[0]) > 40
    for name in params[0]:
        assert torch.equal(params[0][name], params[1][name]), name
    # The saved last state is those weights.
    last = load_file(str(phase / "last" / "model.safetensors"))
    for name, value in last.items():
        assert torch.equal(value, params[0][f"encoder.{name}"]), name


def launch(harness: str, *args: str) -> subprocess.CompletedProcess:
    """Two CPU processes under `accelerate launch` running tests/train/<harness>.py."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         *filter(None, [env.get("PYTHONPATH")])])
    env.update(OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
         "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "--main_process_port", "0", "-m", f"tests.train.{harness}", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_two_processes_resume_from_a_half_saved_state_with_their_own_generators(tmp_path):
    stopped = launch("ddp_resume_rank", str(tmp_path), "stop")
    assert stopped.returncode == 0, stopped.stderr[-4000:]
    # Killed between the two renames of a save: only the moved-aside state is whole. Rank 0
    # puts it back before any rank looks for a state to resume from.
    phase = tmp_path / "phase"
    (phase / "last").rename(phase / ".last.old-12345")
    resumed = launch("ddp_resume_rank", str(tmp_path), "resume")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert (phase / "last").is_dir() and not (phase / ".last.old-12345").exists()

    stop = [json.loads((tmp_path / f"stop-{r}.json").read_text()) for r in (0, 1)]
    resume = [json.loads((tmp_path / f"resume-{r}.json").read_text()) for r in (0, 1)]
    assert [r.get("resumed_from") for r in resume] == [2, 2]  # both ranks, the same state
    # The ranks drew different dropout masks, so their generators differ; each rank goes on
    # with its own generator as it was at the save (step 2), not with rank 0's.
    assert stop[0]["rng"] != stop[1]["rng"]
    for rank in (0, 1):
        assert resume[rank]["rng"] == stop[rank]["rng"], rank
    summary = json.loads((phase / "summary.json").read_text())
    assert summary["steps"] == 4
