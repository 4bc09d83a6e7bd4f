"""`xstilts run` on several GPUs at once: `accelerate launch --multi_gpu --num_processes N
-m xstilts.cli run CONFIG --out DIR`.

Every rank runs each training job of the plan together (in plan order: dependencies first;
train/distributed.py splits the batches and averages the gradients inside the phase); rank 0
alone writes the store's records, and a job is done only when it finished on every rank
(the ranks agree on each outcome, so none goes on into the next job alone). Then every rank
leaves the process group, the other ranks stop and rank 0 evaluates, as a single process
would: evaluations are short next to training, and a rank waiting for them at a barrier
would only hold its GPU (and risk the process group's timeout). A study still
runs one job per GPU (`--workers`), which keeps every GPU busy without any of this.
"""

from __future__ import annotations

import logging

import torch

from xstilts.study.backends.local import InlineBackend
from xstilts.study.execute import Execution, execute, jobs_to_run
from xstilts.study.jobs import run_job_safely
from xstilts.study.plan import Plan
from xstilts.study.store import Store
from xstilts.train.distributed import DataParallel

logger = logging.getLogger(__name__)


class EvaluationsOnly(InlineBackend):
    """Rank 0's backend after the training jobs: runs evaluations; a training job reaching it
    failed on all ranks already (its error is returned again, its dependents are blocked)."""

    def __init__(self, device: str | None, errors: dict[str, str]):
        super().__init__(device)
        self.errors = errors

    def submit(self, job, setup, root, folders, threads):
        if job.kind == "evaluation":
            return super().submit(job, setup, root, folders, threads)
        self._next += 1
        self._done[self._next] = (False, self.errors.get(
            job.key, "a training job of a data-parallel run did not finish on every rank"), 0.0)
        return self._next


def execute_data_parallel(plan: Plan, store: Store, device: torch.device,
                          log=None) -> Execution | None:
    """Run `plan` over the processes of `accelerate launch`; rank 0's Execution (None on the
    other ranks, which write nothing)."""
    par = DataParallel()
    say = log or logger.info
    todo = jobs_to_run(plan, store)
    par.wait()  # every rank has read the store before rank 0 writes to it
    done, errors = set(), {}
    ran: list[str] = []
    threads = torch.get_num_threads()
    training = [job for key, job in plan.jobs.items()
                if key in todo and job.kind != "evaluation"]
    for i, job in enumerate(training, 1):
        if not set(job.deps) & todo <= done:
            continue  # needs a training job that failed
        if par.is_main:
            store.started(job, plan.setup.label)
            say(f"[{i}/{len(training)}] start {job.label} on {par.world_size} "
                f"processes ({job.key})")
        folders = {d: plan.jobs[d].folder for d in job.deps}
        ok, payload, seconds = run_job_safely(job, plan.setup, str(store.root), folders,
                                              str(device), threads)
        # Done only where every rank finished it: the ranks agree, so none goes on into the
        # next job's collectives alone (a barrier too: this job's checkpoint is written).
        failure = par.first_failure(None if ok else str(payload))
        if failure is None:
            done.add(job.key)
            if par.is_main:
                store.finished(job, payload, seconds, plan.setup.label)
                ran.append(job.key)
                say(f"[{i}/{len(training)}] done {job.label} in {seconds:.1f} s")
        else:
            rank, error = failure
            errors[job.key] = error if rank == par.rank else f"process {rank}: {error}"
    par.close()  # every rank agreed on the last outcome; no collective follows
    if not par.is_main:
        return None
    # The evaluations (and the record of any training job that failed), in one process.
    execution = execute(plan, store, EvaluationsOnly(str(device), errors), log)
    execution.ran[:0] = ran
    return execution
