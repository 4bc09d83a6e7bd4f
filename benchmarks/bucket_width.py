"""Length-bucket width vs what a target learns: real UD POS, the same steps at every width.

`training.length_bucket_width` (train/batching.py) trades padding for randomness: 16-token
buckets (the default) keep more mixed batches, width 1 sorts exactly as Hugging Face's
LengthGroupedSampler (least padding, fastest on short sentences). This script trains the
same target at each width and seed and prints zero-shot accuracy per language, so the
default rests on real data, not only on the demo's generated NLI:

- task: UD POS, trained on English EWT dev (`--epochs`, batch 16), tested on every test
  file present (English EWT, German GSD, Spanish GSD in ../shared/data);
- encoder: e5-small (word embeddings frozen, as the CPU runs of train_throughput.py), one
  evaluation at the end (the final model: no selection that could differ between widths);
- each (width, seed) a `run_config` (study/run.py) into one store (features tokenised once); a rerun
  with the same store reuses finished runs.

Prints one row per (width, seed) with each language's accuracy and F1 averaged over the
languages, then one row per width with the means over seeds. How fast each width trains is
train_throughput.py's question (`--bucket-widths`).

Usage: python benchmarks/bucket_width.py [--widths 16 4 1] [--seeds 0 1 2] [--epochs 2]
       [--store DIR] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench_common import add_common_arguments, pick_encoder, print_table, require_data


def run_one(declaration: dict, encoder: str, width: int, seed: int, args, out: Path,
            store: Path) -> dict:
    """One training run at `width`: its accuracy per language and F1 averaged over them."""
    from xstilts.config import RunConfig
    from xstilts.study.run import run_config

    training = {"batch_size": args.batch_size, "length_bucket_width": width,
                "evaluations": 1, "dev_limit": 200}
    training.update({"max_steps": args.steps} if args.quick else {"epochs": args.epochs})
    config = RunConfig.model_validate({
        "seed": seed, "encoder": {"name": encoder, "freeze_embeddings": True},
        "targets": {"tasks": ["udpos"], "training": training},
        "tasks": {"udpos": declaration}})
    target = run_config(config, out / f"width{width}-seed{seed}", store=store)["targets"]["udpos"]
    accuracy = {lang: metrics["accuracy"] for lang, metrics in target["languages"].items()}
    return {"width": width, "seed": seed, "accuracy": accuracy, "f1": target["average"]["f1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, steps=3, steps_help="training steps per run (--quick only)")
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 4, 1])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--store", type=Path, default=None,
                        help="keep the runs in this store (a rerun reuses them); default a "
                             "temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.widths, args.seeds, args.batch_size = args.widths[:2], args.seeds[:1], 4
    require_data(args.data, "udpos")

    from bench_common import udpos_declaration

    from xstilts.models.encoder import quiet_transformers

    quiet_transformers(download_bars=False)
    encoder = pick_encoder(args.encoder if args.encoder != "auto" else "e5-small", args.quick)
    declaration = udpos_declaration(args.data)
    languages = declaration["languages"]
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        results = [run_one(declaration, encoder, width, seed, args, Path(tmp), store)
                   for seed in args.seeds for width in args.widths]

    def row(label: str, seed: str, runs: list[dict]) -> list:
        accuracy = {lang: statistics.mean(r["accuracy"][lang] for r in runs)
                    for lang in languages}
        return [label, seed, *(f"{accuracy[lang]:.2f}" for lang in languages),
                f"{statistics.mean(accuracy.values()):.2f}",
                f"{statistics.mean(r['f1'] for r in runs):.2f}"]

    rows = [row(str(r["width"]), str(r["seed"]), [r]) for r in results]
    rows += [row(str(width), "mean", [r for r in results if r["width"] == width])
             for width in args.widths]
    how = f"{args.steps} steps" if args.quick else f"{args.epochs:g} epochs"
    print_table(f"Length-bucket width: UD POS, {encoder}, batch {args.batch_size}, {how}, "
                "word embeddings frozen",
                ["width", "seed", *(f"acc {lang}" for lang in languages), "acc mean",
                 "F1 mean"], rows)


if __name__ == "__main__":
    main()
