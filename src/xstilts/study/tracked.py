"""Which tracker run a job reports to, and the zero-shot scores sent to its target's run.

One tracker run per training job: an intermediate job's run has its training curves; a
target's run has its curves, its dev evaluations and, once every language is evaluated, its
zero-shot scores (test/<lang>/<metric> and test/avg/<metric>), so the MLflow run table and
TensorBoard's run list show one row per trained model with its final numbers beside its
settings. A target that is not trained (retrieval, mining) gets a run of its scores alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from xstilts.artifacts import content_key
from xstilts.config import TrackingConfig
from xstilts.evaluate.average import language_average
from xstilts.study.plan import ArmJobs, IntermediateJob, Plan, Setup, TargetJob
from xstilts.study.store import Store
from xstilts.tracking import TrackedRun, Trackers, check_backends, result_metrics


def resolve_tracking(tracking: TrackingConfig, out: Path, name: str) -> TrackingConfig:
    """The settings jobs use: dir absolute (default OUT/tracking), project (default `name`);
    fails here, before any work, when a backend's package is missing."""
    check_backends(tracking)
    folder = Path(tracking.dir) if tracking.dir else Path(out) / "tracking"
    return tracking.model_copy(update={"dir": str(folder.resolve()),
                                       "project": tracking.project or name})


def with_tracking(plan: Plan, tracking: TrackingConfig) -> Plan:
    """The plan with resolved tracker settings in its setup (no key changes)."""
    return dataclasses.replace(plan, setup=dataclasses.replace(plan.setup, tracking=tracking))


def _run(setup: Setup, key: str, name: str, intermediate: tuple[str, ...], target: str,
         seed: str, kind: str, params: dict) -> TrackedRun:
    tags = {**setup.tracking.tags, "study": setup.label, "intermediate": ",".join(intermediate),
            "target": target, "seed": seed, "kind": kind}
    return TrackedRun(key, name, setup.tracking.project or setup.label, tags, params)


def job_run(job: IntermediateJob | TargetJob, setup: Setup) -> TrackedRun:
    """The tracker run of a training job: its key, a readable name, the study's tags."""
    params = {"encoder": setup.encoder_name, "seed": job.seed,
              "training": job.phase.training.model_dump(mode="json")}
    if job.kind == "intermediate":
        names = tuple(t.name for t in job.tasks)
        return _run(setup, job.key, f"intermediate-{'+'.join(names)}-s{job.seed}-{job.key[:8]}",
                    names, "", str(job.seed), "intermediate", params)
    start = "+".join(job.intermediate) or "baseline"
    return _run(setup, job.key, f"target-{job.task.name}-{start}-s{job.seed}-{job.key[:8]}",
                job.intermediate, job.task.name, str(job.seed), "target", params)


def job_trackers(job: IntermediateJob | TargetJob, setup: Setup) -> Trackers:
    """The trackers a training job logs to (none configured: an empty, silent set); a
    resumed job purges (TensorBoard) the steps it logs again."""
    return Trackers(setup.tracking, job_run(job, setup), purge=True)


def track_results(plan: Plan, store: Store, ran: list[str]) -> None:
    """Send each target's zero-shot scores to its tracker run, for the arms where a job of
    that target ran in this execution (a re-run that reuses everything sends nothing)."""
    if not plan.setup.tracking.backends:
        return
    ran_keys, sent = set(ran), set()
    for arm in plan.arms:
        for target in plan.targets:
            keys = {lang: k for (t, lang), k in arm.evaluations.items() if t == target}
            outputs = {lang: store.output(k) for lang, k in keys.items()}
            trained = arm.targets.get(target)
            if not keys or any(o is None for o in outputs.values()):
                continue
            if not ran_keys & ({*keys.values(), trained} - {None}):
                continue
            run, step = _result_run(plan, store, arm, target, trained, list(keys.values()))
            if run.key in sent:  # untrained targets: arms that share the start share it
                continue
            sent.add(run.key)
            per_language = {lang: o["metrics"] for lang, o in outputs.items()}
            # The mean of results.json and the results rows: the same bits.
            average = language_average(per_language)
            with Trackers(plan.setup.tracking, run) as trackers:
                trackers.log_scores(result_metrics(per_language, average), step)


def _result_run(plan: Plan, store: Store, arm: ArmJobs, target: str, trained: str | None,
                eval_keys: list[str]) -> tuple[TrackedRun, int]:
    """The run a target's scores go to (its training job's, at its last step), or a run of
    their own for an untrained target."""
    if trained:
        job = plan.jobs[trained]
        return job_run(job, plan.setup), int((store.output(trained) or {}).get("steps") or 0)
    key = content_key({"target": target, "evaluations": sorted(eval_keys)})
    start = "+".join(arm.arm.tasks) or "baseline"
    return _run(plan.setup, key, f"evaluate-{target}-{start}-{key[:8]}", arm.arm.tasks, target,
                "", "evaluation", {"encoder": plan.setup.encoder_name}), 0
