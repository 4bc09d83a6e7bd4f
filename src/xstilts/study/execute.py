"""Execute a plan: run the jobs whose outputs the store does not hold, in dependency order.

A backend runs jobs (this process, local worker processes, Ray tasks); this driver asks the
schedule (study/schedule.py) what is ready, writes the store's records and prints one line
per job start and finish, and one for the jobs the store already holds (reused; a run of one
arm also names each checkpoint it reuses). A failed job is recorded with its error; jobs that need it are
recorded as blocked; the rest go on.

Other processes may share the store (study/locks.py): a worker runs a job under the job's
lock and reuses it if another process finished it meanwhile (counted as reused), and this
driver pins the checkpoints its jobs will load, so another study's `keep:` leaves them alone.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import torch

from xstilts.progress import progress
from xstilts.study.claim import RECORDED, REUSED, Outcome
from xstilts.study.locks import Pins
from xstilts.study.plan import Plan
from xstilts.study.schedule import BLOCKED, Schedule
from xstilts.study.store import Store

logger = logging.getLogger(__name__)


@dataclass
class Execution:
    """What one execution did."""

    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> error
    blocked: list[str] = field(default_factory=list)
    seconds: float = 0.0


def make_backend(name: str, workers: int | None = None, address: str | None = None,
                 device: str | None = None):
    """The backend called `name` (local: in this process, or `workers` processes)."""
    if name == "ray":
        from xstilts.study.backends.ray import RayBackend

        return RayBackend(address=address, device=device)
    from xstilts.study.backends.local import InlineBackend, ProcessBackend

    if workers and workers > 1:
        return ProcessBackend(workers, device=device)
    return InlineBackend(device=device)


def jobs_to_run(plan: Plan, store: Store) -> set[str]:
    """Jobs without output, and finished jobs whose weights were dropped (`keep:`) that one
    of those needs (trained again: the same seed gives the same model on CPU)."""
    todo = {k for k in plan.jobs if store.output(k) is None}
    grew = True
    while grew:
        needed = {d for k in todo for d in plan.jobs[k].deps} - todo
        again = {d for d in needed if (store.output(d) or {}).get("weights_dropped")}
        grew = bool(again)
        todo |= again
    return todo


def pinned_jobs_to_run(plan: Plan, store: Store, pins: Pins) -> set[str]:
    """`jobs_to_run`, with the checkpoints those jobs load pinned; looking again once they
    are pinned catches weights another process dropped before they were."""
    while True:
        todo = jobs_to_run(plan, store)
        if not pins.hold({key: plan.jobs[key].deps for key in todo}):
            return todo


def reuse_summary(total: int, reused: Counter, root) -> str:
    """One line for what a run will do and what it reuses (a study reused whole says so in
    this one line, not one per job: a paper-scale study has 56,000)."""
    kinds = ", ".join(f"{reused[kind]} {kind}" for kind in ("intermediate", "target",
                                                               "evaluation") if reused[kind])
    n = sum(reused.values())
    if not total:
        return f"reusing {n} job(s) already in {root} ({kinds}); nothing to run" if n else \
            "nothing to run"
    return f"{total} job(s) to run, {n} already in {root}" + (f" (reused: {kinds})" if n else "")


def execute(plan: Plan, store: Store, backend=None, log=None) -> Execution:
    """Run every job of `plan` not yet in `store`; returns what ran, failed or was reused
    (one line per job start and finish: the `xstilts` logger, or `log`)."""
    backend = backend or make_backend("local")
    say, warn = log or logger.info, log or logger.warning
    started_at = time.perf_counter()
    pins = Pins(store.root)
    try:
        with store.job_log():
            return _execute(plan, store, backend, pins, pinned_jobs_to_run(plan, store, pins),
                            say, warn, started_at)
    finally:
        backend.close()  # its workers are done with the pinned checkpoints first
        pins.close()


def _execute(plan: Plan, store: Store, backend, pins: Pins, todo_keys: set[str], say, warn,
             started_at: float) -> Execution:
    result = Execution()
    statuses = store.statuses()
    todo, reused = [], Counter()
    each = len(getattr(plan, "arms", ())) == 1  # a run: its few checkpoints by name
    for job in plan.jobs.values():
        if job.key in todo_keys:
            todo.append(job)
        else:
            result.reused.append(job.key)
            reused[job.kind] += 1
            if statuses.get(job.key) != "done":  # killed between its record and its log
                store.reconcile(job, plan.setup.label)
            if each and job.kind != "evaluation":
                say(f"reusing {job.label} ({job.key}): {store.path(job)}")
    total, finished = len(todo), 0
    say(reuse_summary(total, reused, store.root))
    # The study-level bar (stderr); job lines go above it.
    bar = progress(total=total, desc=plan.setup.label, unit="job",
                   level=logging.INFO if total else None)
    threads = torch.get_num_threads()
    schedule = Schedule([job.key for job in todo], {job.key: job.deps for job in todo})
    running = {}
    try:
        while True:
            for event, key in schedule.next_round(backend.capacity - len(running)):
                job = plan.jobs[key]
                if event == BLOCKED:
                    result.blocked.append(job.key)
                    pins.done(job.key, job.deps)
                    store.failed(job, "a job it needs failed", plan.setup.label, "blocked")
                    finished += 1
                    bar.update(1)
                    warn(f"[{finished}/{total}] blocked {job.label} ({job.key})")
                else:
                    store.started(job, plan.setup.label)
                    say(f"[{finished + 1}/{total}] start {job.label} ({job.key})")
                    folders = {d: plan.jobs[d].folder for d in job.deps}
                    running[backend.submit(job, plan.setup, str(store.root), folders,
                                           threads)] = job
            if not running:
                break  # nothing left that can start (all remaining are blocked)
            handle, outcome = backend.wait(list(running))
            ok, payload, seconds, how = Outcome(*outcome)
            job = running.pop(handle)
            pins.done(job.key, job.deps)
            finished += 1
            bar.update(1)
            if ok and how == REUSED:
                store.reused(job, plan.setup.label)
                schedule.done(job.key)
                result.reused.append(job.key)
                say(f"[{finished}/{total}] reused {job.label}: another process finished it")
            elif ok:
                store.finished(job, payload, seconds, plan.setup.label, recorded=how == RECORDED)
                schedule.done(job.key)
                result.ran.append(job.key)
                say(f"[{finished}/{total}] done {job.label} in {seconds:.1f} s")
            else:
                schedule.failed(job.key)
                result.failed[job.key] = payload
                store.failed(job, payload, plan.setup.label)
                warn(f"[{finished}/{total}] FAILED {job.label} ({job.key}): "
                     f"{payload.splitlines()[0]}")
    finally:
        bar.close()
    result.seconds = time.perf_counter() - started_at
    return result
