"""Training throughput: xstilts vs a plain `transformers.Trainer` on the same model, data,
steps, batch size and optimiser.

Real data (from ../shared/data): XQuAD-en span QA at 384 tokens (HF run_qa.py windows:
doc_stride 128) and UD English tagging at 128 (first-subword labels, as run_ner.py). Every
system trains on the very same features, which xstilts featurises once:

- xstilts      `xstilts.study.phases.phase_data` + `xstilts.train.loop.train_phase` (length-grouped
               batches when `training.group_by_length` exists), dev evaluation and checkpoint
               writes switched off;
- hf-padded    `Trainer` as the HF example scripts set it up by default: every batch padded to
               max_length (run_qa.py's `pad_to_max_length`);
- hf-grouped   `Trainer` with dynamic padding (DataCollatorWithPadding / ...ForTokenClassification)
               and length-grouped sampling;
- hf-dynamic   (not run unless asked) dynamic padding alone: run_ner.py's default.

All: the same pretrained encoder and the same fresh output layer (Trainer's model gets
xstilts' initial head weights), AdamW at the same learning rate, linear warm-up over the same
share of steps then decay, weight decay 0.01 (none on biases and LayerNorm), gradient
clipping 1.0, the same seed, no evaluation, no checkpoints, bf16 autocast on a GPU. Real
tokens are the attention mask's sum, processed tokens batch x padded width; tokens/s and
steps/s are measured from the end of the first step to the end of the last (set-up and
warm-up excluded), "wall" is the whole train call. The final loss is the mean of the last
fifth of the steps' losses.

`--forward hf|unpadded` sets xstilts' `encoder.forward` (default auto: the unpadded forward
on a CPU, Hugging Face's with SDPA on CUDA); the title says which ran. Trainer always runs
Hugging Face's.

MFU (model-FLOPs utilisation, train/throughput.py's formula for every system) is shown on a
GPU of known bf16 peak; for the issue's figure (XLM-R base at 256 tokens, bf16) run
`--encoder xlmr-base-shaped --length 256` (XLM-R base's shapes with random weights: the hub
is unreachable on the project's machines).

Usage: python benchmarks/train_throughput.py [--steps N] [--tasks xquad udpos] [--length N]
       [--encoder auto|e5-small|xlmr-base-shaped|...] [--forward auto|hf|unpadded] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch
from bench_common import (
    SHAPED,
    add_common_arguments,
    pick_encoder,
    print_table,
    require_data,
    require_modules,
)

SYSTEMS = ("xstilts", "hf-padded", "hf-grouped", "hf-dynamic")
LENGTHS = {"xquad": 384, "udpos": 128}
COLUMNS = ["task", "system", "steps", "wall s", "steps/s", "real tok/s", "real share",
           "wall vs xstilts", "final loss", "MFU"]


class TokenMeter:
    """Real and processed tokens of every batch, and when every optimiser step ended (a global
    optimizer hook: the same clock for xstilts and Trainer)."""

    def __init__(self, device: torch.device):
        self.device, self.batches, self.step_ends = device, [], []
        self.optimizer = None

    def count(self, batch) -> None:
        mask = batch["attention_mask"]
        self.batches.append((int(mask.sum()), int(mask.numel())))

    def _after_step(self, optimizer, args, kwargs) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.step_ends.append(time.perf_counter())
        self.optimizer = optimizer

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self._hook = register_optimizer_step_post_hook(self._after_step)
        return self

    def __exit__(self, *exc):
        self._hook.remove()

    def row(self, task: str, system: str, steps: int, wall: float, losses: list[float]) -> dict:
        """The table's numbers for one run."""
        batches = self.batches[:steps]
        real, processed = sum(r for r, _ in batches), sum(p for _, p in batches)
        if len(self.step_ends) >= 2:  # steps 2..N: set-up and the first (warm-up) step excluded
            steady = self.step_ends[min(steps, len(self.step_ends)) - 1] - self.step_ends[0]
            steady_steps = min(steps, len(self.step_ends)) - 1
            steady_real = sum(r for r, _ in batches[1:steady_steps + 1])
        else:
            steady, steady_steps, steady_real = wall, len(batches), real
        tail = losses[-max(1, len(losses) // 5):]
        return {"task": task, "system": system, "steps": len(self.step_ends), "wall": wall,
                "steps_per_s": steady_steps / steady, "real_tok_s": steady_real / steady,
                "real_share": real / max(1, processed),
                "loss": sum(tail) / len(tail) if tail else float("nan")}


def with_mfu(row: dict, modules: list, device: torch.device) -> dict:
    """The row with its model-FLOPs utilisation: xstilts' own formula (train/throughput.py,
    the same for every system) at the row's real tokens/s; None off a GPU of known peak or
    without bf16 (MFU is a bf16 figure)."""
    from xstilts.train.throughput import flops_per_token, peak_bf16_flops

    peak = peak_bf16_flops(device)
    row["mfu"] = flops_per_token(modules) * row["real_tok_s"] / peak if peak else None
    return row


class CountingFormat:
    """A task format whose `collate` reports each training batch to the meter."""

    def __init__(self, fmt, meter: TokenMeter):
        self._fmt, self._meter = fmt, meter

    def __getattr__(self, name):
        return getattr(self._fmt, name)

    def collate(self, features, pad_id):
        batch = self._fmt.collate(features, pad_id)
        self._meter.count(batch)
        return batch


class CountingCollator:
    """A Trainer data collator that reports each batch to the meter."""

    def __init__(self, collator, meter: TokenMeter):
        self.collator, self.meter = collator, meter

    def __call__(self, features):
        batch = self.collator(features)
        self.meter.count(batch)
        return batch


# ---------------------------------------------------------------- adapters (switch-on points)

def xstilts_training(args, length: int, width: int | None = None) -> dict:
    """The xstilts phase settings: the benchmark's optimiser, and length-grouped batches when
    this xstilts has them (`training.group_by_length`), in buckets of `width` tokens (None:
    the default)."""
    from xstilts.config import TrainingConfig

    training = {"max_steps": args.steps, "batch_size": args.batch_size,
                "learning_rate": args.lr, "warmup_ratio": args.warmup_ratio,
                "weight_decay": args.weight_decay, "max_grad_norm": 1.0, "max_length": length,
                "evaluations": 1, "dev_limit": 1}
    if "group_by_length" in TrainingConfig.model_fields:
        training["group_by_length"] = True
    if width is not None:
        training["length_bucket_width"] = width
    return training


@contextlib.contextmanager
def without_dev_and_checkpoints():
    """Switch off the loop's dev evaluation and checkpoint writes (Trainer runs with neither);
    yields the names switched off (empty if the loop's internals were renamed)."""
    import xstilts.train.loop as loop

    names = [n for n in ("_evaluate_and_keep", "save_training_state") if hasattr(loop, n)]
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(mock.patch.object(loop, name, lambda *a, **k: None))
        yield names


def trainer_arguments(args, out: str, device: torch.device, grouped: bool, fused: bool):
    """TrainingArguments as the HF examples use them, with this benchmark's optimiser."""
    from transformers import TrainingArguments

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    kwargs = {"output_dir": out, "max_steps": args.steps,
              "per_device_train_batch_size": args.batch_size, "learning_rate": args.lr,
              "weight_decay": args.weight_decay, "lr_scheduler_type": "linear",
              "max_grad_norm": 1.0, "seed": args.seed, "logging_steps": 1,
              "save_strategy": "no", "eval_strategy": "no", "report_to": [],
              "use_cpu": device.type != "cuda", "bf16": device.type == "cuda",
              "dataloader_num_workers": 0, "disable_tqdm": True,
              "optim": "adamw_torch_fused" if fused else "adamw_torch"}
    if "warmup_ratio" in fields:  # transformers 4; 5 takes a float < 1 as a ratio
        kwargs["warmup_ratio"] = args.warmup_ratio
    else:
        kwargs["warmup_steps"] = args.warmup_ratio
    if grouped and "train_sampling_strategy" in fields:
        kwargs["train_sampling_strategy"] = "group_by_length"
    elif grouped:
        kwargs["group_by_length"] = True
    return TrainingArguments(**kwargs)


# ------------------------------------------------------------------------------------ runs

def declarations(args) -> dict[str, dict]:
    """The tasks as xstilts declarations (quick: the first 2 XQuAD articles)."""
    from bench_common import udpos_declaration, xquad_declaration

    decls = {}
    if "xquad" in args.tasks:
        decls["xquad"] = xquad_declaration(args.data, (0, 2) if args.quick else None)
        decls["xquad"]["languages"] = ["en"]
    if "udpos" in args.tasks:
        decls["udpos"] = udpos_declaration(args.data)
        decls["udpos"]["languages"] = ["en"]
    return decls


def run_xstilts(name: str, config, location: str, args, device, out: Path):
    """Featurise with xstilts and train with its loop; (row, the features, the task)."""
    from xstilts.models.build import build_model
    from xstilts.models.forward import forward_of
    from xstilts.study.phases import phase_data, seed_everything
    from xstilts.tasks.resolve import resolve_tasks
    from xstilts.train.loop import train_phase

    task = resolve_tasks(config)[name]
    phase = config.targets.for_task(name)
    seed_everything(args.seed)
    model, tokenizer = build_model(location, config.encoder, device=device)
    args.forward_ran = forward_of(model.backbone)
    data = phase_data(model, tokenizer, {name: task}, phase)[0]
    limit = args.limit if args.limit >= 0 else same_examples(len(data.train_features), args)
    if limit:
        data.train_features = data.train_features[:limit]
    features = data.train_features
    meter = TokenMeter(device)
    data.fmt = CountingFormat(data.fmt, meter)
    # The fresh output layer's weights before any step, for Trainer's model to start from.
    head_start = {k: v.detach().clone() for k, v in
                  output_layer(model.heads[data.head_name]).state_dict().items()}
    with without_dev_and_checkpoints() as off, meter, contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        train_phase(model, tokenizer, [data], phase.training, out, args.seed, device,
                    desc=f"xstilts {name}")
        wall = time.perf_counter() - started
    losses = [r["loss"] for r in map(json.loads, (out / "log.jsonl").read_text().splitlines())
              if "loss" in r]
    grouped = "group_by_length" in phase.training.model_fields_set
    label = "xstilts" + (" (length-grouped)" if grouped else "")
    if grouped and "length_bucket_width" in phase.training.model_fields_set:
        label = f"xstilts (buckets of {phase.training.length_bucket_width})"
    if len(off) < 2:
        label += " (+dev eval/ckpt)"
    row = with_mfu(meter.row(name, label, args.steps, wall, losses),
                   [model.encoder, model.heads[data.head_name]], device)
    fused = bool(getattr(meter.optimizer, "defaults", {}).get("fused"))
    del model
    return row, features, task, tokenizer, fused, head_start


def output_layer(head: torch.nn.Module) -> torch.nn.Module:
    """A task head's last linear layer: the one that makes the logits."""
    return [m for m in head.modules() if isinstance(m, torch.nn.Linear)][-1]


def start_head_as(model, fmt: str, head_start: dict) -> None:
    """Give a Trainer model's fresh output layer xstilts' initial weights: the two heads then
    start equal (HF draws N(0, 0.02) with zero bias, torch's nn.Linear a uniform of about 1.5x
    that spread with a random bias; at 5e-5 the head moves about as far over a run as that
    difference, and the final losses would show the initialisations, not the training)."""
    layer = model.qa_outputs if fmt == "span_qa" else model.classifier
    ours, theirs = tensor_shapes(head_start), tensor_shapes(layer.state_dict())
    if ours != theirs:
        raise SystemExit(f"xstilts' head and Trainer's differ in shape: {ours} against "
                         f"{theirs}: compare the format's build_head with Trainer's model")
    layer.load_state_dict(head_start)


def tensor_shapes(state: dict) -> dict:
    """Each tensor's shape in a state dict, by name."""
    return {k: tuple(v.shape) for k, v in state.items()}


def same_examples(count: int, args) -> int:
    """How many features to train on so that every system's steps are whole epochs over the
    same examples (the same real tokens, whatever order each system draws them in): the
    steps as k epochs of steps // k full batches, k the fewest epochs `count` features allow;
    when k does not divide the steps, the last steps (fewer than k) begin another epoch."""
    wanted = args.steps * args.batch_size
    epochs = math.ceil(wanted / max(1, count))
    return max(1, args.steps // epochs) * args.batch_size


def hf_features(features: list[dict], fmt: str) -> list[dict]:
    """xstilts' features as the HF example scripts' columns (same ids, same labels)."""
    if fmt == "span_qa":
        return [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"],
                 "start_positions": f["start_position"], "end_positions": f["end_position"]}
                for f in features]
    return [{"input_ids": f["input_ids"], "attention_mask": [1] * len(f["input_ids"]),
             "labels": f["labels"]} for f in features]


def run_trainer(name: str, system: str, task, features, tokenizer, location: str, length: int,
                args, device, fused: bool, head_start: dict, out: Path) -> dict:
    """Train a plain AutoModelFor* with transformers.Trainer on the same features."""
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoModelForTokenClassification,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
    )

    from xstilts.study.phases import seed_everything

    padding = {"padding": "max_length", "max_length": length} if system == "hf-padded" else {
        "padding": "longest"}
    seed_everything(args.seed)
    if task.format == "span_qa":
        model = AutoModelForQuestionAnswering.from_pretrained(location)
        collator = DataCollatorWithPadding(tokenizer, **padding)
    else:
        model = AutoModelForTokenClassification.from_pretrained(location,
                                                                num_labels=len(task.labels))
        collator = DataCollatorForTokenClassification(tokenizer, **padding)
    start_head_as(model, task.format, head_start)
    if args.freeze_embeddings:  # as xstilts' encoder.freeze_embeddings (Trainer skips frozen)
        model.get_input_embeddings().weight.requires_grad_(False)
    meter = TokenMeter(device)
    trainer = Trainer(model=model, args=trainer_arguments(args, str(out), device,
                                                          system == "hf-grouped", fused),
                      train_dataset=hf_features(features, task.format),
                      data_collator=CountingCollator(collator, meter))
    with meter, contextlib.redirect_stdout(io.StringIO()):  # Trainer prints its log dicts
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    row = with_mfu(meter.row(name, system, args.steps, wall, losses), [model], device)
    del trainer, model
    return row


def median_row(rounds: list[dict]) -> dict:
    """The round with the median real tokens per second (the lower middle of an even count),
    with every round's figure alongside."""
    ranked = sorted(rounds, key=lambda r: r["real_tok_s"])
    row = dict(ranked[(len(ranked) - 1) // 2])
    row["rounds"] = [r["real_tok_s"] for r in rounds]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, steps=60)
    parser.add_argument("--tasks", nargs="+", choices=list(LENGTHS), default=list(LENGTHS))
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS[:3]))
    parser.add_argument("--length", type=int, default=0,
                        help="tokens per sequence for every task (0: XQuAD 384, UD POS 128); "
                             "the issue's MFU figure is at 256")
    parser.add_argument("--bucket-widths", type=int, nargs="*", default=[],
                        help="also run xstilts with these training.length_bucket_width values "
                             "(1: sorted exactly, as Trainer's grouping)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forward", choices=("auto", "hf", "unpadded"), default="auto",
                        help="xstilts' encoder.forward (auto: unpadded on a CPU, Hugging "
                             "Face's with SDPA on CUDA) [%(default)s]")
    parser.add_argument("--freeze-embeddings", action="store_true",
                        help="word embeddings frozen in every system (on a CPU, AdamW over "
                             "e5-small's 96M embedding weights dominates small steps)")
    parser.add_argument("--limit", type=int, default=-1,
                        help="train on the first N features only (0: all; default: as many as "
                             "make the steps whole epochs of full batches, so that every "
                             "system trains on the very same examples: the same real tokens)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every system N times, each round in the other order; the "
                             "table shows each system's median round (by real tok/s)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.batch_size = min(args.steps, 3), 4
    require_data(args.data, *args.tasks)
    if set(args.systems) != {"xstilts"}:  # the hf-* systems: transformers.Trainer
        require_modules("accelerate", needed_by="transformers.Trainer (the hf-* systems)")
    if "xstilts" not in args.systems:
        args.systems.insert(0, "xstilts")  # it featurises for all and is the ratio's base

    from xstilts.config import RunConfig
    from xstilts.models.encoder import quiet_transformers, resolve_encoder
    from xstilts.tasks.loading import load_split, strings_of
    from xstilts.tasks.resolve import resolve_tasks

    quiet_transformers()
    encoder = pick_encoder(args.encoder, args.quick)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    lengths = {name: args.length or length for name, length in LENGTHS.items()}

    def run_config(name: str, declaration: dict, width: int | None = None) -> RunConfig:
        return RunConfig.model_validate({
            "seed": args.seed,
            "encoder": {"name": encoder, "freeze_embeddings": args.freeze_embeddings,
                        "forward": args.forward},
            "targets": {"tasks": [name],
                        "training": xstilts_training(args, lengths[name], width)},
            "tasks": {name: declaration}})

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, declaration in declarations(args).items():
            config = run_config(name, declaration)
            task = resolve_tasks(config)[name]
            texts = strings_of([load_split(task, "train")]) if encoder == "tiny-random" else []
            location = resolve_encoder(encoder, texts, args.seed)
            # xstilts first (it featurises for every system), then the other bucket widths,
            # then Trainer; later rounds reverse the order, so that a drift of the machine
            # or a system's place in the process favours none.
            runs = [("xstilts", None), *(("xstilts", w) for w in args.bucket_widths),
                    *((s, None) for s in args.systems if s != "xstilts")]
            measured: dict[tuple, list[dict]] = {run: [] for run in runs}
            for round_ in range(args.rounds):
                for system, width in runs if round_ % 2 == 0 else runs[::-1]:
                    out = Path(tmp) / f"{name}-{system}-{width}-{round_}"
                    if system == "xstilts":
                        row, *shared = run_xstilts(name, run_config(name, declaration, width),
                                                   location, args, device, out)
                        if width is None and round_ == 0:
                            features, task, tokenizer, fused, head_start = shared
                    else:
                        row = run_trainer(name, system, task, features, tokenizer, location,
                                          lengths[name], args, device, fused, head_start, out)
                    measured[(system, width)].append(row)
                    print(f"{name} {row['system']} (round {round_ + 1}): {row['wall']:.1f} s, "
                          f"{row['real_tok_s']:,.1f} real tok/s", file=sys.stderr, flush=True)
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
            medians = [median_row(measured[run]) for run in runs]
            for r in medians:
                r["ratio"] = r["wall"] / medians[0]["wall"]
                r["base_rounds"] = medians[0]["rounds"]
            rows.extend(medians)
    shown = SHAPED if args.encoder == SHAPED else encoder
    title = (f"Training throughput: {shown}, batch {args.batch_size}, {args.steps} steps, "
             + (f"median of {args.rounds} rounds, " if args.rounds > 1 else "")
             + f"lr {args.lr}, seed {args.seed}, {device.type}, xstilts forward "
             + args.forward_ran + (" (auto)" if args.forward == "auto" else "")
             + (f", length {args.length}" if args.length else "")
             + (", word embeddings frozen" if args.freeze_embeddings else ""))
    print_table(title, COLUMNS, [
        [r["task"], r["system"], r["steps"], r["wall"], r["steps_per_s"], r["real_tok_s"],
         f"{r['real_share']:.1%}", f"x{r['ratio']:.2f}", f"{r['loss']:.4f}",
         "-" if r["mfu"] is None else f"{r['mfu']:.1%}"] for r in rows])
    if args.rounds > 1:
        print("\nReal tok/s in each round (rounds alternate the systems' order), and each "
              "round's xstilts over the system (the two measured minutes apart):")
        for r in rows:
            paired = [x / y for x, y in zip(r["base_rounds"], r["rounds"], strict=True)]
            print(f"- {r['task']} {r['system']}: "
                  + ", ".join(f"{x:,.1f}" for x in r["rounds"])
                  + ("" if r["rounds"] is r["base_rounds"] else
                     f"; xstilts over it: {', '.join(f'{x:.2f}x' for x in paired)} "
                     f"(median {statistics.median(paired):.2f}x)"))


if __name__ == "__main__":
    main()
