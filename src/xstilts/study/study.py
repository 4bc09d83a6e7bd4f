"""`xstilts study`: plan a study, execute what the store lacks, keep what `keep:` says, and
record one results row per arm × target × language × metric."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

from xstilts.errors import XstiltsError
from xstilts.evaluate.average import language_average
from xstilts.study import locks
from xstilts.study.execute import execute, make_backend
from xstilts.study.plan import Plan, describe_runtime
from xstilts.study.planned import PLAN_FILE, plan_into
from xstilts.study.run import failure_report
from xstilts.study.spec import Study
from xstilts.study.store import Store
from xstilts.study.tracked import track_results
from xstilts.train.distributed import world_size

logger = logging.getLogger(__name__)


def run_study(study: Study, out: Path, store_dir: Path | None = None, backend: str = "local",
              workers: int | None = None, address: str | None = None, dry_run: bool = False,
              log=None, gpu: str = "h100", mfu: float = 0.4) -> dict:
    """Plan, then (unless dry_run) execute; returns the plan's counts and what happened
    (a dry run: the counts, `dry_run`, the text of what would run and its cost on `gpu` at
    `mfu`, and `cost`: study/dry_run.py). Progress lines go to the `xstilts` logger, or
    `log`."""
    if world_size() > 1:  # every rank would run the whole study and write the same store
        raise XstiltsError(
            "xstilts study does not run under a data-parallel launch (accelerate launch / "
            f"torchrun set WORLD_SIZE={world_size()}): it trains one job per GPU instead.\n"
            "  fix: run it as one process, `xstilts study STUDY.yaml --out DIR --workers N` "
            "(N: your GPUs); `accelerate launch` is for one large `xstilts run`.")
    out = Path(out)
    if dry_run:  # also before the data is on disk
        from xstilts.study.dry_run import dry_run_study

        return dry_run_study(study, out, store_dir, gpu, mfu)
    runner = make_backend(backend, workers, address)
    try:  # jobs are keyed for the device they run on: a Ray cluster's may not be this one's
        plan, store = plan_into(study, out, store_dir, device=runner.device)
    except BaseException:
        runner.close()
        raise
    execution = execute(plan, store, runner, log=log)
    track_results(plan, store, execution.ran)
    drop_unneeded_weights(plan, store, study)
    store.write_results(result_rows(plan, store, study), study=study.spec.name)
    say = log or logger.info
    say(f"study {study.spec.name}: {len(execution.ran)} job(s) ran, "
        f"{len(execution.reused)} reused, {len(execution.failed)} failed, "
        f"{len(execution.blocked)} blocked ({execution.seconds:.0f} s); results in {store.db}")
    report_study(out, study.spec.name, log)
    if execution.failed:
        raise XstiltsError(failure_report(plan, execution))
    return {"planned": plan.count(), "ran": execution.ran, "reused": execution.reused}


def report_study(out: Path, name: str, log=None) -> None:
    """Write the study's report into `out`; a failure is said, never raised: the results
    are in the store already, and `xstilts report OUT` can try again."""
    try:
        from xstilts.study.report import write_report

        written = write_report(out, name)
        (log or logger.info)(f"report: {written['report.html']}")
    except Exception as exc:  # any failure here must not hide the results
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        (log or logger.warning)(
            f"report not written ({type(exc).__name__}: {first}); the results are in the "
            f"store.\n  fix: see the message, then run `xstilts report {out}`.")


def result_rows(plan: Plan, store: Store, study: Study) -> list[tuple]:
    """Results rows of every arm whose evaluations are done, with per-target averages."""
    rows = []
    for arm in plan.arms:
        k, n_langs = len(arm.arm.tasks), study.n_languages(arm.arm.tasks)
        head = (study.spec.name, arm.arm.run_id, ",".join(arm.arm.tasks), k, n_langs,
                arm.arm.intermediate_seed, arm.arm.target_seed)
        for target in plan.targets:
            outputs = {lang: (key, store.output(key)) for (t, lang), key in
                       arm.evaluations.items() if t == target}
            for lang, (key, output) in outputs.items():
                if output is not None:
                    rows += [(*head, target, lang, m, float(v), key)
                             for m, v in output["metrics"].items()]
            if outputs and all(o is not None for _, o in outputs.values()):
                average = language_average({lang: o["metrics"] for lang, (_, o) in
                                            outputs.items()})
                rows += [(*head, target, "avg", m, value, "") for m, value in average.items()]
    return rows


def drop_unneeded_weights(plan: Plan, store: Store, study: Study) -> None:
    """Delete checkpoint weights that `keep:` does not keep, once no job of this plan that
    still lacks its output needs them (metrics, predictions, logs and summaries stay).
    Weights another process may still load (it holds their use lock, study/locks.py) are
    left for a later run to drop."""
    keep = study.spec.keep
    waiting = [j for j in plan.jobs.values() if store.output(j.key) is None]
    needed = {d for j in waiting for d in j.deps}
    for job in plan.jobs.values():
        wanted = {"intermediate": keep.intermediate_weights, "target": keep.target_weights}
        if job.kind == "evaluation" or wanted[job.kind] or job.key in needed:
            continue
        with locks.dropping(store.root, job.key) as free:
            output = store.output(job.key)  # read under the lock: another study may drop too
            if output is None or output.get("weights_dropped"):
                continue
            if free:
                drop_weights(store, job)
            else:
                logger.info(f"keeping the weights of {job.label} ({job.key}) for now: "
                            "another process may load them")


def drop_weights(store: Store, job) -> None:
    """Delete one finished job's `best/` and `last/` (its use lock held exclusively)."""
    # The record first: killed after it, the job is retrained when needed (and leftover
    # weights are harmless); the other way round, a record would claim deleted weights.
    store.drop_weights(job)
    # `last/` before `best/`, each renamed away whole: a retrain never resumes from a
    # half-deleted state, nor from a finished one whose best/ is gone.
    folder = store.path(job)
    for part in ("last", "best"):
        if (folder / part).exists():
            trash = folder / f".{part}.dropped"
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(folder / part, trash)
            shutil.rmtree(trash, ignore_errors=True)


def study_status(folder: Path) -> str:
    """done / running / failed / blocked / pending per job kind, from plan.json and the store."""
    path = Path(folder) / PLAN_FILE
    if not path.exists():
        raise XstiltsError(f"{folder}: no {PLAN_FILE}.\n  fix: give the --out folder of an "
                           "`xstilts study` run.")
    plan = json.loads(path.read_text(encoding="utf-8"))
    store = Store(plan["store"])
    statuses = store.statuses()
    table = {}
    for key, job in plan["jobs"].items():
        if store.output(key) is not None:
            status = "done"
        else:
            status = statuses.get(key, "pending")
            status = "pending" if status == "done" else status
        table.setdefault(job["kind"], Counter())[status] += 1
    columns = ("done", "running", "failed", "blocked", "pending")
    runtime = plan.get("runtime")
    lines = [f"study {plan['study']} (store {plan['store']})",
             "runtime (in every job key): " + (describe_runtime(runtime) if runtime else
                                               "not recorded (planned by an older xstilts)"),
             f"{'jobs':<14}" + "".join(f"{c:>9}" for c in columns)]
    for kind in ("intermediate", "target", "evaluation"):
        row = table.get(kind, Counter())
        lines.append(f"{kind:<14}" + "".join(f"{row[c]:>9}" for c in columns))
    return "\n".join(lines) + "\n('running' also means interrupted: the same command continues)"
