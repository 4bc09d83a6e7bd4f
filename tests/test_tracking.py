"""Experiment trackers: a tiny run with TensorBoard, MLflow and W&B (offline), read back with
each tool's own reader and compared with log.jsonl and results.json."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests import wandb_files
from xstilts import tracking
from xstilts.cli import main
from xstilts.config import load_config, parse_config
from xstilts.errors import XstiltsError
from xstilts.study.run import run_config
from xstilts.study.store import Store

CONFIG = """
seed: 0
encoder: {name: tiny-random}
suites:
  demo: {sizes: {train: 16, dev: 8, test: 8}, seed: 0}
intermediate:
  tasks: [demo-topic-en]
  training: {max_steps: 2, batch_size: 4, max_length: 32, evaluations: 1}
targets:
  tasks: [demo-nli, demo-retrieval]
  languages: {demo-nli: [en, de], demo-retrieval: [de, es]}
  training: {max_steps: 3, batch_size: 4, max_length: 32, evaluations: 2}
"""
TRACKING = "tracking: {backends: [tensorboard, mlflow, wandb], tags: {owner: me}}\n"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A tiny run with every tracker; (out folder, results.json)."""
    root = tmp_path_factory.mktemp("tracked")
    (root / "c.yaml").write_text(CONFIG + TRACKING)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "offline")
        mp.setenv("WANDB_SILENT", "true")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        assert main(["run", str(root / "c.yaml"), "--out", str(root / "out")]) == 0
    out = root / "out"
    return out, json.loads((out / "results.json").read_text())


def logged(out: Path, prefix: str) -> tuple[str, list[dict]]:
    """(job key, log.jsonl records) of the one training job whose folder starts with prefix."""
    (folder,) = (out / "checkpoints").glob(prefix + "*")
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return folder.name.rsplit("-", 1)[1], records


def step_values(records: list[dict], field: str) -> dict[int, float]:
    return {r["step"]: r[field] for r in records if field in r and "dev" not in r}


def tensorboard_scalars(run_dir: Path) -> tuple[dict[str, dict[int, float]], str]:
    """Every scalar of a TensorBoard run folder by tag and step, and its tags text."""
    # TensorBoard's own reader (the one its UI uses: it drops steps a restart purges).
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    scalars = {tag: {e.step: tensor_util.make_ndarray(e.tensor_proto).item()
                     for e in acc.Tensors(tag)}
               for tag in acc.Tags()["tensors"] if tag != "xstilts/tags/text_summary"}
    text = acc.Tensors("xstilts/tags/text_summary")[0]
    return scalars, tensor_util.make_ndarray(text.tensor_proto).item().decode()


def test_tensorboard_holds_the_steps_dev_evaluations_and_final_scores(tracked):
    out, results = tracked
    key, records = logged(out, "target-demo-nli-")
    (run_dir,) = (out / "tracking" / "tensorboard" / "xstilts").glob(f"target-demo-nli-*{key[:8]}")
    scalars, tags = tensorboard_scalars(run_dir)
    assert scalars["train/loss"] == step_values(records, "loss")
    assert scalars["train/lr"] == step_values(records, "lr")
    dev = [r for r in records if "dev" in r]
    assert scalars["dev/score"] == {r["step"]: r["score"] for r in dev}
    assert scalars["dev/demo-nli/accuracy"] == {r["step"]: r["dev"]["demo-nli"]["accuracy"]
                                                for r in dev}
    target = results["targets"]["demo-nli"]
    for lang in ("en", "de"):
        assert scalars[f"test/{lang}/accuracy"] == {3: target["languages"][lang]["accuracy"]}
    assert scalars["test/avg/macro_f1"] == {3: target["average"]["macro_f1"]}
    for row in ("| study | run |", "| intermediate | demo-topic-en |", "| target | demo-nli |",
                "| seed | 0 |", "| owner | me |"):
        assert row in tags
    # The intermediate job has a run of its own; an untrained target a run of its scores.
    inter_key, inter_records = logged(out, "intermediate-")
    (inter_dir,) = (out / "tracking" / "tensorboard" / "xstilts").glob(f"intermediate-*{inter_key[:8]}")
    scalars, tags = tensorboard_scalars(inter_dir)
    assert scalars["train/loss"] == step_values(inter_records, "loss")
    assert "| target |  |" in tags and not any(t.startswith("test/") for t in scalars)
    (retrieval,) = (out / "tracking" / "tensorboard" / "xstilts").glob("evaluate-demo-retrieval-*")
    scalars, _ = tensorboard_scalars(retrieval)
    languages = results["targets"]["demo-retrieval"]["languages"]
    assert {t: v[0] for t, v in scalars.items()} == {
        "test/de/accuracy": languages["de"]["accuracy"],
        "test/es/accuracy": languages["es"]["accuracy"],
        "test/avg/accuracy": results["targets"]["demo-retrieval"]["average"]["accuracy"]}


def test_mlflow_runs_hold_tags_steps_and_final_scores(tracked):
    from mlflow.tracking import MlflowClient

    out, results = tracked
    client = MlflowClient(tracking_uri=(out / "tracking" / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("xstilts")
    runs = {r.data.tags["xstilts.job"]: r for r in client.search_runs([experiment.experiment_id])}
    key, records = logged(out, "target-demo-nli-")
    inter_key, inter_records = logged(out, "intermediate-")
    assert len(runs) == 3  # intermediate, target demo-nli, demo-retrieval's scores
    target_run = runs[key]
    assert {k: target_run.data.tags[k] for k in ("study", "intermediate", "target", "seed",
                                                  "owner")} == {
        "study": "run", "intermediate": "demo-topic-en", "target": "demo-nli", "seed": "0",
        "owner": "me"}
    assert target_run.data.params["training.max_steps"] == "3"
    history = {m.step: m.value for m in client.get_metric_history(target_run.info.run_id,
                                                                  "train/loss")}
    assert history == step_values(records, "loss")
    target = results["targets"]["demo-nli"]
    for lang, metrics in target["languages"].items():
        for metric, value in metrics.items():
            assert target_run.data.metrics[f"test/{lang}/{metric}"] == value
    assert target_run.data.metrics["test/avg/accuracy"] == target["average"]["accuracy"]
    assert target_run.info.status == "FINISHED"
    inter = runs[inter_key]
    assert (inter.data.tags["intermediate"], inter.data.tags["target"]) == ("demo-topic-en", "")
    history = {m.step: m.value for m in client.get_metric_history(inter.info.run_id,
                                                                  "train/loss")}
    assert history == step_values(inter_records, "loss")


def test_wandb_offline_runs_hold_the_logged_values(tracked):
    # W&B's offline run files are protobuf records; its history values are JSON text in
    # them, so each logged loss appears there as json.dumps writes it.
    out, results = tracked
    key, records = logged(out, "target-demo-nli-")
    files = sorted((out / "tracking" / "wandb").glob(f"offline-run-*-{key}/run-{key}.wandb"))
    assert len(files) == 2  # the training job, then its zero-shot scores (same run id)
    blob = b"".join(f.read_bytes() for f in files)
    for loss in step_values(records, "loss").values():
        assert json.dumps(loss).encode() in blob
    assert b"target=demo-nli" in blob and b"intermediate=demo-topic-en" in blob
    # The zero-shot scores are in the reopened run's summary, not its history: online W&B
    # drops history steps that are not after the run's current step (its last).
    training, scores = files
    target = results["targets"]["demo-nli"]
    expected = {f"test/{lang}/{m}": v for lang, ms in target["languages"].items()
                for m, v in ms.items()}
    expected.update({f"test/avg/{m}": v for m, v in target["average"].items()})
    held = wandb_files.summary(scores)
    assert {k: v for k, v in held.items() if k.startswith("test/")} == expected
    assert not any(k.startswith("test/") for f in files for k in wandb_files.history_keys(f))
    assert "train/loss" in wandb_files.history_keys(training)
    assert [wandb_files.exit_code(f) for f in files] == [0, 0]


def test_tracking_changes_no_job_key_and_no_config_hash(tracked, tmp_path):
    out, results = tracked
    (tmp_path / "c.yaml").write_text(CONFIG)
    events = len(Store(out).events())
    again = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "b", store=out)
    assert Counter(e["event"] for e in Store(out).events()[events:]) == Counter()
    assert again["config_hash"] == results["config_hash"]
    assert again["targets"] == results["targets"]


def test_a_failing_tracker_warns_once_and_training_goes_on(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the tracking folder should be")
    (tmp_path / "c.yaml").write_text(
        CONFIG + f"tracking: {{backends: [tensorboard, mlflow], dir: '{blocker}'}}\n")
    monkeypatch.setattr(tracking, "_WARNED", set())
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    with caplog.at_level(logging.WARNING, logger="xstilts"):
        results = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")
    assert set(results["targets"]) == {"demo-nli", "demo-retrieval"}
    warnings = [r.getMessage() for r in caplog.records if "tracking:" in r.getMessage()]
    assert sorted(w.split()[1] for w in warnings) == ["mlflow", "tensorboard"]


def test_a_missing_tracker_package_fails_before_any_work(tmp_path, monkeypatch, capsys):
    (tmp_path / "c.yaml").write_text(CONFIG + "tracking: {backends: [mlflow]}\n")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "tracking.backends" in error and "pip install mlflow-skinny" in error
    assert not (tmp_path / "out" / "checkpoints").exists()


@pytest.mark.parametrize(("tracking_yaml", "message"), [
    ("{backends: [tensorbored]}", "tracking.backends.0"),
    ("{backends: [mlflow, mlflow]}", "listed twice"),
    ("{project: p, color: red}", "tracking.color: unknown key"),
])
def test_bad_tracking_settings_name_the_key(tracking_yaml, message):
    with pytest.raises(XstiltsError, match=message):
        parse_config(CONFIG + f"tracking: {tracking_yaml}\n")


def test_a_reopened_run_continues_and_a_resumed_job_replaces_its_relogged_steps(tmp_path,
                                                                              monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    settings = tracking.TrackingConfig(backends=["tensorboard", "mlflow"], dir=str(tmp_path))
    run_ = tracking.TrackedRun("0123456789abcdef", "target-x-baseline-s0", "exp", {"seed": "0"})
    with tracking.Trackers(settings, run_, purge=True) as trackers:  # killed after step 3
        for step, loss in [(1, 0.9), (2, 0.8), (3, 0.7)]:
            trackers.log_record({"step": step, "task": "x", "loss": loss})
    with tracking.Trackers(settings, run_, purge=True) as trackers:  # resumed from step 2
        for step, loss in [(3, 0.75), (4, 0.6)]:
            trackers.log_record({"step": step, "task": "x", "loss": loss})
    # TensorBoard's own reader (the one its UI uses: it drops steps a restart purges).
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(tmp_path / "tensorboard" / "exp" / run_.name),
                           size_guidance={"tensors": 0})
    acc.Reload()
    assert [(e.step, tensor_util.make_ndarray(e.tensor_proto).item())
            for e in acc.Tensors("train/loss")] == [(1, 0.9), (2, 0.8), (3, 0.75), (4, 0.6)]
    client = MlflowClient(tracking_uri=tmp_path.joinpath("mlruns").as_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("exp").experiment_id])
    assert found.data.metrics["train/loss"] == 0.6 and found.data.tags["seed"] == "0"
