"""The training loop of one phase: one or many tasks, one shared encoder, a head per task.

Each optimiser step draws a task from the sampler and accumulates `grad_accum` batches of
that task. Dev sets are scored every `eval_every` steps; the mean of the tasks' main
metrics selects the best checkpoint and drives early stopping. `last/` holds the full
training state (weights, optimiser, scheduler, sampler, data order, RNGs), saved at each dev
evaluation and every `save_every` steps (else every few minutes), so an interrupted phase
resumes exactly where it stopped (log.jsonl is cut back to that state, so no step is logged
twice). A non-finite loss stops the phase before anything is saved after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xstilts.artifacts import AtomicDir, recover_atomic_dir, write_json_atomic, write_text_atomic
from xstilts.config import TrainingConfig
from xstilts.errors import XstiltsError
from xstilts.evaluate.predict import (
    Predictor,
    autocast,
    feature_lengths,
    predict_and_score,
    to_device,
)
from xstilts.formats.base import TaskFormat
from xstilts.progress import progress
from xstilts.train.batching import BUCKET_WIDTH, batch_slice, epoch_order
from xstilts.train.budget import cap_examples, phase_steps
from xstilts.train.budget import seen as seen_in_stream
from xstilts.train.distributed import DataParallel
from xstilts.train.optim import build_optimizer, clip_gradients
from xstilts.train.samplers import TaskSampler, task_probabilities
from xstilts.train.state import (
    SavePolicy,
    disk_full_is_clear,
    has_training_state,
    load_training_state,
    rank_rng_state,
    save_training_state,
    saved_step,
)
from xstilts.train.throughput import phase_meter

logger = logging.getLogger(__name__)


@dataclass
class TaskData:
    """One task of a phase, featurized: what the loop needs to train and validate on it."""

    task: object
    fmt: TaskFormat
    head_name: str
    train_features: Sequence[dict]
    dev_examples: list[dict]
    max_length: int  # tokens per sequence for this task (train and dev)
    # dev_examples featurised once for the whole phase (then dev_examples are already cut
    # to dev_limit); None: featurised at every evaluation.
    dev_features: Sequence[dict] | None = None


@dataclass
class PhaseResult:
    best_dir: Path
    best_score: float
    steps: int
    dev_history: list[dict] = field(default_factory=list)
    batches_per_task: dict[str, int] = field(default_factory=dict)
    probabilities: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0
    best_step: int | None = None
    seen: dict[str, dict] = field(default_factory=dict)  # per task: `seen_per_task`


class BatchStream:
    """Endless, seeded batches of one task; (epoch, position) is its whole state.

    With `group_by_length` each batch holds examples of similar length (train/batching.py).
    Under data parallelism every rank walks the same order and takes its own batch of the
    `world_size` consecutive ones, so the state is the same on every rank."""

    def __init__(self, data: TaskData, batch_size: int, pad_id: int, seed: int, *,
                 group_by_length: bool = False, bucket_width: int = BUCKET_WIDTH, rank: int = 0,
                 world_size: int = 1):
        self.data, self.batch_size, self.pad_id, self.seed = data, batch_size, pad_id, seed
        self.group_by_length, self.rank, self.world_size = group_by_length, rank, world_size
        self.bucket_width = bucket_width
        self.epoch, self.position = 0, 0
        self._lengths: list[int] | None = None
        self._cached: tuple[int, np.ndarray] | None = None  # (epoch, its order)

    def _order(self) -> np.ndarray:
        if self._cached is None or self._cached[0] != self.epoch:
            if self._lengths is None:
                self._lengths = feature_lengths(self.data.train_features)
            self._cached = (self.epoch, epoch_order(self._lengths, self.batch_size, self.seed,
                                                    self.epoch, self.group_by_length,
                                                    bucket_width=self.bucket_width))
        return self._cached[1]

    def next(self) -> dict:
        idx = batch_slice(self._order(), self.position, self.batch_size, self.rank,
                          self.world_size)
        if idx is None:
            self.epoch, self.position = self.epoch + 1, 0
            idx = batch_slice(self._order(), 0, self.batch_size, self.rank, self.world_size)
            if idx is None:
                raise XstiltsError(
                    f"task {self.data.task.name!r}: {len(self.data.train_features)} training "
                    f"examples, too few for {self.world_size} processes.\n  fix: add training "
                    "data or train on fewer processes.")
        self.position += self.batch_size * self.world_size
        fmt = self.data.fmt  # for_epoch: e.g. MLM's fresh masks each epoch
        return fmt.collate([fmt.for_epoch(self.data.train_features[i], self.epoch) for i in idx],
                           self.pad_id)


def total_steps(cfg: TrainingConfig, data: list[TaskData], world_size: int = 1) -> int:
    """The step budget: `max_steps`, else `epochs` over all tasks' batches (each step takes
    `grad_accum` batches on each of `world_size` processes)."""
    return phase_steps(cfg, [len(d.train_features) for d in data], world_size)


def evaluation_steps(cfg: TrainingConfig, steps: int) -> list[int]:
    """The steps after which dev is scored: every `eval_every`, else `evaluations` spread
    evenly; always the final step (so the phase's last state is a candidate)."""
    every = cfg.eval_every or max(1, math.ceil(steps / cfg.evaluations))
    return sorted({*range(every, steps + 1, every), steps})


def selection_score(metrics: dict[str, float], data: TaskData) -> float:
    """The metric a task is selected on: option `main_metric`, else its format's main one."""
    name = data.task.options.get("main_metric", data.fmt.main_metric)
    if name not in metrics:
        raise XstiltsError(
            f"task {data.task.name!r}: main_metric {name!r} is not a metric of format "
            f"{data.fmt.name!r}, which reports {sorted(metrics)}.\n  fix: choose one of those "
            "(task_options or the task's options).")
    return metrics[name]


def validate(model, data: list[TaskData], tokenizer, cfg: TrainingConfig, device) -> dict:
    """Dev metrics of every task and their mean main metric (the selection score)."""
    scores = {}
    for d in data:
        examples = d.dev_examples[: cfg.dev_limit] if cfg.dev_limit else d.dev_examples
        predictor = Predictor(model.encoder, model.heads[d.head_name], tokenizer, device,
                              cfg.eval_batch_size, cfg.bf16)
        _, metrics = predict_and_score(predictor, d.fmt, d.task, examples,
                                       d.task.train_language, d.max_length, d.dev_features,
                                       desc=f"dev {d.task.name} ({d.task.train_language})",
                                       level=logging.DEBUG)
        scores[d.task.name] = metrics
    # A task may select on another of its format's metrics (CCG: accuracy, not chunk F1).
    main = [selection_score(scores[d.task.name], d) for d in data]
    mean = float(np.mean(main))
    return {"tasks": scores, "score": mean}


def train_phase(model, tokenizer, data: list[TaskData], cfg: TrainingConfig, out_dir: Path,
                seed: int, device: torch.device, desc: str = "train",
                on_log: Callable[[dict], None] | None = None) -> PhaseResult:
    """Train `model` on `data` and return where the best checkpoint is; `on_log` gets
    every record written to log.jsonl (e.g. for experiment trackers)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    best_dir, last_dir = out_dir / "best", out_dir / "last"
    par = DataParallel()  # one process, or one of several (train/distributed.py)
    device = par.device(device)
    on_log = on_log if par.is_main else None  # trackers: one run, fed by rank 0
    data = [dataclasses.replace(d, train_features=cap_examples(
        d.train_features, cfg.examples_per_task, seed, d.task.name)) for d in data]
    steps = total_steps(cfg, data, par.world_size)
    sizes = {d.task.name: len(d.train_features) for d in data}
    probs = task_probabilities(cfg.sampler, sizes, cfg.sampler_cap, cfg.temperature, cfg.weights)
    sampler = TaskSampler(probs, seed)
    streams = {d.task.name: BatchStream(d, cfg.batch_size, tokenizer.pad_token_id, seed + i,
                                        group_by_length=cfg.group_by_length,
                                        bucket_width=cfg.length_bucket_width, rank=par.rank,
                                        world_size=par.world_size)
               for i, d in enumerate(data)}
    # On the device before the optimiser exists: its state (a resumed one too) lives there,
    # and fused AdamW needs its parameters on the GPU.
    model.to(device)
    optimizer, scheduler = build_optimizer(model, cfg, steps)
    eval_at = set(evaluation_steps(cfg, steps))
    state = {"step": 0, "best_score": -math.inf, "bad_evals": 0, "history": [], "done": False}

    with par.together():  # rank 0 tidies up before any rank reads (a barrier)
        if par.is_main:
            for folder in (last_dir, best_dir):  # a kill mid-save leaves temp folders
                recover_atomic_dir(folder)
    with par.together():
        if has_training_state(last_dir):  # resume an interrupted phase
            state = load_training_state(last_dir, model, optimizer, scheduler, sampler,
                                        streams)
    model.train()
    if cfg.compile:  # in place: parameter names, checkpoints and the optimiser stay as they are
        model.backbone.compile()
    meter = phase_meter(model, [d.head_name for d in data], device, cfg.bf16)
    step_loss = par.loss_module(model)
    saves = SavePolicy(cfg.save_every)
    with par.together():
        if par.is_main:
            truncate_log(out_dir / "log.jsonl", state["step"])
    log = (out_dir / "log.jsonl" if par.is_main else Path(os.devnull)).open("a", encoding="utf-8")
    bar = progress(total=steps, initial=state["step"], desc=desc, unit="step")
    seen, started = 0, time.perf_counter()
    try:
        while state["step"] < steps and not state["done"]:
            name = sampler.next()
            stream = streams[name]
            loss_sum = 0.0
            meter.start_step()
            for micro in range(cfg.grad_accum):
                batch = stream.next()
                meter.add_batch(stream.data.head_name, batch)  # on the CPU: no GPU sync
                batch = to_device(batch, device)
                last_micro_batch = micro == cfg.grad_accum - 1
                with par.sync_gradients(step_loss, last_micro_batch):
                    with autocast(device, cfg.bf16):
                        loss = step_loss(stream.data.fmt, stream.data.head_name,
                                         batch) / cfg.grad_accum
                    loss.backward()
                loss_sum += float(loss.detach())
                seen += int(batch["input_ids"].shape[0])
            norm = clip_gradients(optimizer, cfg.max_grad_norm)  # the norm before clipping
            check_finite(loss_sum, float(norm), name, state["step"] + 1, steps, last_dir)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            rate = seen / max(1e-9, time.perf_counter() - started)
            bar.set_postfix(task=name, loss=f"{loss_sum:.3f}", ex_s=f"{rate:.1f}")
            bar.update(1)
            record = {"step": state["step"], "task": name, "loss": loss_sum,
                      "lr": scheduler.get_last_lr()[0], **meter.end_step()}
            log.write(json.dumps(record) + "\n")
            if on_log:
                on_log(record)
            evaluated = state["step"] in eval_at
            if evaluated:
                with par.together():  # rank 0 writing the best checkpoint fails for all
                    _evaluate_and_keep(model, tokenizer, data, cfg, device, state, best_dir,
                                       log, on_log, write=par.is_main)
            if evaluated or par.main_decides(saves.due(state["step"])):  # by rank 0's clock
                # Each rank's generators (its own dropout masks); one process: as ever.
                rngs = ({"rank_rngs": par.gather_to_main(rank_rng_state())}
                        if par.world_size > 1 else {})
                with par.together():  # a failed save stops every rank, not rank 0 alone
                    if par.is_main:
                        flush_log(log, last_dir)  # the log holds every step up to the state
                        save_training_state(last_dir, model, tokenizer, optimizer, scheduler,
                                            sampler, streams, state, **rngs)
                saves.saved()
        with par.together():
            flush_log(log, last_dir)
    finally:
        bar.close()
        with contextlib.suppress(OSError):  # flushed above; a full disk is reported there
            log.close()
    summary = {"steps": state["step"], "best_score": state["best_score"],
               **selection_summary(state["history"]),
               "batches_per_task": dict(sampler.counts), "probabilities": probs,
               "dev_history": state["history"], "throughput": meter.summary(),
               "seen": seen_per_task(streams, par.world_size)}
    with par.together():  # every rank returns once rank 0's checkpoints are written
        if par.is_main:
            write_json_atomic(out_dir / "summary.json", summary)
    logger.info(f"{desc}: {summary['evaluations']} dev evaluation(s), best at step "
                f"{summary['best_step']} of {state['step']} (score {state['best_score']:.2f})")
    if summary["evaluations"] == 1:
        logger.warning(f"{desc} was scored on dev once, so model selection chose nothing; "
                       "set training.evaluations (or eval_every) for several evaluations.")
    return PhaseResult(best_dir, state["best_score"], state["step"], state["history"],
                       dict(sampler.counts), probs, summary["evaluations"],
                       summary["best_step"], summary["seen"])


def seen_per_task(streams: dict[str, BatchStream], world_size: int) -> dict[str, dict]:
    """Per task: its training examples (after any cap) and the examples, real tokens and
    padded tokens its batches gave over the whole phase, every rank's (train/budget.py)."""
    out = {}
    for name, stream in streams.items():
        lengths = stream._lengths or feature_lengths(stream.data.train_features)
        out[name] = {"train_examples": len(stream.data.train_features), **seen_in_stream(
            lengths, stream.batch_size, stream.seed, stream.epoch, stream.position,
            group_by_length=stream.group_by_length, bucket_width=stream.bucket_width,
            world_size=world_size)}
    return out


def flush_log(log, last_dir: Path) -> None:
    """Flush log.jsonl; a full disk is an error that says what is intact."""
    with disk_full_is_clear("the training log", Path(log.name), last_dir, atomic=False):
        log.flush()


def check_finite(loss: float, grad_norm: float, task: str, step: int, steps: int,
                 last_dir: Path) -> None:
    """Stop the phase at a non-finite loss or gradient, before the step changes the weights
    and before anything is saved after it (`last/` keeps the last good state)."""
    if math.isfinite(loss) and math.isfinite(grad_norm):
        return
    what = f"loss {loss}" if not math.isfinite(loss) else f"gradient norm {grad_norm}"
    step_of = saved_step(last_dir)
    kept = (f"the last good state, {last_dir} (step {step_of}), is kept as it was"
            if step_of is not None else "no resume state had been saved yet")
    raise XstiltsError(
        f"training diverged at step {step} of {steps}: task {task!r} gave a non-finite "
        f"{what}; nothing was saved after it and {kept}.\n  fix: lower "
        "training.learning_rate (or raise warmup_ratio), try training.bf16: false, or check "
        "that task's data; then run again.")


def truncate_log(path: Path, step: int) -> None:
    """Keep the log's records up to `step` (the state this phase starts from): an interrupted
    run may have logged steps after its last saved state, which the resumed run logs again,
    and a line torn by a kill. Rewritten atomically."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # torn by a kill
        if isinstance(record, dict) and record.get("step", 0) <= step:
            kept.append(line + "\n")
    write_text_atomic(path, "".join(kept))


def selection_summary(history: list[dict]) -> dict:
    """How many dev evaluations a phase had and at which step the kept checkpoint was."""
    best = max(history, key=lambda r: r["score"]) if history else None  # first of ties wins
    return {"evaluations": len(history), "best_step": best["step"] if best else None}


def _evaluate_and_keep(model, tokenizer, data, cfg, device, state, best_dir, log,
                       on_log=None, write: bool = True) -> None:
    """Score the dev sets; keep the checkpoint if it is the best so far (written only when
    `write`: rank 0 of several processes); count patience."""
    result = validate(model, data, tokenizer, cfg, device)
    record = {"step": state["step"], "dev": result["tasks"], "score": result["score"]}
    state["history"].append(record)
    log.write(json.dumps(record) + "\n")
    flush_log(log, best_dir.parent / "last")
    if on_log:
        on_log(record)
    if result["score"] > state["best_score"]:
        state["best_score"], state["bad_evals"] = result["score"], 0
        if write:
            with (disk_full_is_clear("the best checkpoint", best_dir, best_dir.parent / "last"),
                  AtomicDir(best_dir) as tmp):
                model.save(tmp, tokenizer)
                write_json_atomic(tmp / "dev_metrics.json", record)
    else:
        state["bad_evals"] += 1
        if cfg.patience and state["bad_evals"] >= cfg.patience:
            state["done"] = True  # early stopping
