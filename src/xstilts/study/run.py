"""`xstilts run`: one configuration as a study of one arm, executed into OUT (its store)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from xstilts.artifacts import content_key, write_json_atomic, write_text_atomic
from xstilts.config import RunConfig
from xstilts.errors import XstiltsError
from xstilts.evaluate.average import language_average
from xstilts.evaluate.store import record_run
from xstilts.formats import get_format
from xstilts.models.forward import default_device
from xstilts.preflight import dropped_rows
from xstilts.progress import release_log
from xstilts.study.data_parallel import execute_data_parallel
from xstilts.study.execute import Execution, execute, make_backend
from xstilts.study.plan import Arm, Plan, compile_plan, describe_runtime
from xstilts.study.prepare import prepare
from xstilts.study.store import Store
from xstilts.study.tracked import resolve_tracking, track_results, with_tracking
from xstilts.train.distributed import DataParallel, world_size

logger = logging.getLogger(__name__)


def run_config(config: RunConfig, out: Path, db: Path | None = None,
               device: torch.device | None = None, store: Path | None = None) -> dict | None:
    """Plan and execute one configuration (artifacts in `store`, default `out`); write
    results.json, predictions/, labels/ and the results database into `out`; raise after
    writing them if any job failed. Under `accelerate launch` (study/data_parallel.py) the
    ranks other than 0 return None."""
    tracking = resolve_tracking(config.tracking, out, "xstilts")  # a missing package fails here
    parallel = DataParallel() if world_size() > 1 else None  # under `accelerate launch`
    if parallel and not parallel.is_main:
        parallel.wait()  # rank 0 prepares first (encoder conversion, caches), then the rest
    device = device or torch.device(default_device())
    tasks, setup = prepare(config, device=device)  # everything is checked before OUT is touched
    if parallel and parallel.is_main:
        parallel.wait()
    out.mkdir(parents=True, exist_ok=True)
    release_log()  # checks passed: OUT/xstilts.log gets the lines held so far
    write_json_atomic(out / "config.json", config.model_dump())
    logger.info(f"encoder {config.encoder.name} ({setup.encoder_location}); "
                f"freeze_embeddings={config.encoder.freeze_embeddings} "
                f"trim_vocab={config.encoder.trim_vocab} "
                f"freeze_layers={config.encoder.freeze_layers} "
                f"attention_dropout={config.encoder.attention_dropout} device={device}; "
                f"{describe_runtime(setup.runtime)}")
    inter = tuple(config.intermediate.tasks) if config.intermediate else ()
    plan = compile_plan(config, tasks, [Arm(inter, config.seed, config.seed)], setup)
    plan = with_tracking(plan, tracking)
    store = Store(store or out)
    if parallel:  # training on every rank, then evaluation on rank 0
        execution = execute_data_parallel(plan, store, device)
        if execution is None:
            return None  # not rank 0: rank 0 evaluates and writes the results
    else:
        execution = execute(plan, store, make_backend("local", device=str(device)))
    track_results(plan, store, execution.ran)
    results = assemble_run(plan, store, config, out, db or out / "results.sqlite", str(device),
                           dropped_rows(config, tasks))
    if execution.failed:
        raise XstiltsError(failure_report(plan, execution))
    return results


def failure_report(plan: Plan, execution: Execution) -> str:
    """Every failed job with its error, and how many could not run because of them."""
    lines = [f"{len(execution.failed)} job(s) failed"
             + (f", {len(execution.blocked)} could not run without them" if execution.blocked
                else "") + "; finished work is kept, the same command continues:"]
    for key, error in execution.failed.items():
        lines.append(f"- {plan.jobs[key].label} ({key}):\n    " + error.replace("\n", "\n    "))
    return "\n".join(lines)


def assemble_run(plan: Plan, store: Store, config: RunConfig, out: Path, db: Path,
                 device: str, dropped: dict | None = None) -> dict:
    """results.json, predictions/ and labels/ in XTREME's layout, and the results database,
    from the store's finished jobs (targets with a failed job are left out). `dropped`: rows
    left out while reading, per task and split (see `preflight.dropped_rows`)."""
    dropped = dropped or {}
    arm = plan.arms[0]
    summary = store.output(arm.intermediate) if arm.intermediate else None
    # Tracker settings change no number: the same config hash with or without them.
    results = {"config_hash": content_key(config.model_dump(exclude={"tracking"})),
               "encoder": config.encoder.name,
               "encoder_location": plan.setup.encoder_location, "device": device,
               # The forward that ran the encoder (encoder.forward resolved: hf | unpadded)
               # and the rest of what every job key holds (study/plan.py `job_runtime`).
               "forward": plan.setup.runtime.get("forward"), "runtime": plan.setup.runtime,
               "settings": {"freeze_embeddings": config.encoder.freeze_embeddings,
                            "trim_vocab": config.encoder.trim_vocab,
                            "freeze_layers": config.encoder.freeze_layers,
                            "attention_dropout": config.encoder.attention_dropout,
                            "layer_aggregation": config.encoder.layer_aggregation,
                            "forward": config.encoder.forward,
                            "label_position": config.label_position, "seed": config.seed},
               "intermediate": {"tasks": list(arm.arm.tasks),
                                "checkpoint": summary["checkpoint"] if summary else None,
                                "summary": summary["summary"] if summary else None,
                                "dropped_rows": {t: dropped[t] for t in arm.arm.tasks
                                                 if t in dropped}},
               "targets": {}}
    for name in plan.targets:
        target = target_result(plan, store, arm, name, out)
        if target is not None:
            if name in dropped:
                target["dropped_rows"] = dropped[name]
            results["targets"][name] = target
    # Every target in one transaction, even none: a changed config's first write retires
    # the folder's rows of the old one.
    record_run(db, str(out.resolve()), results["config_hash"], config.encoder.name,
               list(arm.arm.tasks), config.seed,
               {name: (t["languages"], t["average"]) for name, t in results["targets"].items()})
    write_json_atomic(out / "results.json", results)
    return results


def target_result(plan: Plan, store: Store, arm, name: str, out: Path) -> dict | None:
    """One target's entry of results.json (None if any of its jobs is unfinished)."""
    keys = {lang: key for (target, lang), key in arm.evaluations.items() if target == name}
    outputs = {lang: store.output(key) for lang, key in keys.items()}
    dev = store.output(arm.targets[name]) if arm.targets[name] else None
    if any(o is None for o in outputs.values()) or (arm.targets[name] and dev is None):
        return None
    task = plan.jobs[next(iter(keys.values()))].task
    fmt = get_format(task.format)
    for lang, key in keys.items():  # copies in XTREME's layout: OUT/predictions/<task>/...
        source = store.path(plan.jobs[key])
        for kind in ("predictions", "labels") if outputs[lang]["labels"] else ("predictions",):
            text = (source / kind / outputs[lang]["file"]).read_text(encoding="utf-8")
            write_text_atomic(out / kind / name / outputs[lang]["file"], text)
    per_language = {lang: o["metrics"] for lang, o in outputs.items()}
    average = language_average(per_language)
    any_output = next(iter(outputs.values()))
    result = {"format": task.format, "main_metric": task.options.get("main_metric",
                                                                     fmt.main_metric),
              "eval_split": plan.eval_split,
              # The split each language was scored on: a language without a dev set of its
              # own is scored on test (UD-POS kk), BUCC's oracle on dev.
              "splits": {lang: plan.jobs[key].split for lang, key in keys.items()},
              "max_length": any_output["max_length"], "languages": per_language,
              "average": average, "dev": dev, "options": task.options,
              # Scored on the first N examples only: no benchmark score (report.py).
              "test_limit": plan.jobs[next(iter(keys.values()))].phase.test_limit,
              "comparable": "not_comparable" not in task.options}
    tuned = {lang: o["tuned"] for lang, o in outputs.items() if o["tuned"]}
    if tuned:
        result["tuned_on_dev"] = tuned  # per language, e.g. {"de": {"threshold": 1.07}}
    if any(o.get("oracle") for o in outputs.values()):
        result["oracle"] = ("threshold tuned on the scored dev data itself (the paper's BUCC "
                            "dev protocol): an upper bound, not XTREME's test protocol")
    return result
