"""The X-STILTs protocol's phase code: the bodies of the jobs a plan is made of.

phase (i)   load a pretrained encoder;
phase (ii)  train it on one or more intermediate tasks (`train_intermediate`);
phase (iii) per target: fresh head on the (intermediate) encoder, fine-tune on English train,
            keep the best checkpoint on English dev (`train_target`), then zero-shot on each
            language (`evaluate_language`), predictions in the XTREME layout.
`run` compiles a config into a plan (xstilts.study.plan) and executes it; every artifact is
written atomically, so an interruption loses nothing finished.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from pathlib import Path

import numpy as np
import torch

from xstilts.artifacts import content_key
from xstilts.config import (
    DEFAULT_MAX_LENGTH,
    EncoderConfig,
    PhaseConfig,
    RunConfig,
    TrainingConfig,
)
from xstilts.errors import XstiltsError
from xstilts.evaluate.embeddings import EmbeddingMemo
from xstilts.evaluate.predict import predict_and_score
from xstilts.features import FeatureCache, featurize
from xstilts.formats import get_format
from xstilts.models.encoder import (
    EncoderDefaults,
    max_positions,
    resolve_encoder,  # noqa: F401  (re-exported for callers that resolve encoders)
)
from xstilts.models.forward import forward_of, use_forward
from xstilts.models.kept import load_encoder_isolated, load_start_encoder
from xstilts.models.mlm_head import load_pretrained_mlm_head
from xstilts.models.multitask import MultiTaskModel
from xstilts.progress import stage
from xstilts.tasks.known_splits import LazyExamples, known_split
from xstilts.tasks.reader_io import Examples
from xstilts.tasks.registry import resolve_task, suite_tasks
from xstilts.tasks.splits import is_oracle, needed_splits, threshold_split
from xstilts.tasks.task import FileSource, Task
from xstilts.train.loop import TaskData, train_phase


def seed_everything(seed: int) -> None:
    """One seed fixes Python, NumPy and torch (same seed, same numbers on CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def declared_tasks(config: RunConfig) -> dict[str, Task]:
    """Tasks from the config: generated suites first, then `tasks:` declarations."""
    tasks: dict[str, Task] = {}
    for name, suite in config.suites.items():
        tasks.update(suite_tasks(name, suite.sizes, suite.seed, suite.task_sizes))
    for name, decl in config.tasks.items():
        source = FileSource(reader=decl.reader, paths=dict(decl.paths), fields=decl.fields,
                            base_dir=decl.base_dir or ".", options=decl.reader_options,
                            split_options=dict(decl.split_reader_options))
        tasks[name] = Task(name=name, format=decl.format, languages=decl.languages,
                           source=source, train_language=decl.train_language,
                           train_languages=decl.train_languages,
                           labels=decl.labels, description=decl.description,
                           options=dict(decl.options))
    return tasks


def resolve_tasks(config: RunConfig, extra: list[str] | tuple = ()) -> dict[str, Task]:
    """Every task of the run (and `extra` ones, e.g. a study's pool) with its final source,
    languages and options (no data read).

    Options are layered once, here: `label_position` < the task's own < `task_options`.
    """
    user = declared_tasks(config)
    names = list(config.intermediate.tasks if config.intermediate else [])
    names += [t for t in list(extra) + list(config.targets.tasks) if t not in names]
    tasks = {n: _resolve_named(config, n, user, list(extra)) for n in names}
    for name, langs in config.targets.languages.items():
        if name not in tasks:
            raise XstiltsError(f"{config.where('targets', 'languages', name)}: names {name!r}, "
                               "which is not a target.\n  fix: list it under targets.tasks or "
                               "remove it.")
        unknown = sorted(set(langs) - set(tasks[name].languages))
        if unknown:
            raise XstiltsError(
                f"{config.where('targets', 'languages', name)}: {unknown} are not languages of "
                f"{name!r}.\n  fix: choose from {list(tasks[name].languages)}.")
        tasks[name] = dataclasses.replace(tasks[name], languages=list(langs))
    for name, task in tasks.items():
        get_format(task.format)  # unknown formats fail before any work
        options = {"label_position": config.label_position, **task.options,
                   **config.task_options.get(name, {})}
        caveat = task.source_caveats.get(config.data.source)
        if caveat and not config.data.allow_gold_only:
            raise XstiltsError(
                f"task {name!r} from data.source {config.data.source!r}: {caveat}\n  fix: use "
                "the benchmark's own files (`data: {source: local, dir: PATH}`, the folder "
                "XTREME's download_data.sh writes), or set `data.allow_gold_only: true` to run "
                "it anyway with results marked not comparable.")
        if caveat:
            options["not_comparable"] = caveat
        tasks[name] = dataclasses.replace(task, options=options)
    return tasks


def _resolve_named(config: RunConfig, name: str, user: dict[str, Task], extra: list) -> Task:
    """One task of the run by name, from its configured source; an unknown name is refused
    with the file, line and key that name it."""
    try:
        task = resolve_task(name, user)
    except XstiltsError as exc:
        phase = next((p for p in ("intermediate", "targets")
                      if name in (getattr(config, p).tasks if getattr(config, p) else [])), None)
        where = (config.where(phase, "tasks", getattr(config, phase).tasks.index(name))
                 if phase else config.where("pool", extra.index(name), top=True))
        raise XstiltsError(f"{where}: {exc}") from None
    return task.with_source(config.data.source, config.data.dir, config.data.hub_mirror)


def sequence_length(task: Task, training: TrainingConfig) -> int:
    """Tokens per sequence for a trainable task: the phase's setting, else the task's own
    default (built-in QA: XTREME's 384), else DEFAULT_MAX_LENGTH."""
    if training.max_length is not None:
        return training.max_length
    return int(task.options.get("max_length", DEFAULT_MAX_LENGTH))


QUICK = 1.0  # seconds: a load or featurisation quicker than this is a DEBUG line
# Read once per process (jobs of a study share them).
_SPLITS: dict[tuple, Examples | LazyExamples] = {}


def load_split(task: Task, split: str, lang: str | None = None) -> Examples | LazyExamples:
    """A task's examples of one split: one language, or (lang None) its training language(s);
    files an earlier run read are read again only when an example is needed (known_splits)."""
    languages = (lang,) if lang else (task.train_languages or (task.train_language,))
    # Local files by size and modification time: a file changed on disk is read again.
    stats = [(str(p), p.stat()) for p in task.local_files(split, languages)]
    stamps = [(path, st.st_size, st.st_mtime_ns) for path, st in stats]
    key = (task.name, content_key({"source": task.source.describe(), "files": stamps}),
           split, lang)
    if key not in _SPLITS:
        what = f"{task.name} {split} ({','.join(languages)})"

        def read() -> Examples:
            with stage(f"load {what}", done=f"loaded {what}", min_seconds=QUICK) as loading:
                examples = task.load_training(split) if lang is None else task.load(split, lang)
                loading.count = len(examples)
            return examples

        # Files read, checked and featurised before are not read again unless needed.
        _SPLITS[key] = known_split(task, split, languages, read)
    return _SPLITS[key]


def with_learned_labels(task: Task) -> Task:
    """A data-dependent label set (CCG supertags) read from training data, before training."""
    if task.labels is None and task.options.get("labels_from_train"):
        return task.with_labels_from(load_split(task, "train"))
    return task


class RunData:
    """Every task of a config with the splits its jobs read loaded (for the demo's baselines
    and tests): the same (task, split, language) as the checks before a run."""

    def __init__(self, config: RunConfig):
        self.tasks = {n: with_learned_labels(t) for n, t in resolve_tasks(config).items()}
        self.splits: dict[tuple[str, str, str], list[dict]] = {}
        # Intermediate tasks are trained, not evaluated; a task that is neither is evaluated.
        intermediate = config.intermediate.tasks if config.intermediate else []
        evaluated = [n for n in self.tasks if n in config.targets.tasks or n not in intermediate]
        needed = needed_splits(self.tasks, evaluated, config.targets.eval_split)
        for task, split, lang in needed:
            self.splits[(task.name, split, lang or task.train_language)] = \
                load_split(task, split, lang)

    def get(self, task: str, split: str, lang: str) -> list[dict]:
        return self.splits[(task, split, lang)]

    def texts(self) -> list[str]:
        """Every string in the run's data (for a locally built tokenizer or vocabulary trim)."""
        return strings_of(self.splits.values())


def strings_of(splits) -> list[str]:
    """Every string field of every example (ids excluded)."""
    out = []
    for examples in splits:
        for ex in examples:
            for key, value in ex.items():
                if key == "id":
                    continue
                if isinstance(value, str):
                    out.append(value)
                elif isinstance(value, list):
                    out.extend(v for v in value if isinstance(v, str))
    return out


def with_encoder_options(task: Task, encoder: EncoderConfig, defaults: EncoderDefaults) -> Task:
    """Give retrieval and bitext mining their layer and text prefix: the config's, else the
    encoder's own defaults (read from its config), unless the task sets them."""
    if task.format not in ("retrieval", "bitext_mining"):
        return task
    layer = encoder.retrieval_layer
    prefix = encoder.text_prefix
    options = {"layer": defaults.retrieval_layer if layer is None else layer,
               "prefix": defaults.text_prefix if prefix is None else prefix, **task.options}
    return dataclasses.replace(task, options=options)


def evaluation_length(task: Task, fmt, training: TrainingConfig,
                      model_limit: int | None) -> int:
    """Tokens per sequence at evaluation: a trained task's training length; an untrained one's
    own (retrieval: XTREME's 512), capped by what the model accepts."""
    if fmt.encode_length is None:
        return sequence_length(task, training)
    length = int(task.options.get("max_length", fmt.encode_length))
    return min(length, model_limit) if model_limit else length


def freeze_bottom_layers(encoder, n: int) -> None:
    """Freeze the embeddings and the bottom n layers: no backward pass through them (CPU)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None or n > len(layers):
        raise XstiltsError(
            f"encoder.freeze_layers: {n} but the encoder has "
            f"{len(layers) if layers is not None else 'no recognisable'} layers.\n  fix: use a "
            "number up to the layer count (BERT/XLM-R-style encoders), or 0."
        )
    for module in [encoder.embeddings, *layers[:n]]:
        module.requires_grad_(False)


def build_model(location: str, encoder_config: EncoderConfig, keep: bool = False,
                device: torch.device | str | None = None):
    """Load the encoder for a phase (with a fresh layer aggregation, if any); freeze what
    the encoder settings say; mark it with the forward that runs it on `device` (default:
    the GPU when there is one; models/forward.py). `keep`: a start encoder, kept in memory
    for the next job that starts from it (models/kept.py); either way the load draws no
    random numbers."""
    load = load_start_encoder if keep else load_encoder_isolated
    encoder, tokenizer = load(location, encoder_config.trust_remote_code,
                              encoder_config.attention_dropout)
    use_forward(encoder, encoder_config.forward,
                device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if encoder_config.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if encoder_config.freeze_layers:
        freeze_bottom_layers(encoder, encoder_config.freeze_layers)
    return MultiTaskModel(encoder, encoder_config.layer_aggregation), tokenizer


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


def train_intermediate(tasks: tuple[Task, ...], phase: PhaseConfig, seed: int, start: str,
                       encoder: EncoderConfig, folder: Path, device: torch.device,
                       label: str, on_log=None, features: FeatureCache | None = None) -> dict:
    """Phase (ii): train `start` on the tasks together; returns the phase summary (`on_log`:
    see train_phase)."""
    seed_everything(seed)
    model, tokenizer = build_model(start, encoder, keep=True, device=device)
    tds = phase_data(model, tokenizer, {t.name: t for t in tasks}, phase, features)
    train_phase(model, tokenizer, tds, phase.training, folder, seed, device, desc=label,
                on_log=on_log)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return {**summary, "forward": forward_of(model.backbone)}


def train_target(task: Task, phase: PhaseConfig, seed: int, start: str,
                 encoder: EncoderConfig, folder: Path, device: torch.device,
                 on_log=None, features: FeatureCache | None = None) -> dict:
    """Phase (iii), training: fine-tune `start` on one target; returns its dev summary
    (`on_log`: see train_phase)."""
    seed_everything(seed)
    model, tokenizer = build_model(start, encoder, keep=True, device=device)
    tds = phase_data(model, tokenizer, {task.name: task}, phase, features)
    result = train_phase(model, tokenizer, tds, phase.training, folder, seed, device,
                         desc=f"target {task.name}", on_log=on_log)
    return {"best_score": result.best_score, "steps": result.steps,
            "evaluations": result.evaluations, "best_step": result.best_step,
            "checkpoint": str(result.best_dir), "forward": forward_of(model.backbone)}


# The last evaluated model, kept for the next language of the same target, with the memo of
# its sentence embeddings (retrieval: the English side is encoded once for all languages).
_LOADED: dict = {}


def _evaluation_model(location: str, task: Task, trained: bool, encoder: EncoderConfig,
                      device: torch.device):
    """(encoder, head, tokenizer, embedding memo) to evaluate with; a trained target's head
    from its checkpoint."""
    key = (location, task.name, trained, str(device), encoder.forward)
    if _LOADED.get("key") != key:
        _LOADED.clear()
        model, tokenizer = build_model(location, encoder, keep=not trained, device=device)
        head = None
        if trained:
            model.load_heads(Path(location), {task.name: task})
            head = model.heads[task.name]
        model.to(device)
        _LOADED.update(key=key, value=(model.encoder, head, tokenizer, EmbeddingMemo()))
    return _LOADED["value"]


def evaluate_language(task: Task, lang: str, split: str, phase: PhaseConfig, location: str,
                      trained: bool, encoder: EncoderConfig, folder: Path,
                      device: torch.device, features: FeatureCache | None = None) -> dict:
    """Phase (iii), zero-shot: one target in one language; predictions and gold labels in
    XTREME's layout under `folder`; returns metrics (and settings tuned on dev). Features
    come through the feature cache `features`, if any."""
    encoder_model, head, tokenizer, memo = _evaluation_model(location, task, trained, encoder,
                                                             device)
    fmt = get_format(task.format)
    length = evaluation_length(task, fmt, phase.training,
                               max_positions(encoder_model.config, tokenizer))

    def predict(t: Task, examples: list[dict], split_name: str) -> tuple[dict, dict]:
        # Featurised with the declared task: settings tuned on dev only change decoding.
        label = f"eval {task.name} {split_name} ({lang})"
        feats = featurize(features, fmt, examples, tokenizer, task, length, split_name, lang,
                          desc=f"{label}: featurise", level=logging.DEBUG,
                          done=f"{label}: featurised")
        return predict_and_score(encoder_model, head, fmt, t, examples, tokenizer, length,
                                 phase.training.eval_batch_size, device, lang,
                                 phase.training.bf16, feats, memo, desc=label)

    examples = load_split(task, split, lang)
    if phase.test_limit:
        examples = fmt.limit(examples, phase.test_limit, task)
    lang_task, tuned = task, {}
    tuning = threshold_split(task)
    if tuning:  # settings chosen on this language's dev split, then scored
        # The oracle (the paper's BUCC dev table) tunes on the very examples it scores.
        dev = examples if tuning == split else load_split(task, tuning, lang)
        lang_task = fmt.prepare(task, dev, lambda t, exs: predict(t, exs, tuning)[0])
        tuned = {k: v for k, v in lang_task.options.items() if task.options.get(k) != v}
    predictions, metrics = predict(lang_task, examples, split)
    filename = f"{split}-{lang}.{fmt.prediction_suffix}"  # XTREME: test-<lang>.tsv|json
    fmt.write_predictions(examples, predictions, lang_task, folder / "predictions" / filename)
    has_labels = True
    try:  # gold in XTREME's layout, to re-score with `xstilts score`
        fmt.write_labels(examples, lang_task, folder / "labels" / filename)
    except NotImplementedError:
        has_labels = False
    return {"metrics": metrics, "tuned": tuned, "file": filename, "labels": has_labels,
            "max_length": length, "split": split, "oracle": is_oracle(task, split),
            "forward": forward_of(_backbone(encoder_model))}


def _backbone(encoder_model):
    # The Hugging Face encoder inside a layer aggregation (the module build_model marked).
    return getattr(encoder_model, "backbone", encoder_model)


def run(config: RunConfig, out: Path, db: Path | None = None,
        device: torch.device | None = None, store: Path | None = None) -> dict | None:
    """Run one configuration end to end (a study of one); returns OUT/results.json's content
    (None on the ranks other than 0 of a data-parallel run).
    `store`: the artifact store (default OUT), shared by runs that point at the same one."""
    from xstilts.study.run import run_config

    return run_config(config, Path(out), db=db, device=device,
                      store=Path(store) if store else None)
