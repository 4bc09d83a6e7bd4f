"""Experiment trackers (TensorBoard, MLflow, Weights & Biases), as Hugging Face's `report_to`.

One tracker run per training job (intermediate or target), identified by the job's key, so a
resumed job continues its run and the target's zero-shot scores join the run that trained it.
Trackers observe and never decide: a backend that fails warns once and is dropped, and the
job goes on. Each backend's package is imported only when it is used. A run ends with the
job's outcome: FINISHED, FAILED (an error) or KILLED (an interrupt), in MLflow's words.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from xstilts.config import TrackingConfig
from xstilts.errors import XstiltsError

logger = logging.getLogger("xstilts")

# Backend -> (module it imports, the pip package that provides it).
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"),
            "mlflow": ("mlflow", "mlflow-skinny"),
            "wandb": ("wandb", "wandb")}
# How a tracker run ends (MLflow's run statuses) -> W&B's exit code (non-zero: failed).
EXIT_CODES = {"FINISHED": 0, "FAILED": 1, "KILLED": 130}


@dataclass(frozen=True)
class TrackedRun:
    """Who a tracker run is: its id (a job key), name, experiment, tags and settings."""

    key: str
    name: str  # e.g. target-demo-nli-s0-<key>; TensorBoard's run folder under the study's
    experiment: str  # MLflow experiment / W&B project / TensorBoard's top folder
    tags: dict[str, str]  # study, intermediate ('' = baseline), target, seed, and the user's
    params: dict = field(default_factory=dict)  # settings, logged once when the run is made


class Tracker(Protocol):
    """One tracker run of one backend."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_scores(self, metrics: dict[str, float], step: int) -> None: ...

    def close(self, status: str = "FINISHED") -> None: ...


def check_backends(tracking: TrackingConfig) -> None:
    """Fail before any work when a configured backend's package is not installed."""
    for backend in tracking.backends:
        module, package = PACKAGES[backend]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # ValueError: blocked in sys.modules
            found = False
        if not found:
            raise XstiltsError(
                f"tracking.backends: {backend!r} needs the {package} package, which is not "
                f"installed.\n  fix: pip install {package} (or pip install 'xstilts[track]'), "
                "or remove it from tracking.backends.")


def _require(backend: str):
    """Import a backend's module, or a clear error naming its package."""
    module, package = PACKAGES[backend]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise XstiltsError(f"tracking backend {backend!r} needs the {package} package.\n  fix: "
                           f"pip install {package} (or pip install 'xstilts[track]').") from exc


class TensorBoardTracker:
    """Event files in DIR/tensorboard/<experiment>/<run name>/; tags as a text summary.

    Scalars are written in double precision, so they read back exactly. A resumed training
    job purges the steps after its saved state (they are logged again)."""

    def __init__(self, root: Path, run: TrackedRun, purge: bool):
        _require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self._make = lambda purge_step: SummaryWriter(
            str(root / "tensorboard" / run.experiment / run.name), purge_step=purge_step)
        self.run, self.purge, self.writer = run, purge, None

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if self.writer is None:  # made at the first step: it is where a resumed job restarts
            self.writer = self._make(step if self.purge else None)
            tags = "\n".join(f"| {k} | {v} |" for k, v in self.run.tags.items())
            self.writer.add_text("xstilts/tags", "| tag | value |\n|---|---|\n" + tags, step)
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, step, new_style=True, double_precision=True)

    log_scores = log_metrics  # the final scores: scalars at the job's last step

    def close(self, status: str = "FINISHED") -> None:
        if self.writer is not None:
            self.writer.close()


class MlflowTracker:
    """A run in an MLflow store: MLFLOW_TRACKING_URI, else a file store in DIR/mlruns.

    The run is found again by its tag `xstilts.job` (the job's key)."""

    def __init__(self, root: Path, run: TrackedRun, purge: bool):
        _require("mlflow")
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # mlflow-skinny has no database store; its file store needs this opt-in
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = (root / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(run.experiment)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(run.experiment)
            except Exception:  # another worker made it first
                experiment_id = self.client.get_experiment_by_name(run.experiment).experiment_id
        else:
            experiment_id = experiment.experiment_id
        found = self.client.search_runs([experiment_id],
                                        filter_string=f"tags.`xstilts.job` = '{run.key}'")
        if found:
            self.run_id = found[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            tags = {**run.tags, "xstilts.job": run.key}
            self.run_id = self.client.create_run(experiment_id, run_name=run.name,
                                                 tags=tags).info.run_id
            from mlflow.entities import Param

            try:
                self.client.log_batch(self.run_id, params=[
                    Param(k, str(v)[:6000]) for k, v in flatten(run.params).items()])
            except Exception:  # the backend is dropped: its run must not stay RUNNING
                with contextlib.suppress(Exception):
                    self.client.set_terminated(self.run_id, "FAILED")
                raise

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step)
                                                    for k, v in metrics.items()])

    log_scores = log_metrics  # the final scores: metrics at the job's last step

    def close(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)


class WandbTracker:
    """A W&B run with the job's key as its id (set WANDB_MODE=offline to keep it local);
    files in DIR/wandb/ (W&B's own folder name under DIR)."""

    def __init__(self, root: Path, run: TrackedRun, purge: bool):
        wandb = _require("wandb")
        root.mkdir(parents=True, exist_ok=True)
        # W&B names a run's folder by the second it starts (`offline-run-%Y%m%d_%H%M%S-ID`):
        # a run reopened within the same second (a tiny job's scores) would write over it.
        while any((root / "wandb").glob(f"*run-{time.strftime('%Y%m%d_%H%M%S')}-{run.key}")):
            time.sleep(0.05)
        self.run = wandb.init(
            project=run.experiment, dir=str(root), id=run.key, name=run.name,
            # W&B tags are short strings; the full values are in the config.
            tags=[f"{k}={v}"[:64] for k, v in run.tags.items()],
            config={**flatten(run.params), **{f"tag.{k}": v for k, v in run.tags.items()}},
            resume="allow", reinit="create_new")

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def log_scores(self, metrics: dict[str, float], step: int) -> None:
        # The run's summary, not its history: the scores come at the job's last step in a
        # reopened run, and W&B drops history steps not after the run's current step.
        self.run.summary.update(dict(metrics))

    def close(self, status: str = "FINISHED") -> None:
        self.run.finish(exit_code=EXIT_CODES[status])


BACKENDS: dict[str, Callable[[Path, TrackedRun, bool], Tracker]] = {
    "tensorboard": TensorBoardTracker, "mlflow": MlflowTracker, "wandb": WandbTracker}
_WARNED: set[str] = set()  # backends that failed in this process (warned once)


class Trackers:
    """Every configured backend of one tracker run; never raises (a backend that fails
    warns once, is closed as FAILED and dropped; the job goes on). As a context manager it
    closes the runs with the block's outcome: FINISHED, FAILED on an error, KILLED on an
    interrupt."""

    def __init__(self, tracking: TrackingConfig, run: TrackedRun, purge: bool = False):
        root = Path(tracking.dir or "tracking")
        self.active: dict[str, Tracker] = {}
        for backend in tracking.backends:
            self._guard(backend, lambda b=backend: self.active.__setitem__(
                b, BACKENDS[b](root, run, purge)))

    def _guard(self, backend: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            dropped = self.active.pop(backend, None)
            if dropped is not None:  # its run ends here (writer closed, run terminated)
                with contextlib.suppress(Exception):
                    dropped.close("FAILED")
            if backend not in _WARNED:
                _WARNED.add(backend)
                logger.warning("tracking: %s failed and is off for this run (%s: %s); "
                               "training goes on", backend, type(exc).__name__, exc)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Send scalars (non-finite values are sent too; trackers show them as such)."""
        for backend, tracker in list(self.active.items()):
            self._guard(backend, lambda t=tracker: t.log_metrics(metrics, step))

    def log_record(self, record: dict) -> None:
        """Send one log.jsonl record of the training loop (a step or a dev evaluation)."""
        try:
            metrics, step = record_metrics(record), int(record["step"])
        except Exception as exc:  # a record of an unexpected shape: skipped, training goes on
            if "records" not in _WARNED:
                _WARNED.add("records")
                logger.warning("tracking: a log record was not sent (%s: %s)",
                               type(exc).__name__, exc)
            return
        if metrics:
            self.log_metrics(metrics, step)

    def log_scores(self, metrics: dict[str, float], step: int) -> None:
        """Send a run's final numbers (W&B: into the run's summary)."""
        for backend, tracker in list(self.active.items()):
            self._guard(backend, lambda t=tracker: t.log_scores(metrics, step))

    def close(self, status: str = "FINISHED") -> None:
        """End every backend's run with `status` (FINISHED, FAILED or KILLED)."""
        for backend in list(self.active):
            tracker = self.active.pop(backend)  # popped first: a failing close is not retried
            self._guard(backend, lambda t=tracker: t.close(status))

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close("FINISHED")
        else:  # KeyboardInterrupt (or SystemExit): killed; any other error: failed
            self.close("FAILED" if issubclass(kind, Exception) else "KILLED")


def record_metrics(record: dict) -> dict[str, float]:
    """Tracker scalars of a training-loop record: a step's numbers as train/<name>
    (train/loss, train/lr, ...), a dev evaluation's as dev/<task>/<metric> and dev/score."""
    if "dev" in record:
        out = {f"dev/{task}/{metric}": float(value)
               for task, metrics in record["dev"].items() for metric, value in metrics.items()
               if _number(value)}
        if _number(record.get("score")):
            out["dev/score"] = float(record["score"])
        return out
    return {f"train/{name}": float(value) for name, value in record.items()
            if name != "step" and _number(value)}


def result_metrics(per_language: dict[str, dict[str, float]],
                   average: dict[str, float]) -> dict[str, float]:
    """Tracker scalars of a target's zero-shot scores: test/<lang>/<metric>, test/avg/<metric>."""
    out = {f"test/{lang}/{metric}": float(value)
           for lang, metrics in per_language.items() for metric, value in metrics.items()}
    out.update({f"test/avg/{metric}": float(value) for metric, value in average.items()})
    return out


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def flatten(params: dict, prefix: str = "") -> dict:
    """Nested settings as dotted keys (training.learning_rate: 3e-05)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
