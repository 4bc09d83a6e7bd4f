"""Zero-shot evaluation throughput: xstilts' evaluation jobs vs the same loop without length
sorting and without caching, over every language of the demo suite's targets and of the real
files (XQuAD, UD POS, Tatoeba in ../shared/data).

Trainable targets are evaluated from one checkpoint with a fresh (untrained) head per task:
throughput does not depend on what the head learnt. Tatoeba and demo-retrieval use the base
encoder, as zero-shot retrieval does.

- xstilts  `xstilts.study.phases.evaluate_language` for every (target, language), in a study's
           order: the model kept in memory across a target's languages, splits read once,
           batches formed by length (and whatever caches this xstilts has);
- plain    the same formats' featurize / collate / predict_batch / decode / score, with the
           model loaded for every (target, language), the files read again and batches in
           file order.

Each system runs in a fresh process, so its peak resident memory (and peak GPU memory) is its
own. Usage: python benchmarks/eval_throughput.py [--limit N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import (
    add_common_arguments,
    pick_encoder,
    print_table,
    require_data,
    tatoeba_declaration,
    udpos_declaration,
    xquad_declaration,
)

DEMO_TARGETS = ["demo-nli", "demo-qa", "demo-ner", "demo-retrieval"]
SYSTEMS = ("xstilts", "plain")
COLUMNS = ["task", "system", "languages", "examples", "seconds", "examples/s", "vs plain",
           "peak RSS MiB", "peak GPU MiB"]


def run_config(args, encoder: str) -> dict:
    """The run config whose targets are evaluated (test_limit: examples per language)."""
    real = {}
    if (args.data / "xquad").is_dir():  # quick: one article (tiny-random's tokenizer reads all)
        real["xquad"] = xquad_declaration(args.data, (0, 1) if args.quick else None)
    if (args.data / "udpos").is_dir():
        real["udpos"] = udpos_declaration(args.data)
    if (args.data / "tatoeba").is_dir():
        real["tatoeba"] = tatoeba_declaration(args.data)
        if args.quick:  # tiny-random's 4,000 pieces cannot hold 36 scripts' characters
            codes = dict(list(real["tatoeba"]["reader_options"]["lang_codes"].items())[:3])
            real["tatoeba"]["languages"] = list(codes)
            real["tatoeba"]["reader_options"]["lang_codes"] = codes
    test = args.limit or 200
    targets = {"tasks": DEMO_TARGETS + list(real), "test_limit": args.limit or None,
               "training": {"eval_batch_size": args.batch_size}}
    if args.quick:  # two languages of each demo target
        targets["languages"] = {name: ["en", "de"] for name in DEMO_TARGETS}
    return {"seed": 0, "encoder": {"name": encoder},
            "suites": {"demo": {"sizes": {"train": 16, "dev": 16, "test": test}, "seed": 0}},
            "targets": targets, "tasks": real}


def prepared(config_data: dict):
    """(config, tasks with their final options, setup) as a run resolves them."""
    from xstilts.config import RunConfig
    from xstilts.study.prepare import prepare

    config = RunConfig.model_validate(config_data)
    tasks, setup = prepare(config)
    return config, tasks, setup


def write_checkpoint(config, tasks, setup, folder: Path) -> None:
    """The base encoder with a fresh head for every trainable target, in one checkpoint."""
    from xstilts.formats import get_format
    from xstilts.models.build import build_model
    from xstilts.study.phases import seed_everything

    seed_everything(0)
    model, tokenizer = build_model(setup.encoder_location, config.encoder)
    for name in config.targets.tasks:
        if get_format(tasks[name].format).trainable:
            model.add_head(name, tasks[name])
    model.save(folder, tokenizer)


# ------------------------------------------------------------------ the two evaluation loops

def evaluate_xstilts(config, tasks, setup, checkpoint: str, out: Path, device) -> dict:
    """Every (target, language) through the study's evaluation job; examples per target.

    Switch-on point: caches inside `evaluate_language` (the model kept between languages, a
    base encoder kept between jobs) count automatically; a feature cache that needs an
    argument (a store) is passed here."""
    from xstilts.formats import get_format
    from xstilts.study.phases import Workspace, evaluate_language
    from xstilts.study.plan import EvalJob
    from xstilts.tasks.loading import load_split
    from xstilts.tasks.splits import scored_split

    done = {}
    for name in config.targets.tasks:
        task, phase = tasks[name], config.targets.for_task(name)
        trained = get_format(task.format).trainable
        location = checkpoint if trained else setup.encoder_location
        started, count = time.perf_counter(), 0
        for lang in task.languages:
            split = scored_split(task, config.targets.eval_split, lang)
            job = EvalJob(key=f"{name}-{lang}", task=task, lang=lang, split=split, phase=phase,
                          model=name if trained else None, start=None)
            evaluate_language(job, Workspace(out / name / lang, location, config.encoder, device))
            count += _count(task, load_split(task, split, lang), phase.test_limit)
        done[name] = {"languages": len(task.languages), "examples": count,
                      "seconds": time.perf_counter() - started}
    return done


def evaluate_plain(config, tasks, setup, checkpoint: str, out: Path, device) -> dict:
    """The same work with no caches and no length sorting."""
    import torch

    from xstilts.evaluate.predict import autocast, to_device
    from xstilts.formats import get_format
    from xstilts.models.build import build_model
    from xstilts.models.encoder import max_positions
    from xstilts.tasks.resolve import evaluation_length
    from xstilts.tasks.splits import scored_split

    done = {}
    for name in config.targets.tasks:
        task, phase = tasks[name], config.targets.for_task(name)
        fmt = get_format(task.format)
        started, count = time.perf_counter(), 0
        for lang in task.languages:
            split = scored_split(task, config.targets.eval_split, lang)
            location = checkpoint if fmt.trainable else setup.encoder_location
            model, tokenizer = build_model(location, config.encoder)  # loaded every time
            head = None
            if fmt.trainable:
                model.load_heads(Path(location), {name: task})
                head = model.heads[name]
            model.to(device).eval()
            length = evaluation_length(task, fmt, phase.training,
                                       max_positions(model.encoder.config, tokenizer))
            examples = task.load(split, lang)  # read again
            if phase.test_limit:
                examples = fmt.limit(examples, phase.test_limit, task)
            features = fmt.featurize(examples, tokenizer, task, length)
            outputs, size = [], phase.training.eval_batch_size
            with torch.no_grad():
                for start in range(0, len(features), size):  # file order: no length sorting
                    batch = to_device(fmt.collate(features[start:start + size],
                                                  tokenizer.pad_token_id), device)
                    with autocast(device, phase.training.bf16):
                        outputs.extend(fmt.predict_batch(model.encoder, head, batch, task))
            predictions = fmt.decode(examples, features, outputs, task)
            fmt.score(examples, predictions, task, lang)
            filename = f"{split}-{lang}.{fmt.prediction_suffix}"
            fmt.write_predictions(examples, predictions, task,
                                  out / name / lang / "predictions" / filename)
            try:
                fmt.write_labels(examples, task, out / name / lang / "labels" / filename)
            except NotImplementedError:
                pass
            count += len(examples)
            del model
        done[name] = {"languages": len(task.languages), "examples": count,
                      "seconds": time.perf_counter() - started}
    return done


def _count(task, examples: list[dict], limit: int | None) -> int:
    from xstilts.formats import get_format

    return len(get_format(task.format).limit(examples, limit, task)) if limit else len(examples)


def worker(system: str, plan_file: Path, result_file: Path) -> None:
    """One system in this (fresh) process; writes its timings and peak memory."""
    import torch

    from xstilts.models.encoder import quiet_transformers
    from xstilts.tasks import loading

    quiet_transformers()
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    config, tasks, setup = prepared(plan["config"])
    loading._SPLITS.clear()  # prepare() read splits for the tokenizer: start cold
    device = torch.device(plan["device"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    loop = evaluate_xstilts if system == "xstilts" else evaluate_plain
    with tempfile.TemporaryDirectory() as tmp:
        done = loop(config, tasks, setup, plan["checkpoint"], Path(tmp), device)
    result = {"tasks": done,
              "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "peak_gpu_mib": (torch.cuda.max_memory_allocated() / 2**20
                               if device.type == "cuda" else None)}
    result_file.write_text(json.dumps(result), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, steps=0, steps_help="unused: evaluation trains nothing")
    parser.add_argument("--limit", type=int, default=300,
                        help="examples per language (0: all) [%(default)s]")
    parser.add_argument("--batch-size", type=int, default=64, help="evaluation batch size")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.plan, args.result)
        return
    if args.quick:
        args.limit = min(args.limit or 8, 8)
    require_data(args.data, "xquad", "udpos")

    import torch

    from xstilts.models.encoder import quiet_transformers

    quiet_transformers()
    encoder = pick_encoder(args.encoder, args.quick)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    config_data = run_config(args, encoder)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        config, tasks, setup = prepared(config_data)  # builds/converts the encoder once
        checkpoint = Path(tmp) / "checkpoint"
        write_checkpoint(config, tasks, setup, checkpoint)
        plan = Path(tmp) / "plan.json"
        plan.write_text(json.dumps({"config": config_data, "checkpoint": str(checkpoint),
                                    "device": device}), encoding="utf-8")
        for system in SYSTEMS:
            result = Path(tmp) / f"{system}.json"
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--worker", system, "--plan", str(plan),
                            "--result", str(result)], check=True, env=os.environ.copy())
            print(f"{system}: {time.perf_counter() - started:.1f} s", file=sys.stderr,
                  flush=True)
            results[system] = json.loads(result.read_text(encoding="utf-8"))
    rows = []
    names = list(results["xstilts"]["tasks"]) + ["all"]
    for name in names:
        rates = {}
        for system in SYSTEMS:
            done = results[system]["tasks"]
            parts = list(done.values()) if name == "all" else [done[name]]
            langs = sum(p["languages"] for p in parts)
            examples, seconds = sum(p["examples"] for p in parts), sum(p["seconds"] for p in parts)
            rates[system] = examples / seconds
            peak = name == "all"
            gpu = results[system]["peak_gpu_mib"]
            rows.append([name, system, langs, examples, seconds, rates[system], "",
                         results[system]["peak_rss_mib"] if peak else "",
                         (gpu if gpu is not None else "-") if peak else ""])
        rows[-2][6] = f"x{rates['xstilts'] / rates['plain']:.2f}"
        rows[-1][6] = "x1.00"
    print_table(f"Zero-shot evaluation throughput: {encoder}, {device}, batch "
                f"{args.batch_size}, first {args.limit or 'all'} examples per language",
                COLUMNS, rows)


if __name__ == "__main__":
    main()
