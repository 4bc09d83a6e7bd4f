"""Running one job: its phase body (study/phases.py) in a workspace built from the store.

Workers (this process, a local worker process, a Ray task) call `run_job_safely`; it never
raises, so one failed job is recorded and the jobs that do not need it go on.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import torch

from xstilts.artifacts import write_text_atomic
from xstilts.errors import XstiltsError
from xstilts.features import FeatureCache
from xstilts.models.forward import default_device
from xstilts.study.phases import Workspace, evaluate_language, train_intermediate, train_target
from xstilts.study.plan import Job, Setup, runtime_mismatch
from xstilts.study.tracked import job_run, job_trackers
from xstilts.tracking import Trackers
from xstilts.train.distributed import is_main_process


def run_job(job: Job, setup: Setup, root: Path, folders: dict[str, str],
            device: torch.device) -> dict:
    """Run one job into the store under `root`; `folders` maps its dependencies' keys to
    their folders. Returns the job's (JSON-able) output."""
    root = Path(root)
    folder = root / job.folder
    features = FeatureCache(root / "features")  # shared by every job and run of this store

    def start(key: str | None) -> str:  # an intermediate job's best, else the base encoder
        return str(root / folders[key] / "best") if key else setup.encoder_location

    def workspace(location: str, trackers: Trackers | None = None) -> Workspace:
        return Workspace(folder, location, setup.encoder, device, features,
                         trackers.log_record if trackers and trackers.active else None)

    if job.kind == "intermediate":
        with _trackers(job, setup) as trackers:
            summary = train_intermediate(job, workspace(setup.encoder_location, trackers))
        return {"summary": summary, "checkpoint": str(folder / "best")}
    if job.kind == "target":
        with _trackers(job, setup) as trackers:
            return train_target(job, workspace(start(job.start), trackers))
    # A trained target is evaluated from its best checkpoint, with its head.
    location = str(root / folders[job.model] / "best") if job.model else start(job.start)
    return evaluate_language(job, workspace(location))


def _trackers(job: Job, setup: Setup) -> Trackers:
    """The job's trackers; none on the ranks other than 0 of a data-parallel launch (one
    tracker run per job, fed by rank 0: train/loop.py)."""
    if is_main_process():
        return job_trackers(job, setup)
    return Trackers(setup.tracking.model_copy(update={"backends": []}), job_run(job, setup))


def run_job_safely(job: Job, setup: Setup, root: str, folders: dict[str, str],
                   device: str | None = None, threads: int | None = None
                   ) -> tuple[bool, dict | str, float]:
    """(ok, output or error message, seconds); a traceback of an unexpected error is kept in
    STORE/jobs/<key>.error.txt."""
    if threads:  # the driver's thread count: the same float reductions, the same numbers
        torch.set_num_threads(threads)
    started = time.perf_counter()
    device = torch.device(device or default_device())
    wrong = runtime_mismatch(setup.runtime, device.type)
    if wrong:
        return False, wrong, time.perf_counter() - started
    try:
        output = run_job(job, setup, Path(root), folders, device)
        return True, output, time.perf_counter() - started
    except XstiltsError as exc:
        return False, str(exc), time.perf_counter() - started
    except Exception as exc:  # a bug or a broken environment: keep the details for the user
        trace = Path(root) / "jobs" / f"{job.key}.error.txt"
        write_text_atomic(trace, traceback.format_exc())
        return False, f"{type(exc).__name__}: {exc} (traceback: {trace})", \
            time.perf_counter() - started
