"""The X-STILTs protocol's phase bodies: what running each kind of job means.

phase (i)   the encoder a job starts from (models/build.py);
phase (ii)  train it on one or more intermediate tasks together (`train_intermediate`);
phase (iii) per target: a fresh head on the (intermediate) encoder, fine-tuned on English
            train, the best checkpoint kept on English dev (`train_target`); then zero-shot
            on each language (`evaluate_language`), predictions in XTREME's layout.
Each body takes its job (study/plan.py: what to compute, resolved once) and a `Workspace`
(where and with what it runs); study/jobs.py builds the workspace from the store.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from xstilts.config import EncoderConfig, PhaseConfig
from xstilts.evaluate.embeddings import EmbeddingMemo
from xstilts.evaluate.predict import Predictor, predict_and_score
from xstilts.features import FeatureCache, featurize
from xstilts.formats import get_format
from xstilts.models.build import backbone_of, build_model
from xstilts.models.encoder import max_positions
from xstilts.models.forward import forward_of
from xstilts.models.mlm_head import load_pretrained_mlm_head
from xstilts.study.plan import EvalJob, IntermediateJob, TargetJob
from xstilts.tasks.loading import QUICK, load_split
from xstilts.tasks.resolve import evaluation_length, sequence_length
from xstilts.tasks.splits import is_oracle, threshold_split
from xstilts.tasks.task import Task
from xstilts.train.loop import TaskData, train_phase


@dataclass(frozen=True)
class Workspace:
    """Where and with what one job runs."""

    folder: Path  # the job's own folder in the store
    start: str  # the model it loads: the base encoder, an intermediate's or a target's best
    encoder: EncoderConfig  # its settings, the forward resolved
    device: torch.device
    features: FeatureCache | None = None  # the store's feature cache
    on_log: Callable[[dict], None] | None = None  # trackers' record hook (train/loop.py)


def seed_everything(seed: int) -> None:
    """One seed fixes Python, NumPy and torch (same seed, same numbers on CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def phase_data(model, tokenizer, tasks: dict[str, Task], phase: PhaseConfig,
               features: FeatureCache | None = None) -> list[TaskData]:
    """Featurize each of the phase's tasks (`tasks`: name -> Task; train and dev, once, through
    the feature cache `features` if any) and attach a (possibly shared) head."""
    head_of = {t: head for head, members in phase.shared_heads.items() for t in members}
    out = []
    for name in phase.tasks:
        task = tasks[name]
        fmt = get_format(task.format)
        if not fmt.trainable:
            continue
        if task.format == "mlm":  # the MLM head predicts over this tokenizer's vocabulary
            task = dataclasses.replace(task, options={**task.options, "vocab_size": len(tokenizer)})
        head_name = head_of.get(name, name)
        new_head = head_name not in model.heads
        head = model.add_head(head_name, task)
        if new_head and task.format == "mlm":  # the checkpoint's own MLM head, where it has one
            load_pretrained_mlm_head(head, model.encoder, label=f"MLM {head_name!r}")
        length = sequence_length(task, phase.training)
        what = f"{name} train ({','.join(task.train_languages or (task.train_language,))})"
        train = featurize(features, fmt, load_split(task, "train"), tokenizer, task, length,
                          "train", desc=f"featurise {what}", done=f"featurised {what}",
                          min_seconds=QUICK)
        dev = load_split(task, task.selection_split)
        dev = dev[: phase.training.dev_limit] if phase.training.dev_limit else dev
        out.append(TaskData(task, fmt, head_name, train, dev, length,
                            featurize(features, fmt, dev, tokenizer, task, length, "dev",
                                      desc=f"featurise {name} dev", level=logging.DEBUG)))
    return out


def train_intermediate(job: IntermediateJob, work: Workspace) -> dict:
    """Phase (ii): train the start encoder on the job's tasks together; returns the phase
    summary."""
    seed_everything(job.seed)
    model, tokenizer = build_model(work.start, work.encoder, keep=True, device=work.device)
    tds = phase_data(model, tokenizer, {t.name: t for t in job.tasks}, job.phase, work.features)
    train_phase(model, tokenizer, tds, job.phase.training, work.folder, job.seed, work.device,
                desc=job.label, on_log=work.on_log)
    summary = json.loads((work.folder / "summary.json").read_text(encoding="utf-8"))
    return {**summary, "forward": forward_of(model.backbone)}


def train_target(job: TargetJob, work: Workspace) -> dict:
    """Phase (iii), training: fine-tune the start model on one target; returns its dev
    summary and what it trained on (`seen`: examples and tokens)."""
    seed_everything(job.seed)
    model, tokenizer = build_model(work.start, work.encoder, keep=True, device=work.device)
    tds = phase_data(model, tokenizer, {job.task.name: job.task}, job.phase, work.features)
    result = train_phase(model, tokenizer, tds, job.phase.training, work.folder, job.seed,
                         work.device, desc=f"target {job.task.name}", on_log=work.on_log)
    return {"best_score": result.best_score, "steps": result.steps,
            "evaluations": result.evaluations, "best_step": result.best_step,
            "checkpoint": str(result.best_dir), "forward": forward_of(model.backbone),
            "seen": result.seen}


# The last evaluated model, kept for the next language of the same target, with the memo of
# its sentence embeddings (retrieval: the English side is encoded once for all languages).
_LOADED: dict = {}


def _evaluation_model(task: Task, trained: bool, work: Workspace):
    """(encoder, head, tokenizer, embedding memo) to evaluate with; a trained target's head
    from its checkpoint."""
    key = (work.start, task.name, trained, str(work.device), work.encoder.forward)
    if _LOADED.get("key") != key:
        _LOADED.clear()
        model, tokenizer = build_model(work.start, work.encoder, keep=not trained,
                                       device=work.device)
        head = None
        if trained:
            model.load_heads(Path(work.start), {task.name: task})
            head = model.heads[task.name]
        model.to(work.device)
        _LOADED.update(key=key, value=(model.encoder, head, tokenizer, EmbeddingMemo()))
    return _LOADED["value"]


def evaluate_language(job: EvalJob, work: Workspace) -> dict:
    """Phase (iii), zero-shot: one target in one language (`work.start`: the trained target's
    best checkpoint, or for an untrained target the model it starts from); predictions and
    gold labels in XTREME's layout under the job's folder; returns metrics (and settings
    tuned on dev)."""
    task, lang, split = job.task, job.lang, job.split
    encoder_model, head, tokenizer, memo = _evaluation_model(task, job.model is not None, work)
    fmt = get_format(task.format)
    length = evaluation_length(task, fmt, job.phase.training,
                               max_positions(encoder_model.config, tokenizer))
    model = Predictor(encoder_model, head, tokenizer, work.device,
                      job.phase.training.eval_batch_size, job.phase.training.bf16, memo)

    def predict(t: Task, examples: list[dict], split_name: str) -> tuple[dict, dict]:
        # Featurised with the declared task: settings tuned on dev only change decoding.
        label = f"eval {task.name} {split_name} ({lang})"
        feats = featurize(work.features, fmt, examples, tokenizer, task, length, split_name,
                          lang, desc=f"{label}: featurise", level=logging.DEBUG,
                          done=f"{label}: featurised")
        return predict_and_score(model, fmt, t, examples, lang, length, feats, desc=label)

    examples = load_split(task, split, lang)
    if job.phase.test_limit:
        examples = fmt.limit(examples, job.phase.test_limit, task)
    lang_task, tuned = task, {}
    tuning = threshold_split(task)
    if tuning:  # settings chosen on this language's dev split, then scored
        # The oracle (the paper's BUCC dev table) tunes on the very examples it scores.
        dev = examples if tuning == split else load_split(task, tuning, lang)
        lang_task = fmt.prepare(task, dev, lambda t, exs: predict(t, exs, tuning)[0])
        tuned = {k: v for k, v in lang_task.options.items() if task.options.get(k) != v}
    predictions, metrics = predict(lang_task, examples, split)
    filename = f"{split}-{lang}.{fmt.prediction_suffix}"  # XTREME: test-<lang>.tsv|json
    fmt.write_predictions(examples, predictions, lang_task, work.folder / "predictions" / filename)
    has_labels = True
    try:  # gold in XTREME's layout, to re-score with `xstilts score`
        fmt.write_labels(examples, lang_task, work.folder / "labels" / filename)
    except NotImplementedError:
        has_labels = False
    return {"metrics": metrics, "tuned": tuned, "file": filename, "labels": has_labels,
            "max_length": length, "split": split, "oracle": is_oracle(task, split),
            "forward": forward_of(backbone_of(encoder_model))}
