"""Command line: thin wrappers over the library; errors are one clear message and exit 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from xstilts import __version__
from xstilts.errors import XstiltsError

DESCRIPTION = """\
Intermediate-task training (STILTs) and zero-shot cross-lingual transfer: train a
multilingual encoder on intermediate tasks, fine-tune it on a target task in English,
and evaluate it zero-shot in the target's other languages."""

EPILOG = """\
main commands:
  xstilts demo --out runs/demo        the offline demo (no download, no GPU)
  xstilts run CONFIG.yaml --out DIR   one configuration (see examples/)
  xstilts study STUDY.yaml --out DIR  a scaling study over intermediate-task sets
  xstilts report DIR                  a study's report: tables, plots, intervals
  xstilts rank STUDY.yaml --out DIR   rank a study's sets before training them
  xstilts tasks -v                    the built-in tasks

`xstilts COMMAND --help` shows a command's options; README.md is the guide."""

# What a shell reports for a process that wrote into a closed pipe (128 + SIGPIPE).
CLOSED_PIPE_STATUS = 141


def output_folders(args, *flags: str) -> None:
    """Refuse output flags that name an existing file (checked before any work)."""
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value and Path(value).exists() and not Path(value).is_dir():
            raise XstiltsError(f"{value}: {flag} is a file, not a folder.\n  fix: give a "
                               "folder (it is created if missing).")


def cmd_run(args) -> int:
    from xstilts.config import load_config
    from xstilts.report import format_results
    from xstilts.study.run import run_config

    output_folders(args, "--out", "--store")
    config = load_config(args.config)
    results = run_config(config, Path(args.out), db=Path(args.db) if args.db else None,
                  store=Path(args.store) if args.store else None)
    if results is None:
        return 0  # a data-parallel run's other rank: rank 0 prints the results
    print(format_results(results))
    print(f"\nresults: {Path(args.out) / 'results.json'}   predictions: {Path(args.out) / 'predictions'}")
    return 0


def cmd_study(args) -> int:
    from xstilts.study.spec import load_study

    if args.study[0] == "status":
        from xstilts.study.study import study_status

        if len(args.study) != 2:
            raise XstiltsError("usage: xstilts study status DIR\n  fix: give one folder (a "
                               "study's --out).")
        print(study_status(Path(args.study[1])))
        return 0
    if len(args.study) != 1:
        raise XstiltsError("usage: xstilts study STUDY.yaml --out DIR (or: xstilts study "
                           "status DIR)\n  fix: give one study file.")
    if not args.out:
        raise XstiltsError("xstilts study needs --out DIR (the study's folder).\n  fix: add "
                           "--out DIR.")
    output_folders(args, "--out", "--store")
    study = load_study(args.study[0])
    select = study.spec.select
    if select is not None and not args.dry_run:  # adaptive: rank/adaptive.py
        from xstilts.rank.adaptive import run_adaptive

        run_adaptive(study, Path(args.study[0]), Path(args.out),
                     Path(args.store) if args.store else None, args.backend, args.workers,
                     args.address)
        return 0
    store = Path(args.store) if args.store else None
    if args.dry_run:  # planning only: no torch where the data is not here (study/dry_run.py)
        from xstilts.study.dry_run import dry_run_study

        print(dry_run_study(study, Path(args.out), store, args.gpu, args.mfu)["dry_run"])
        if select is not None:
            print(f"select: by {select.by}, budget {select.budget}: at most {select.budget} "
                  "of these sets are trained (with the baseline); the counts above are for "
                  "all of them")
        return 0
    from xstilts.study.study import run_study

    run_study(study, Path(args.out), store, args.backend, args.workers, args.address)
    return 0


def cmd_report(args) -> int:
    from xstilts.study.report import write_report

    output_folders(args, "--out")
    written = write_report(Path(args.dir), args.study, Path(args.out) if args.out else None,
                           latex=args.latex, csv=args.csv)
    files = [name for name in written if name.startswith("tables/")]
    print(f"report: {written['report.html']}  (also {written['report.md']}, "
          f"{written['results.csv']} and {len(written) - 3 - len(files)} plot(s))"
          + (f"; {len(files)} table file(s) in {written[files[0]].parent}" if files else ""))
    return 0


def cmd_rank(args) -> int:
    from xstilts.rank.estimates import SampleSettings
    from xstilts.rank.ranking import rank_study, summary_text
    from xstilts.study.spec import load_study

    output_folders(args, "--out")
    if args.top is not None and args.top < 1:
        raise XstiltsError(f"--top {args.top}: give the number of sets to keep (1 or more).")
    if args.examples < 2:
        raise XstiltsError(f"--examples {args.examples}: give 2 or more (per task).")
    study = load_study(args.study)
    settings = SampleSettings(examples=args.examples, seed=args.seed)
    result = rank_study(study, Path(args.study), Path(args.out), settings, args.top)
    print(summary_text(result, Path(args.out)))
    return 0


def cmd_results(args) -> int:
    from xstilts.study.score_table import average_table, render, score_table

    frame = score_table(Path(args.dir), args.target, args.metric, args.study)
    average = (average_table(Path(args.dir), args.target, args.study)
               if args.format == "table" else None)
    print(render(frame, args.format, average))
    return 0


def cmd_tasks(args) -> int:
    from xstilts.tasks.registry import builtin_tasks

    tasks = builtin_tasks()
    width = max(len(n) for n in tasks)
    for name, task in sorted(tasks.items()):
        langs = ",".join(task.languages)
        print(f"{name:<{width}}  {task.format:<15}  train={task.train_language}  test={langs}"
              + (f"  {task.description}" if args.verbose and task.description else ""))
    return 0


def cmd_demo(args) -> int:
    from xstilts.demo import run_demo

    output_folders(args, "--out")
    out = Path(args.out)
    demo = run_demo(out, quick=args.quick, encoder=args.encoder)
    print("\nZero-shot transfer by intermediate set size (trained on English only; k = mean "
          "over the sets of that size):\n" + demo["table"])
    print(f"\nwall time {demo['minutes']:.1f} min; report: {out / 'report.html'}; "
          f"results: {out / 'results.csv'}")
    return 0


def cmd_score(args) -> int:
    from xstilts.artifacts import write_json_atomic
    from xstilts.evaluate.xtreme import format_scores, score_benchmark

    result = score_benchmark(Path(args.predictions), Path(args.labels), args.benchmark,
                             args.split)
    print(format_scores(result))
    if args.json:
        write_json_atomic(args.json, result)
        print(f"\nscores: {args.json}")
    return 0


def cmd_data_check(args) -> int:
    from xstilts.tasks.check import CheckFailed, check_task, format_rows
    from xstilts.tasks.registry import resolve_task

    kind = args.source or ("local" if args.dir else "hub")
    if kind == "local" and not args.dir:
        raise XstiltsError("--source local needs the data folder.\n  fix: add --dir PATH (the "
                           "folder XTREME's download_data.sh writes).")
    if kind == "local" and not Path(args.dir).is_dir():
        raise XstiltsError(f"{args.dir}: --dir is not a folder.\n  fix: give the folder "
                           "XTREME's download_data.sh writes.")
    task = resolve_task(args.task).with_source(kind, args.dir)
    print(f"{task.name} ({kind}{', ' + args.dir if kind == 'local' else ''})")
    dropped: dict = {}
    try:
        rows = check_task(task, dropped)
    except CheckFailed as exc:  # show what did load, then every failure (exit 2 via main)
        if exc.rows:
            print(format_rows(exc.rows, dropped))
        raise
    print(format_rows(rows, dropped))
    return 0


LOG_FILE = "xstilts.log"  # in OUT of `run`, `study` and `demo`: the run's log, appended


def add_verbosity(parser: argparse.ArgumentParser, default=logging.INFO) -> None:
    """-q / -v: the console's level (the log file keeps INFO+ either way)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", dest="log_level", action="store_const",
                       const=logging.WARNING, default=default,
                       help="warnings and errors only, no progress bars")
    group.add_argument("-v", "--verbose", dest="log_level", action="store_const",
                       const=logging.DEBUG, default=default,
                       help="also debug lines (each dev evaluation, featurising for "
                       "evaluation, mining)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstilts", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"xstilts {__version__}")
    add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", required=True, title="commands",
                                metavar="COMMAND")
    p = sub.add_parser("run", help="train and evaluate one configuration (a YAML file)",
                       description="Run one configuration: optional intermediate training, "
                       "fine-tuning on each target's English data, zero-shot evaluation in "
                       "every target language.")
    p.add_argument("config", help="YAML config (see examples/)")
    p.add_argument("--out", required=True, help="output folder (results, predictions, checkpoints)")
    p.add_argument("--db", help="SQLite results store (default OUT/results.sqlite)")
    p.add_argument("--store", help="artifact store (checkpoints, evaluations) shared by runs "
                   "and studies (default OUT)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("study", help="run a scaling study (or: study status DIR)",
                       description="Run a scaling study over sets of intermediate tasks "
                       "(`xstilts study status DIR`: what is done and what is left).")
    p.add_argument("study", nargs="+", metavar="STUDY.yaml | status DIR")
    p.add_argument("--out", help="the study's folder (plan.json; the store by default)")
    p.add_argument("--store", help="artifact store shared between runs and studies "
                   "(default OUT/store)")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--workers", type=int, help="local worker processes (one per GPU)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan and its compute; run nothing")
    p.add_argument("--gpu", default="h100",
                   help="the GPU a dry run's GPU-hours are for (h100, a100, h200, l40s, ...)")
    p.add_argument("--mfu", type=float, default=0.4,
                   help="the model-FLOPs utilisation a dry run assumes (default 0.4)")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("report", help="write a study's report (HTML, markdown, plots)",
                       description="Write a study's report: report.html, report.md, "
                       "results.csv and its plots.")
    p.add_argument("dir", help="the study's --out folder (or its store folder)")
    p.add_argument("--study", help="which study, when a store folder holds several")
    p.add_argument("--out", help="where to write the report (default DIR)")
    p.add_argument("--latex", action="store_true",
                   help="also write the main tables as LaTeX (OUT/tables/*.tex)")
    p.add_argument("--csv", action="store_true",
                   help="also write the main tables as CSV (OUT/tables/*.csv)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("rank", help="rank a study's intermediate sets before training them",
                       description="Estimate, per target, how much each of a study's "
                       "intermediate sets helps, from the base encoder and small samples (no "
                       "intermediate training): text and task-embedding similarity, LogME, "
                       "language features. Writes DIR/rank.csv (the study's --out folder: its "
                       "report then compares predicted and measured gains).")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--out", required=True, help="where rank.csv goes (the study's --out folder)")
    p.add_argument("--top", type=int, help="also write a study file of the M best sets and "
                   "the baseline")
    p.add_argument("--examples", type=int, default=128, help="examples sampled per task")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and fresh heads")
    p.set_defaults(func=cmd_rank)
    p = sub.add_parser("results", help="print the scores of a run, a study or a store",
                       description="Scores per language and their average (and, as a table, "
                       "each arm's average over the targets), from a run's or a study's "
                       "folder or a store.")
    p.add_argument("dir", help="a run's --out folder, a study's --out folder or a store folder")
    p.add_argument("--target", help="only this target")
    p.add_argument("--metric", help="only this metric ('main': each target's main metric)")
    p.add_argument("--study", help="only this study (a store folder may hold several)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_results)
    p = sub.add_parser("tasks", help="list the built-in tasks")
    p.add_argument("-v", "--verbose", action="store_true", help="with their descriptions")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("demo", help="the offline demo: a small study, no download, no GPU",
                       description="The offline demo: a small scaling study with e5-small on "
                       "the built-in multilingual suite, then its report (about 15 minutes "
                       "on 2 CPU cores).")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="smaller sizes (for smoke tests)")
    p.add_argument("--encoder", default="e5-small",
                   help="encoder to use instead of e5-small (hub id, folder, tiny-random)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("score", help="score predictions as XTREME's evaluate.py does",
                       description="Score predictions in XTREME's submission layout against "
                       "gold labels, as google-research/xtreme's evaluate.py does.")
    p.add_argument("predictions", help="folder of <task>/<split>-<lang>.tsv|json predictions "
                   "(split test or dev)")
    p.add_argument("labels", help="folder of gold labels in the same layout (e.g. OUT/labels)")
    p.add_argument("--benchmark", choices=["xtreme", "xtreme-r"], default="xtreme")
    p.add_argument("--split", choices=["auto", "test", "dev"], default="auto",
                   help="which files to score: test-*, dev-* (a language without one on "
                   "test-*), or auto (each language's only split; the default)")
    p.add_argument("--json", help="also write the scores to this JSON file")
    p.set_defaults(func=cmd_score)
    p = sub.add_parser("data", help="check a task's data (data check TASK)")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("check", help="load every split and language of a task; print counts")
    p.add_argument("task", help="task name (see `xstilts tasks`)")
    p.add_argument("--source", choices=["hub", "local"],
                   help="where the data comes from (default: local with --dir, else hub)")
    p.add_argument("--dir", help="data folder for --source local (XTREME's download/ layout)")
    p.set_defaults(func=cmd_data_check)
    for name, command in sub.choices.items():  # -q/-v after the command too (not `tasks -v`)
        if name not in ("tasks", "data"):
            add_verbosity(command, default=argparse.SUPPRESS)
    add_verbosity(data_sub.choices["check"], default=argparse.SUPPRESS)
    return parser


def log_file(args) -> Path | None:
    """OUT/xstilts.log for the commands that run jobs into OUT."""
    if args.command in ("run", "demo") or (args.command == "study" and args.out
                                           and args.study[0] != "status"):
        return Path(args.out) / LOG_FILE
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `xstilts` command."""
    try:
        try:
            return run_command(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
    except BrokenPipeError:
        return closed_pipe()


def closed_pipe() -> int:
    """The reader of stdout went away (`xstilts tasks | head`): stop quietly, as `cat` does.
    Python's documented way: point stdout at devnull, so that the flush at exit cannot fail
    again, and exit with the status a shell shows for SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return CLOSED_PIPE_STATUS


def run_command(argv: list[str] | None) -> int:
    """Parse the arguments and run the command; an XstiltsError is one line and exit 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    from xstilts.models.encoder import quiet_transformers
    from xstilts.progress import configure, file_only, reset
    from xstilts.train.launch import is_main_process

    if is_main_process():
        # The log file's lines wait in memory until the run's checks pass (a refused run
        # writes nothing into OUT); the pipeline releases them once it made OUT.
        configure(args.log_level, log_file=log_file(args), hold_log=True,
                  header=f"xstilts {' '.join(argv)} (pid {os.getpid()}, cwd {os.getcwd()})")
    else:  # another rank of `accelerate launch`: rank 0 reports; here warnings at most
        configure(max(args.log_level, logging.WARNING), bars=False)
    quiet_transformers(download_bars=args.log_level <= logging.INFO)
    try:
        return args.func(args)
    except XstiltsError as exc:
        print(f"xstilts: error: {exc}", file=sys.stderr)
        file_only(logging.ERROR, str(exc))
        return 2
    except KeyboardInterrupt:
        print("xstilts: interrupted; finished targets are in results.json", file=sys.stderr)
        file_only(logging.WARNING, "interrupted")
        return 130
    except BrokenPipeError:  # the reader closed stdout: not a bug (main exits quietly)
        raise
    except Exception:  # a bug: its traceback on stderr as always, and in the run's log
        file_only(logging.ERROR, traceback.format_exc())
        raise
    finally:
        reset()


if __name__ == "__main__":
    sys.exit(main())
