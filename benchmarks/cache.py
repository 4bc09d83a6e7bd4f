"""Time from launching `xstilts run` (a new process, as a user starts it) to the start of its
training, with a cold and a warm cache, on real text: XQuAD-en span QA at 384 tokens and UD
English POS at 128 (from ../shared/data), and `pairs`: a sentence-pair classification set of
MNLI's size (392,702 pairs by default, `--pairs N`) made of Tatoeba's real sentences (a
sentence and its English translation, or another English sentence: two labels), where
featurising is what it costs in a real intermediate-task study.

Three kinds of run per task, one after the other (cold and warm `--repeat` times, each
repeat with a store of its own; the table shows the median of each kind):
- first run   an empty XSTILTS_CACHE and an empty store: the encoder is converted or built
              (e5-small from its 4-bit file, tiny-random's tokenizer), then everything else;
- cold        the encoder cached, a new store: what every new study or run folder pays;
- warm        the same store and cache again with another seed (a new training job, so the
              job is not simply reused): what a feature cache in the store can save.

"to training" runs from launching the process to its first training batch (everything a
run does before it trains: imports, reading and checking the data, loading the encoder,
featurising); "first step" is that first optimiser step's own time (the same with any cache).
"start-up" is launching to the end of the imports; "featurise" is the phase's featurisation
(`study/phases.py` `phase_data`).
Usage: python benchmarks/cache.py [--tasks xquad udpos pairs] [--pairs N] [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# torch and xstilts are imported inside functions: a worker's start-up is measured.
from bench_common import (
    add_common_arguments,
    pick_encoder,
    print_table,
    require_data,
    udpos_declaration,
    xquad_declaration,
)

LENGTHS = {"xquad": 384, "udpos": 128, "pairs": 128}
RUNS = ("first run", "cold", "warm")
COLUMNS = ["task", "cache", "runs", "to training s", "start-up s", "featurise s", "first step s",
           "vs cold"]
MNLI_TRAIN = 392_702  # MNLI's training pairs


def write_pairs(data: Path, folder: Path, n: int) -> dict:
    """`n` real sentence pairs from Tatoeba (a sentence with its English translation:
    "translation"; with another English sentence: "other"; alternating) as a JSONL task; its
    declaration. A deterministic pairing, so every run reads the same file."""
    sides = []
    for other in sorted((data / "tatoeba").glob("tatoeba.*-eng.*")):
        if other.suffix == ".eng":
            continue
        english = other.with_suffix(".eng")
        pairs = list(zip(other.read_text(encoding="utf-8").splitlines(),
                         english.read_text(encoding="utf-8").splitlines(), strict=False))
        sides += pairs
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "train.jsonl").open("w", encoding="utf-8") as out:
        for i in range(n):
            text, english = sides[i % len(sides)]
            if i % 2:  # another sentence's translation: shifted by a round-dependent stride
                english = sides[(i + 1 + 7 * (i // len(sides) + 1)) % len(sides)][1]
            out.write(json.dumps({"id": str(i), "text_a": text, "text_b": english,
                                  "label": "other" if i % 2 else "translation"},
                                 ensure_ascii=False) + "\n")
    dev = folder / "dev.jsonl"
    dev.write_text("".join(line for _, line in zip(range(200), (folder / "train.jsonl").open(
        encoding="utf-8"), strict=False)), encoding="utf-8")
    return {"format": "classification", "reader": "jsonl", "languages": ["en"],
            "labels": ["translation", "other"], "base_dir": str(folder),
            "paths": {"train": "train.jsonl", "dev": "dev.jsonl", "test": "dev.jsonl"}}


def run_config(name: str, args, encoder: str, seed: int, pairs: dict | None) -> dict:
    """One target, trained from the base encoder; evaluation never reached."""
    if name == "xquad":
        declaration = xquad_declaration(args.data, (0, 2) if args.quick else None)
    elif name == "udpos":
        declaration = udpos_declaration(args.data)
    else:
        declaration = dict(pairs)
    declaration["languages"] = ["en"]
    return {"seed": seed, "encoder": {"name": encoder},
            "targets": {"tasks": [name], "training": {
                "max_steps": max(2, args.steps), "batch_size": 4 if args.quick else 16,
                "max_length": LENGTHS[name]}},
            "tasks": {name: declaration}}


def worker(config_file: Path, out: Path, store: Path, result: Path) -> None:
    """Run the config until its first optimiser step; write the times and leave at once."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    import xstilts.study.phases as phases
    from xstilts.config import RunConfig
    from xstilts.models.encoder import quiet_transformers

    quiet_transformers()
    imported = time.time()
    times = {"launched": float(os.environ["BENCH_LAUNCHED"]), "imported": imported}
    featurise = getattr(phases, "phase_data", None)
    if featurise is not None:
        def timed_phase_data(*args, **kwargs):
            started = time.time()
            try:
                return featurise(*args, **kwargs)
            finally:
                times["featurise"] = times.get("featurise", 0.0) + time.time() - started

        phases.phase_data = timed_phase_data

    from xstilts.train import loop

    next_batch = loop.BatchStream.next

    def first_batch(self):
        times.setdefault("training", time.time())
        return next_batch(self)

    loop.BatchStream.next = first_batch

    def first_step(optimizer, args, kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times["first_step"] = time.time()
        result.write_text(json.dumps(times), encoding="utf-8")
        sys.stdout.flush()
        os._exit(0)  # the rest of the run is not measured

    register_optimizer_step_post_hook(first_step)
    config = RunConfig.model_validate(json.loads(config_file.read_text(encoding="utf-8")))
    from xstilts.study.run import run_config

    run_config(config, out, store=store)
    sys.exit("the run ended without a training step")


def launch(config: dict, folder: Path, cache: Path, store: Path) -> dict:
    """One `run` in a new process with XSTILTS_CACHE=cache; its times in seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    config_file, result = folder / "config.json", folder / "result.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "XSTILTS_CACHE": str(cache), "BENCH_LAUNCHED": repr(time.time())}
    with (folder / "log.txt").open("w", encoding="utf-8") as log:
        done = subprocess.run([sys.executable, __file__, "--worker", str(config_file),
                               "--out", str(folder / "out"), "--store", str(store),
                               "--result", str(result)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    if done.returncode != 0 or not result.exists():
        sys.exit(f"a run failed (exit {done.returncode}); its output:\n"
                 + (folder / "log.txt").read_text(encoding="utf-8")[-3000:])
    times = json.loads(result.read_text(encoding="utf-8"))
    return {"total": times["training"] - times["launched"],
            "startup": times["imported"] - times["launched"],
            "featurise": times.get("featurise"),
            "step": times["first_step"] - times["training"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, steps=2,
                         steps_help="the runs' max_steps (each stops at its first)")
    parser.add_argument("--tasks", nargs="+", choices=list(LENGTHS), default=list(LENGTHS))
    parser.add_argument("--pairs", type=int, default=MNLI_TRAIN,
                        help="sentence pairs of the `pairs` task [%(default)s]")
    parser.add_argument("--repeat", type=int, default=1,
                        help="cold and warm runs per task; the table shows medians [%(default)s]")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.out, args.store, args.result)
        return
    require_data(args.data, *[{"pairs": "tatoeba"}.get(t, t) for t in args.tasks])
    encoder = pick_encoder(args.encoder, args.quick)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pairs = write_pairs(args.data, Path(tmp) / "pairs-data",
                            200 if args.quick else args.pairs) if "pairs" in args.tasks else None
        for name in args.tasks:
            cache = Path(tmp) / name / "cache"  # XSTILTS_CACHE of this task's runs
            # The first run once, then `repeat` pairs of (cold: a new store, warm: the same
            # store again with another seed).
            launches = [("first run", "store-first", 0)] + [
                (run, f"store-{i}", seed) for i in range(args.repeat)
                for run, seed in (("cold", 0), ("warm", 1))]
            times: dict[str, list[dict]] = {run: [] for run in RUNS}
            for i, (run, store, seed) in enumerate(launches):
                times[run].append(launch(run_config(name, args, encoder, seed, pairs),
                                         Path(tmp) / name / f"{i}-{run.replace(' ', '-')}",
                                         cache, Path(tmp) / name / store))
                print(f"{name} {run}: {times[run][-1]['total']:.1f} s", file=sys.stderr,
                      flush=True)
            median = {run: {part: (None if t[0][part] is None else
                                   statistics.median(x[part] for x in t))
                            for part in t[0]} for run, t in times.items()}
            for run in RUNS:
                t = median[run]
                rows.append([name, run, len(times[run]), t["total"], t["startup"],
                             "-" if t["featurise"] is None else t["featurise"], t["step"],
                             f"x{median['cold']['total'] / t['total']:.2f}"])
    print_table(f"Time to training: {encoder}, new process per run", COLUMNS, rows)


if __name__ == "__main__":
    main()
