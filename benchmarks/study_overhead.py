"""Study overhead: a study of about 20 tiny jobs (tiny-random, the demo suite, one training
step per phase), timed part by part, then run again with every job reused.

The jobs are as small as a job can be, so their own seconds are nearly all fixed cost (load
the model, featurise, write the checkpoint, evaluate); the driver's share is what is left of
the execution's wall clock once the jobs' own seconds are taken out.

Pool of P demo tasks, sizes 0 and 1, one target (demo-nli) evaluated in German:
jobs = 2 (baseline: target + evaluation) + 3 per pool task (intermediate, target, evaluation).

`--noop-jobs N`: the driver alone at a paper study's scale: a plan of about N jobs that do
nothing (per intermediate checkpoint 7 target trainings, each evaluated in 23 languages: the
proportions of issue 27's 41-task study, 330 / 2,317 / 53,622 jobs), run by the real
executor (`study/execute.py`: schedule, store job log, pins, progress) against a real store;
each job's only work is the record its worker writes. Driver time per job = the execution's
wall clock less those writes; peak memory from the process's peak RSS. Then the same plan
again (every job reused) and the one line that says so.

Usage: python benchmarks/study_overhead.py [--jobs 20] [--workers N] [--quick]
       python benchmarks/study_overhead.py --noop-jobs 50000 [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench_common import add_common_arguments, print_table

POOL = ["demo-topic-en", "demo-pos-en", "demo-topic-de", "demo-topic-zh", "demo-mc-en",
        "demo-nli-es", "demo-mc-es", "demo-mc-ru", "demo-qa-ru"]
COLUMNS = ["part", "jobs", "seconds", "s per job", "share"]


def study_spec(args, pool: list[str]) -> dict:
    """The study: tiny data, `--steps` steps per phase, one dev evaluation."""
    training = {"max_steps": args.steps, "batch_size": 4, "learning_rate": 1.0e-3,
                "max_length": 32, "evaluations": 1, "eval_batch_size": 16}
    return {"name": "overhead", "pool": pool, "sizes": [0, 1], "draw": "all",
            "seeds": {"intermediate": [0], "target": [0]},
            "base": {"encoder": {"name": args.encoder},
                     "suites": {"demo": {"sizes": {"train": 16, "dev": 8, "test": 8},
                                         "seed": 0}},
                     "intermediate": {"training": training},
                     "targets": {"tasks": ["demo-nli"], "languages": {"demo-nli": ["de"]},
                                 "training": training}}}


def timed_study(study, out: Path, workers: int | None) -> dict:
    """The steps of `xstilts.study.study.run_study`, each timed (seconds by part)."""
    from xstilts.artifacts import write_json_atomic
    from xstilts.study.execute import execute, make_backend
    from xstilts.study.planned import PLAN_FILE, describe, plan_study
    from xstilts.study.store import Store
    from xstilts.study.study import drop_unneeded_weights, report_study, result_rows

    said = []
    quiet = said.append  # the study's own lines are not the benchmark's
    times = {}
    started = time.perf_counter()
    plan = plan_study(study)
    store = Store(out / "store")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / PLAN_FILE, describe(plan, study, store))
    times["plan"] = time.perf_counter() - started
    mark = time.perf_counter()
    execution = execute(plan, store, make_backend("local", workers), log=quiet)
    times["execute"] = time.perf_counter() - mark
    mark = time.perf_counter()
    drop_unneeded_weights(plan, store, study)
    store.write_results(result_rows(plan, store, study))
    times["results"] = time.perf_counter() - mark
    mark = time.perf_counter()
    report_study(out, study.spec.name, quiet)
    times["report"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    if execution.failed:
        sys.exit(f"{len(execution.failed)} job(s) failed: {execution.failed}")
    if not any("report:" in line for line in said):
        sys.exit("the study's report was not written:\n" + "\n".join(said[-5:]))
    jobs = {}  # kind -> the jobs' own seconds, from their records
    for key in execution.ran:
        record = json.loads(store.record_path(key).read_text(encoding="utf-8"))
        jobs.setdefault(record["kind"], []).append(float(record["seconds"]))
    return {"times": times, "jobs": jobs, "ran": len(execution.ran),
            "reused": len(execution.reused), "planned": sum(plan.count().values())}


NOOP_COLUMNS = ["part", "jobs", "seconds", "ms per job", "memory"]
TARGETS_PER_CHECKPOINT, LANGUAGES_PER_TARGET = 7, 23
DRIVER_TARGET_MS = 2.0  # issue 27: the driver's share of a job, at most


def noop_plan(jobs: int) -> SimpleNamespace:
    """About `jobs` jobs in a study's shape (keys of the store's length, plan order:
    dependencies first), as the executor reads a plan: jobs by key, the setup's label."""
    per_checkpoint = 1 + TARGETS_PER_CHECKPOINT * (1 + LANGUAGES_PER_TARGET)
    plan = {}

    def add(key: str, kind: str, deps: tuple[str, ...], folder: str) -> None:
        plan[key] = SimpleNamespace(key=key, kind=kind, label=f"{kind} {key}", deps=deps,
                                    folder=folder)

    for c in range(max(1, -(-jobs // per_checkpoint))):
        inter = f"{c:06x}0000000000"
        add(inter, "intermediate", (), f"checkpoints/intermediate-{inter}")
        for t in range(TARGETS_PER_CHECKPOINT):
            target = f"{c:06x}{t + 1:02x}00000000"
            add(target, "target", (inter,), f"checkpoints/target-t{t}-{target}")
            for lang in range(LANGUAGES_PER_TARGET):
                key = f"{c:06x}{t + 1:02x}{lang + 1:02x}000000"
                add(key, "evaluation", (target,), f"evaluations/t{t}-l{lang}-{key}")
    return SimpleNamespace(jobs=plan, setup=SimpleNamespace(label="noop"))


class NoopBackend:
    """Jobs that do nothing but write their record, as a worker does once a job is done
    (timed apart: a worker's share, not the driver's)."""

    capacity = 1

    def __init__(self):
        self.writing, self.waiting = 0.0, {}

    def submit(self, job, setup, root, folders, threads):
        from xstilts.study.claim import RECORDED, Outcome
        from xstilts.study.store import write_record

        started = time.perf_counter()
        write_record(root, job, {"metrics": {}}, 0.0)
        self.writing += time.perf_counter() - started
        self.waiting[job.key] = Outcome(True, {"metrics": {}}, 0.0, RECORDED)
        return job.key

    def wait(self, handles):
        return handles[0], self.waiting.pop(handles[0])

    def close(self) -> None:
        pass


def rss_mib() -> float:
    """This process's resident memory now (MiB; Linux), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def noop_driver(jobs: int) -> None:
    """The executor over `jobs` no-op jobs, then again with every job reused."""
    from xstilts.study.execute import execute  # (and torch: before the memory baseline)
    from xstilts.study.store import Store

    started = time.perf_counter()
    plan = noop_plan(jobs)
    planned = time.perf_counter() - started
    n = len(plan.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        store, backend, said = Store(Path(tmp) / "store"), NoopBackend(), []
        before = rss_mib()
        mark = time.perf_counter()
        first = execute(plan, store, backend, log=said.append)
        wall = time.perf_counter() - mark
        peak = peak_rss_mib()
        if len(first.ran) != n:
            sys.exit(f"{n - len(first.ran)} no-op job(s) did not run: {first.failed}")
        again_said = []
        mark = time.perf_counter()
        again = execute(plan, store, NoopBackend(), log=again_said.append)
        rerun = time.perf_counter() - mark
    driver = wall - backend.writing
    rows = [["plan (no-op jobs, in memory)", n, planned, planned / n * 1e3, "-"],
            ["execute (wall)", n, wall, wall / n * 1e3,
             f"peak RSS {peak:,.0f} MiB ({peak - before:+,.0f} MiB)"],
            ["workers: job records written", n, backend.writing, backend.writing / n * 1e3,
             "-"],
            ["driver (wall - workers)", n, driver, driver / n * 1e3, "-"],
            [f"rerun: {len(again.reused)} reused, {len(again.ran)} ran", n, rerun,
             rerun / n * 1e3, "-"]]
    kinds = {}
    for job in plan.jobs.values():
        kinds[job.kind] = kinds.get(job.kind, 0) + 1
    print_table(f"Study driver: {n} no-op jobs ({kinds['intermediate']} intermediate, "
                f"{kinds['target']} target, {kinds['evaluation']} evaluation), one at a time",
                NOOP_COLUMNS, rows)
    print()
    verdict = "met" if driver / n * 1e3 <= DRIVER_TARGET_MS else "NOT met"
    print(f"driver {driver / n * 1e3:.2f} ms per job: target <= {DRIVER_TARGET_MS:g} ms {verdict}")
    summary = [line for line in again_said if "reusing" in line]
    print(f"rerun said {len(again_said)} line(s): " + " | ".join(summary or again_said))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, steps=1, steps_help="training steps per phase")
    parser.set_defaults(encoder="tiny-random")
    parser.add_argument("--jobs", type=int, default=20, help="about this many jobs [20]")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: jobs run in this process)")
    parser.add_argument("--noop-jobs", type=int, default=None, metavar="N",
                        help="the driver alone over a plan of about N no-op jobs (50000: "
                             "a paper-scale study); --quick: 2000")
    args = parser.parse_args()
    if args.noop_jobs is not None:
        noop_driver(min(args.noop_jobs, 2000) if args.quick else args.noop_jobs)
        return
    if args.quick:
        args.jobs, args.steps, args.encoder = min(args.jobs, 8), 1, "tiny-random"
    if args.encoder == "auto":
        args.encoder = "tiny-random"
    pool = POOL[:max(1, min(len(POOL), (args.jobs - 2) // 3))]

    import yaml

    from xstilts.models.encoder import quiet_transformers
    from xstilts.study.planned import plan_study
    from xstilts.study.spec import load_study
    from xstilts.tasks import loading

    quiet_transformers()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "overhead.yaml"
        path.write_text(yaml.safe_dump(study_spec(args, pool)), encoding="utf-8")
        study = load_study(path)
        plan_study(study)  # builds the encoder once (tiny-random's tokenizer): not planning
        loading._SPLITS.clear()  # but the data is read again, as by a new process
        with contextlib.redirect_stdout(io.StringIO()):  # the jobs' progress lines
            first = timed_study(study, Path(tmp) / "out", args.workers)
            again = timed_study(study, Path(tmp) / "out", args.workers)
    n = first["ran"]
    times, jobs = first["times"], first["jobs"]
    own = sum(sum(v) for v in jobs.values())
    rows = [["plan (tasks, encoder, job keys)", n, times["plan"], times["plan"] / n]]
    for kind in ("intermediate", "target", "evaluation"):
        if kind in jobs:
            rows.append([f"{kind} jobs (own seconds)", len(jobs[kind]), sum(jobs[kind]),
                         sum(jobs[kind]) / len(jobs[kind])])
    driver = times["execute"] - own if not args.workers else times["execute"]
    rows.append(["driver between jobs" if not args.workers else "execute (wall, parallel)",
                 n, driver, driver / n])
    rows.append(["results rows + keep", n, times["results"], times["results"] / n])
    rows.append(["report", n, times["report"], times["report"] / n])
    overhead = times["total"] - own
    rows.append(["overhead: total - jobs' own", n, overhead, overhead / n])
    rows.append(["total", n, times["total"], times["total"] / n])
    rows.append([f"rerun in this process: {again['reused']} reused, {again['ran']} ran",
                 again["planned"],
                 again["times"]["total"], again["times"]["total"] / again["planned"]])
    for row in rows:
        row.append(f"{row[2] / times['total']:.0%}")
    rows[-1][-1] = "-"
    workers = f"{args.workers} worker processes" if args.workers else "jobs in one process"
    print_table(f"Study overhead: {n} jobs, {args.encoder}, {args.steps} step(s) per phase, "
                f"{workers}", COLUMNS, rows)


if __name__ == "__main__":
    main()
