"""`xstilts study STUDY.yaml --dry-run`: the jobs a study plans per phase and what they cost
(study/cost.py), before any work and before its data is on disk.

Where every split the study reads is on this machine (files, generated suites, a hub
mirror) and the encoder is too, the plan is the one a run compiles: its keys are looked up
in the store ("in store", "to run") and plan.json is written, as before a run. Otherwise
nothing is read or downloaded: the jobs are compiled from the study alone (the same
deduplication, with no keys to look up), and the output says why the store was not checked.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from xstilts.study.cost import KINDS, Cost, estimate
from xstilts.study.plan import Plan, Setup, compile_plan, describe_runtime
from xstilts.study.spec import Study
from xstilts.tasks.hub import mirror_root
from xstilts.tasks.resolve import resolve_tasks
from xstilts.tasks.splits import needed_splits
from xstilts.tasks.task import HubSource, sources_of

BUILT_IN_ENCODERS = ("tiny-random", "e5-small")


def not_here(study: Study) -> list[str]:
    """Why this study's plan cannot be compiled here without reading the network: tasks
    that read the hub (no mirror), tasks whose files are missing, a hub encoder whose
    config is not cached. Empty: everything is on this machine."""
    base = study.base
    tasks = resolve_tasks(base, study.spec.pool)
    hub, missing = [], []
    for task, split, lang in needed_splits(tasks, base.targets.tasks, base.targets.eval_split):
        languages = [lang] if lang else list(task.train_languages or [task.train_language])
        if any(s.has(split) and not mirror_root(s) for s in sources_of(task.source,
                                                                       HubSource)):
            hub.append(task.name)
        elif task.source.has(split) and not _generated(task) and \
                len(task.local_files(split, languages)) < len(languages):
            missing.append(task.name)
    reasons = []
    if hub:
        reasons.append(f"{_names(hub)} read the hub")
    if missing:
        reasons.append(f"the files of {_names(missing)} are not on disk")
    name = base.encoder.name
    if name not in BUILT_IN_ENCODERS and not Path(name).expanduser().exists() \
            and not _cached_config(name):
        reasons.append(f"encoder {name}'s config is not in the Hugging Face cache")
    return reasons


def _generated(task) -> bool:
    from xstilts.tasks.task import GeneratedSource

    return isinstance(task.source, GeneratedSource)


def _names(names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    shown = ", ".join(unique[:6]) + (f" and {len(unique) - 6} more" if len(unique) > 6 else "")
    return f"task(s) {shown}"


def _cached_config(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # not a hub id: resolving it fails later, with its own message
        return False


def offline_plan(study: Study) -> Plan:
    """The study's jobs compiled from its spec alone (no data read, no encoder resolved):
    the counts and settings of the real plan, its keys standing for no stored work."""
    base = study.base
    tasks = resolve_tasks(base, study.spec.pool)
    setup = Setup(base.encoder.name, base.encoder.name, {"not resolved": base.encoder.name},
                  base.encoder, study.spec.name)
    return compile_plan(base, tasks, study.arms(), setup)


def dry_run_study(study: Study, out: Path, store_dir: Path | None = None, gpu: str = "h100",
                  mfu: float = 0.4) -> dict:
    """The dry run's counts and text; plan.json in `out` when the plan is the real one."""
    from xstilts.study.planned import plan_into

    reasons = not_here(study)
    held, store_root, runtime = None, None, None
    if not reasons:
        plan, store = plan_into(study, out, store_dir)
        held = Counter(j.kind for j in plan.jobs.values() if store.output(j.key) is not None)
        store_root, runtime = store.root, plan.setup.runtime
    else:
        plan = offline_plan(study)
    cost = estimate(plan, study.spec.keep, study.base.encoder.name, gpu, mfu,
                    read_files=not reasons)
    lines = [f"study {study.spec.name}: {len(plan.arms)} arm(s), encoder "
             f"{study.base.encoder.name}" + (f"; store {store_root}" if store_root else "")]
    if runtime:
        lines.append(f"runtime (in every job key): {describe_runtime(runtime)}")
    lines += cost_table(plan, cost, held) + cost_notes(study, cost)
    if reasons:
        lines.append("store not checked (nothing read or downloaded): " + "; ".join(reasons))
    return {"planned": plan.count(), "dry_run": "\n".join(lines), "cost": cost}


def cost_table(plan: Plan, cost: Cost, held: Counter | None) -> list[str]:
    """Jobs per kind (planned, in store, to run), tokens, FLOPs and GPU-hours."""
    counts = plan.count()
    lines = [f"{'jobs':<14}{'planned':>9}{'in store':>10}{'to run':>8}{'tokens':>11}"
             f"{'FLOPs':>11}{'GPU-h':>10}"]
    rows = [(kind, counts[kind], [cost.kinds[kind]]) for kind in KINDS]
    for label, count, kinds in rows + [("total", sum(counts.values()), cost.kinds.values())]:
        tokens, flops = sum(k.tokens for k in kinds), sum(k.flops for k in kinds)
        unknown = sum(k.unknown for k in kinds)
        in_store = "-" if held is None else (sum(held.values()) if label == "total"
                                              else held[label])
        to_run = "-" if held is None else count - in_store
        if cost.size is None or (count and unknown == count):
            figures = ["?", "?", "?"]
        else:  # *: without the jobs whose size is unknown (named below)
            mark = "*" if unknown else ""
            figures = [f"{tokens:.3g}{mark}", f"{flops:.3g}{mark}",
                       f"{_hours(cost.gpu_hours(flops))}{mark}"]
        lines.append(f"{label:<14}{count:>9}{in_store:>10}{to_run:>8}{figures[0]:>11}"
                     f"{figures[1]:>11}{figures[2]:>10}")
    return lines


def _hours(hours: float) -> str:
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.3g}"


def cost_notes(study: Study, cost: Cost) -> list[str]:
    """What the figures assume: N, the GPU, the budgets, kept weights, split sizes."""
    lines = []
    if cost.size is None:
        lines.append(f"cost: unknown, encoder {study.base.encoder.name}'s config is not known "
                     "offline (give a local folder with its config.json, or download it once)")
        return lines
    size = cost.size
    lines.append(f"FLOPs: 6 x N x training tokens, 2 x N x evaluation tokens; N = "
                 f"{size.non_embedding:,} non-embedding parameters ({size.source}); tokens "
                 "with every sequence at its task's max_length (an upper bound)")
    lines.append(f"GPU-hours: {cost.gpu} at {cost.peak / 1e12:,.0f} TFLOP/s dense bf16 peak "
                 f"x {cost.mfu:.0%} MFU")
    regimes = [r for r in study.regimes() if r]
    if regimes:
        lines.append("budgets: " + "; ".join(r.describe() for r in regimes))
    if any(cost.kept.values()):
        each = cost.checkpoint_bytes
        kept = ", ".join(f"{n} {kind}" for kind, n in cost.kept.items() if n)
        lines.append(f"disk for kept weights: {kept} checkpoint(s) x {_bytes(each)} (best/ "
                     f"+ last/ with optimizer state) = {_bytes(cost.disk_bytes)}")
    sizes = cost.sizes
    found = ", ".join(f"{n} {source}" for source, n in sorted(sizes.sources.items())
                      if source != "unknown")
    line = f"split sizes: {found}" if found else "split sizes: none needed"
    if sizes.approximate:
        line += f" (approximate: {', '.join(sorted(sizes.approximate))})"
    lines.append(line)
    unknown = {kind: k.unknown for kind, k in cost.kinds.items() if k.unknown}
    if unknown:
        lines.append(f"not costed (*): {json.dumps(unknown)[1:-1]} job(s) without a known size "
                     f"({', '.join(sorted(sizes.unknown))}); fix: declare the sizes with the "
                     "task option `sizes`, e.g. task_options: {TASK: {sizes: {train: N, dev: "
                     "N, test: N}}}")
    return lines


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"
