"""The training loop of one phase: one or many tasks, one shared encoder, a head per task.

Each optimiser step draws a task from the sampler and accumulates `grad_accum` batches of
that task. Dev sets are scored every `eval_every` steps; the mean of the tasks' main
metrics selects the best checkpoint and drives early stopping. `last/` holds the full
training state (weights, optimiser, scheduler, sampler, data order, RNGs) so an
interrupted phase resumes exactly where it stopped (log.jsonl is cut back to that state, so
no step is logged twice).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xstilts.artifacts import AtomicDir, write_json_atomic, write_text_atomic
from xstilts.config import TrainingConfig
from xstilts.errors import XstiltsError
from xstilts.evaluate.predict import autocast, predict_and_score, to_device
from xstilts.formats.base import TaskFormat
from xstilts.progress import progress
from xstilts.train.optim import build_optimizer
from xstilts.train.samplers import TaskSampler, task_probabilities
from xstilts.train.state import load_training_state, save_training_state

logger = logging.getLogger(__name__)


@dataclass
class TaskData:
    """One task of a phase, featurized: what the loop needs to train and validate on it."""

    task: object
    fmt: TaskFormat
    head_name: str
    train_features: list[dict]
    dev_examples: list[dict]
    max_length: int  # tokens per sequence for this task (train and dev)


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


class BatchStream:
    """Endless, seeded batches of one task; (epoch, position) is its whole state."""

    def __init__(self, data: TaskData, batch_size: int, pad_id: int, seed: int):
        self.data, self.batch_size, self.pad_id, self.seed = data, batch_size, pad_id, seed
        self.epoch, self.position = 0, 0

    def _order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(
            len(self.data.train_features))

    def next(self) -> dict:
        n = len(self.data.train_features)
        if self.position >= n:
            self.epoch, self.position = self.epoch + 1, 0
        idx = self._order()[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        fmt = self.data.fmt  # for_epoch: e.g. MLM's fresh masks each epoch
        return fmt.collate([fmt.for_epoch(self.data.train_features[i], self.epoch) for i in idx],
                           self.pad_id)


def total_steps(cfg: TrainingConfig, data: list[TaskData]) -> int:
    """The step budget: `max_steps`, else `epochs` over all tasks' batches."""
    if cfg.max_steps:
        return cfg.max_steps
    batches = sum(math.ceil(len(d.train_features) / cfg.batch_size) for d in data)
    return max(1, math.ceil(cfg.epochs * batches / cfg.grad_accum))


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
        _, metrics = predict_and_score(model.encoder, model.heads[d.head_name], d.fmt, d.task,
                                       examples, tokenizer, d.max_length,
                                       cfg.eval_batch_size, device,
                                       d.task.train_language, cfg.bf16,
                                       desc=f"dev {d.task.name} ({d.task.train_language})",
                                       level=logging.DEBUG)
        scores[d.task.name] = metrics
    # A task may select on another of its format's metrics (CCG: accuracy, not chunk F1).
    main = [selection_score(scores[d.task.name], d) for d in data]
    mean = float(np.mean(main))
    return {"tasks": scores, "score": mean}


def train_phase(model, tokenizer, data: list[TaskData], cfg: TrainingConfig, out_dir: Path,
                seed: int, device: torch.device, desc: str = "train") -> PhaseResult:
    """Train `model` on `data` and return where the best checkpoint is."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    best_dir, last_dir = out_dir / "best", out_dir / "last"
    steps = total_steps(cfg, data)
    sizes = {d.task.name: len(d.train_features) for d in data}
    probs = task_probabilities(cfg.sampler, sizes, cfg.sampler_cap, cfg.temperature, cfg.weights)
    sampler = TaskSampler(probs, seed)
    streams = {d.task.name: BatchStream(d, cfg.batch_size, tokenizer.pad_token_id, seed + i)
               for i, d in enumerate(data)}
    optimizer, scheduler = build_optimizer(model, cfg, steps)
    eval_at = set(evaluation_steps(cfg, steps))
    state = {"step": 0, "best_score": -math.inf, "bad_evals": 0, "history": [], "done": False}

    if (last_dir / "training_state.json").exists():  # resume an interrupted phase
        state = load_training_state(last_dir, model, optimizer, scheduler, sampler, streams)
    model.to(device).train()
    truncate_log(out_dir / "log.jsonl", state["step"])
    log = (out_dir / "log.jsonl").open("a", encoding="utf-8")
    bar = progress(total=steps, initial=state["step"], desc=desc, unit="step")
    seen, started = 0, time.perf_counter()
    try:
        while state["step"] < steps and not state["done"]:
            name = sampler.next()
            stream = streams[name]
            head = model.heads[stream.data.head_name]
            loss_sum = 0.0
            for _ in range(cfg.grad_accum):
                batch = to_device(stream.next(), device)
                with autocast(device, cfg.bf16):
                    loss = stream.data.fmt.loss(model.encoder, head, batch) / cfg.grad_accum
                loss.backward()
                loss_sum += float(loss.detach())
                seen += int(batch["input_ids"].shape[0])
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            rate = seen / max(1e-9, time.perf_counter() - started)
            bar.set_postfix(task=name, loss=f"{loss_sum:.3f}", ex_s=f"{rate:.1f}")
            bar.update(1)
            log.write(json.dumps({"step": state["step"], "task": name, "loss": loss_sum,
                                  "lr": scheduler.get_last_lr()[0]}) + "\n")
            if state["step"] in eval_at:
                _evaluate_and_keep(model, tokenizer, data, cfg, device, state, best_dir, log)
                state["sampler_counts"] = dict(sampler.counts)
                save_training_state(last_dir, model, tokenizer, optimizer, scheduler, sampler,
                                    streams, state)
    finally:
        bar.close()
        log.close()
    summary = {"steps": state["step"], "best_score": state["best_score"],
               **selection_summary(state["history"]),
               "batches_per_task": dict(sampler.counts), "probabilities": probs,
               "dev_history": state["history"]}
    write_json_atomic(out_dir / "summary.json", summary)
    logger.info(f"{desc}: {summary['evaluations']} dev evaluation(s), best at step "
                f"{summary['best_step']} of {state['step']} (score {state['best_score']:.2f})")
    if summary["evaluations"] == 1:
        logger.warning(f"{desc} was scored on dev once, so model selection chose nothing; "
                       "set training.evaluations (or eval_every) for several evaluations.")
    return PhaseResult(best_dir, state["best_score"], state["step"], state["history"],
                       dict(sampler.counts), probs, summary["evaluations"],
                       summary["best_step"])


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


def _evaluate_and_keep(model, tokenizer, data, cfg, device, state, best_dir, log) -> None:
    """Score the dev sets; keep the checkpoint if it is the best so far; count patience."""
    result = validate(model, data, tokenizer, cfg, device)
    record = {"step": state["step"], "dev": result["tasks"], "score": result["score"]}
    state["history"].append(record)
    log.write(json.dumps(record) + "\n")
    log.flush()
    if result["score"] > state["best_score"]:
        state["best_score"], state["bad_evals"] = result["score"], 0
        with AtomicDir(best_dir) as tmp:
            model.save(tmp, tokenizer)
            write_json_atomic(tmp / "dev_metrics.json", record)
    else:
        state["bad_evals"] += 1
        if cfg.patience and state["bad_evals"] >= cfg.patience:
            state["done"] = True  # early stopping
