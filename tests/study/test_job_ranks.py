"""Under `accelerate launch` rank 0 alone reports a job: its tracker run is built there only
(study/jobs.py), so MLflow and W&B get one run per job, not one per process."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from xstilts.config import EncoderConfig, TrackingConfig, TrainingConfig
from xstilts.study import jobs
from xstilts.study.plan import IntermediateJob, Setup
from xstilts.train.distributed import is_main_process


@pytest.mark.parametrize(("world", "rank", "main"), [
    (None, None, True), ("1", "0", True), ("2", "0", True), ("2", "1", False), ("4", "3", False)])
def test_the_main_process_is_rank_0_or_a_single_one(monkeypatch, world, rank, main):
    for name, value in (("WORLD_SIZE", world), ("RANK", rank)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert is_main_process() is main


@pytest.mark.parametrize("rank", ["0", "1"])
def test_only_rank_0_builds_a_jobs_tracker_run(tmp_path, monkeypatch, rank):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    setup = Setup("tiny-random", "tiny-random", {}, EncoderConfig(),
                  tracking=TrackingConfig(backends=["mlflow"], dir=str(tmp_path)))
    job = IntermediateJob("a" * 64, (), SimpleNamespace(training=TrainingConfig()), 0)
    with jobs._trackers(job, setup) as trackers:
        assert list(trackers.active) == (["mlflow"] if rank == "0" else [])
    # MLflow's file store exists once a run was created in it: on rank 0 alone.
    assert (tmp_path / "mlruns").exists() is (rank == "0")
