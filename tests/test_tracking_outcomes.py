"""How tracker runs end: a failed job's run is FAILED, a backend that fails is closed (its
run not left RUNNING) while the others go on, and the trackers' test/avg/* are the same bits
as the results rows' and results.json's averages."""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from tests import wandb_files
from xstilts import tracking
from xstilts.config import EncoderConfig, TrackingConfig, load_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.average import language_average
from xstilts.study.plan import Setup
from xstilts.study.run import run_config
from xstilts.study.study import result_rows
from xstilts.study.tracked import track_results

CONFIG = """
seed: 0
encoder: {name: tiny-random}
suites:
  demo: {sizes: {train: 16, dev: 8, test: 8}, seed: 0}
targets:
  tasks: [demo-nli]
  languages: {demo-nli: [en]}
  training: {max_steps: 4, batch_size: 4, max_length: 32, evaluations: 1}
"""


@pytest.fixture
def local_stores(monkeypatch):
    """MLflow's file store under the tracking folder, W&B offline; warnings not yet said."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setattr(tracking, "_WARNED", set())


def mlflow_runs(folder) -> dict:
    """Every MLflow run of experiment `exp` under `folder`/mlruns, by name."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(folder / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("exp")
    return {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}


def test_a_job_that_fails_mid_training_ends_its_runs_failed(tmp_path, monkeypatch,
                                                            local_stores):
    import xstilts.train.loop as loop

    checked = loop.check_finite

    def fail_at_step_3(loss, norm, task, step, *rest):
        if step == 3:
            raise RuntimeError("a bug at step 3")
        return checked(loss, norm, task, step, *rest)

    monkeypatch.setattr(loop, "check_finite", fail_at_step_3)
    (tmp_path / "c.yaml").write_text(
        CONFIG + f"tracking: {{backends: [mlflow, wandb], dir: '{tmp_path / 't'}', "
        "project: exp}\n")
    with pytest.raises(XstiltsError, match="a bug at step 3"):
        run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")
    (target,) = mlflow_runs(tmp_path / "t").values()
    assert target.info.status == "FAILED"
    assert target.data.metrics["train/loss"] is not None  # steps 1-2 were logged
    (file,) = (tmp_path / "t" / "wandb").glob("offline-run-*/run-*.wandb")
    assert wandb_files.exit_code(file) == 1


def test_trackers_end_runs_killed_on_an_interrupt(tmp_path, local_stores):
    settings = TrackingConfig(backends=["mlflow", "wandb"], dir=str(tmp_path))
    run_ = tracking.TrackedRun("feedfacecafe0001", "target-x", "exp", {"seed": "0"})
    with pytest.raises(KeyboardInterrupt), tracking.Trackers(settings, run_) as trackers:
        trackers.log_record({"step": 1, "task": "x", "loss": 0.5})
        raise KeyboardInterrupt
    assert mlflow_runs(tmp_path)["target-x"].info.status == "KILLED"
    (file,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    assert wandb_files.exit_code(file) == 130


def test_a_backend_that_fails_is_closed_and_the_others_go_on(tmp_path, monkeypatch,
                                                             local_stores):
    settings = TrackingConfig(backends=["tensorboard", "mlflow"], dir=str(tmp_path))
    run_ = tracking.TrackedRun("0123456789abcdef", "target-x", "exp", {"seed": "0"})
    trackers = tracking.Trackers(settings, run_)
    trackers.log_record({"step": 1, "task": "x", "loss": 0.9})
    board, flow = trackers.active["tensorboard"], trackers.active["mlflow"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(board.writer, "add_scalar", broken)
    trackers.log_record({"step": 2, "task": "x", "loss": 0.8})
    assert list(trackers.active) == ["mlflow"]
    assert board.writer.all_writers is None  # SummaryWriter.close() ran: files closed
    assert mlflow_runs(tmp_path)["target-x"].info.status == "RUNNING"
    monkeypatch.setattr(flow.client, "log_batch", broken)
    trackers.log_record({"step": 3, "task": "x", "loss": 0.7})
    assert trackers.active == {}
    found = mlflow_runs(tmp_path)["target-x"]
    assert found.info.status == "FAILED"  # terminated, not left RUNNING
    assert found.data.metrics["train/loss"] == 0.8  # step 2 reached the backend still on
    trackers.close()  # nothing left to close: no error


def test_an_mlflow_run_whose_settings_fail_is_not_left_running(tmp_path, monkeypatch,
                                                               local_stores):
    from mlflow.tracking import MlflowClient

    def no_params(self, run_id, metrics=(), params=(), tags=()):
        raise OSError("params refused")

    monkeypatch.setattr(MlflowClient, "log_batch", no_params)
    settings = TrackingConfig(backends=["mlflow"], dir=str(tmp_path))
    run_ = tracking.TrackedRun("0123456789abcdef", "target-x", "exp", {}, {"lr": 1e-5})
    with tracking.Trackers(settings, run_) as trackers:
        assert trackers.active == {}
    assert mlflow_runs(tmp_path)["target-x"].info.status == "FAILED"


# Scores whose mean depends on how they are summed: left to right, numpy's pairwise (8-way
# unrolled from 8 values on) and an exactly rounded sum give three different floats.
AWKWARD = [78.63045829638, 58.95180258567, 64.960605405271, 33.01343861263, 89.478038852325,
           80.19625701567, 28.462297186406, 43.288662975209, 70.503908530829]


def test_the_tracked_average_is_the_results_rows_average(tmp_path, monkeypatch):
    assert len({sum(AWKWARD) / 9, float(np.mean(AWKWARD)),
                math.fsum(AWKWARD) / 9}) == 3, "the scores are not awkward enough"
    languages = [f"l{i}" for i in range(9)]
    outputs = {f"key-{lang}": {"metrics": {"f1": value, "em": -value}}
               for lang, value in zip(languages, AWKWARD, strict=True)}
    store = SimpleNamespace(output=outputs.get)
    arm = SimpleNamespace(arm=SimpleNamespace(tasks=(), run_id="r0", intermediate_seed=0,
                                              target_seed=0),
                          evaluations={("t", lang): f"key-{lang}" for lang in languages},
                          targets={"t": None})
    setup = Setup("tiny-random", "loc", {}, EncoderConfig(), "s",
                  TrackingConfig(backends=["tensorboard"], dir=str(tmp_path), project="exp"))
    plan = SimpleNamespace(arms=[arm], targets=["t"], setup=setup, jobs={})
    study = SimpleNamespace(spec=SimpleNamespace(name="s"), n_languages=lambda tasks: 0)
    rows = {(r[8], r[9]): r[10] for r in result_rows(plan, store, study)}
    track_results(plan, store, ran=list(outputs))
    from tensorboard.backend.event_processing.plugin_event_accumulator import (
        EventAccumulator,
    )
    from tensorboard.util import tensor_util

    (folder,) = (tmp_path / "tensorboard" / "exp").iterdir()
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    acc.Reload()
    tracked = {tag: tensor_util.make_ndarray(acc.Tensors(tag)[0].tensor_proto).item()
               for tag in ("test/avg/f1", "test/avg/em")}
    per_language = {lang: outputs[f"key-{lang}"]["metrics"] for lang in languages}
    assert tracked == {"test/avg/f1": rows[("avg", "f1")], "test/avg/em": rows[("avg", "em")]}
    assert language_average(per_language) == {"f1": rows[("avg", "f1")],
                                              "em": rows[("avg", "em")]}
    # Within one rounding of the exact mean (the sum is exact, the division rounds once).
    exact = sum(Fraction(v) for v in AWKWARD) / 9
    assert abs(Fraction(rows[("avg", "f1")]) - exact) <= Fraction(math.ulp(float(exact)))
    # The order of the languages changes nothing.
    backwards = dict(reversed(per_language.items()))
    assert language_average(backwards) == language_average(per_language)
