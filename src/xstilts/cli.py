"""Command line: thin wrappers over the library; errors are one clear message and exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xstilts.errors import XstiltsError


def cmd_run(args) -> int:
    from xstilts.config import load_config
    from xstilts.pipeline import run
    from xstilts.report import format_results

    config = load_config(args.config)
    results = run(config, Path(args.out), db=Path(args.db) if args.db else None)
    print(format_results(results))
    print(f"\nresults: {Path(args.out) / 'results.json'}   predictions: {Path(args.out) / 'predictions'}")
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

    run_demo(Path(args.out), quick=args.quick)
    return 0


def quiet_transformers() -> None:
    """xstilts prints its own progress; silence transformers' per-load reports and bars."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstilts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one configuration: intermediate → targets → zero-shot")
    p.add_argument("config", help="YAML config (see examples/)")
    p.add_argument("--out", required=True, help="output folder (results, predictions, checkpoints)")
    p.add_argument("--db", help="SQLite results store (default OUT/results.sqlite)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("tasks", help="list the built-in tasks")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("demo", help="offline demo: e5-small on the built-in multilingual suite")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="smaller sizes (for smoke tests)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `xstilts` command."""
    args = build_parser().parse_args(argv)
    quiet_transformers()
    try:
        return args.func(args)
    except XstiltsError as exc:
        print(f"xstilts: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xstilts: interrupted; finished targets are in results.json", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
