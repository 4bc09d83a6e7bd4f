"""A study's plan, compiled and described (plan.json), without torch: what a run executes
and what a dry run prints (study/dry_run.py), `xstilts study status` and the report read."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from xstilts.artifacts import write_json_atomic
from xstilts.config import PhaseConfig
from xstilts.formats.spec import format_spec
from xstilts.progress import release_log
from xstilts.study.plan import CODE_VERSION, Plan, compile_plan, describe_runtime
from xstilts.study.prepare import prepare
from xstilts.study.spec import Study
from xstilts.study.store import Store
from xstilts.study.tracked import resolve_tracking, with_tracking

PLAN_FILE = "plan.json"
logger = logging.getLogger(__name__)


def plan_study(study: Study, device: str | None = None) -> Plan:
    """The study's job graph for jobs run on `device` (default: this machine's GPU if any);
    resolves tasks and the encoder, trains nothing."""
    arms = study.arms()
    sets = tuple(dict.fromkeys(arm.tasks for arm in arms if arm.tasks))
    tasks, setup = prepare(study.base, tuple(study.spec.pool), label=study.spec.name,
                           sets=sets, device=device)
    return compile_plan(study.base, tasks, arms, setup)


def describe(plan: Plan, study: Study, store: Store) -> dict:
    """plan.json: what `xstilts study status` and `xstilts report` read."""
    return {"study": study.spec.name, "store": str(store.root.resolve()),
            "encoder": plan.setup.encoder_name, "counts": plan.count(),
            "xstilts": CODE_VERSION, "runtime": plan.setup.runtime,
            "spec": study.spec.model_dump(mode="json"),
            "pool": {t: sorted(study.languages[t]) for t in study.spec.pool},
            "targets": {name: target_description(plan, study, name) for name in plan.targets},
            "settings": {"encoder": plan.setup.encoder.model_dump(mode="json"),
                         "intermediate": (study.base.intermediate or PhaseConfig()).training
                         .model_dump(mode="json")},
            "arms": [{"run_id": a.arm.run_id, "tasks": list(a.arm.tasks),
                      "intermediate_seed": a.arm.intermediate_seed,
                      "target_seed": a.arm.target_seed, "intermediate_job": a.intermediate,
                      "budget": a.arm.budget.name if a.arm.budget else "",
                      "target_jobs": dict(a.targets)} for a in plan.arms],
            "jobs": {k: {"kind": j.kind, "label": j.label, "folder": j.folder,
                         "deps": list(j.deps)} for k, j in plan.jobs.items()}}


def target_description(plan: Plan, study: Study, name: str) -> dict:
    """A target's format, main metric, languages and training settings (for the report)."""
    jobs = [j for j in plan.jobs.values() if j.kind == "evaluation" and j.task.name == name]
    job, splits = jobs[0], {j.lang: j.split for j in jobs}
    task, phase = job.task, study.base.targets.for_task(name)
    options = json.loads(json.dumps(task.options, default=str))  # JSON-able, whatever it holds
    return {"format": task.format, "trained": format_spec(task.format).trainable,
            "languages": list(task.languages), "split": split_summary(splits),
            "splits": splits,
            "main_metric": task.options.get("main_metric", format_spec(task.format).main_metric),
            "options": options, "training": phase.training.model_dump(mode="json"),
            "test_limit": phase.test_limit}


def split_summary(splits: dict[str, str]) -> str:
    """'dev', or 'dev (test: kk, th)' where some languages are scored on another split."""
    counts = {s: sum(1 for v in splits.values() if v == s) for s in set(splits.values())}
    main = max(sorted(counts), key=counts.get)
    others = {s: sorted(lang for lang, v in splits.items() if v == s) for s in counts if s != main}
    return main + "".join(f" ({s}: {', '.join(langs)})" for s, langs in sorted(others.items()))


def plan_into(study: Study, out: Path, store_dir: Path | None = None,
              device: str | None = None) -> tuple[Plan, Store]:
    """Plan the study for `device` (everything checked), then make OUT and write its
    plan.json; the plan, its trackers resolved, and the store (default OUT/store)."""
    plan = plan_study(study, device)
    plan = with_tracking(plan, resolve_tracking(study.base.tracking, out, study.spec.name))
    store = Store(store_dir or out / "store")
    out.mkdir(parents=True, exist_ok=True)
    release_log()  # checks passed: OUT/xstilts.log gets the lines held so far
    _say_runtime_change(out / PLAN_FILE, plan.setup.runtime)
    write_json_atomic(out / PLAN_FILE, describe(plan, study, store))
    return plan, store


def _say_runtime_change(path: Path, runtime: dict) -> None:
    """Warn when OUT was planned before under another runtime: the jobs done then stay in
    the store but are not this plan's (their keys hold the other runtime), so they rerun."""
    try:
        before = json.loads(path.read_text(encoding="utf-8")).get("runtime")
    except (OSError, ValueError):  # no earlier plan, or one that cannot be read
        return
    if before and before != runtime:
        logger.warning(
            f"{path.parent} was planned for {describe_runtime(before)}; this plan is for "
            f"{describe_runtime(runtime)}. Every job key holds the runtime, so the jobs "
            "done before are not reused (they stay in the store) and the study's results "
            "are rewritten from this runtime's jobs alone.")
