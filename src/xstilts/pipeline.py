"""The X-STILTs protocol for one configuration.

phase (i)   load a pretrained encoder;
phase (ii)  optionally train it on one or more intermediate tasks (trained once, reused);
phase (iii) per target: fresh head on the (intermediate) encoder, fine-tune on English
            train, keep the best checkpoint on English dev, evaluate zero-shot on every
            test language, export predictions in the XTREME layout.
Results are written after every target, so an interruption loses nothing finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import torch

from xstilts.artifacts import content_key, write_json_atomic
from xstilts.config import DEFAULT_MAX_LENGTH, PhaseConfig, RunConfig, TrainingConfig
from xstilts.errors import XstiltsError
from xstilts.evaluate.predict import predict_and_score
from xstilts.evaluate.store import record_target
from xstilts.formats import get_format
from xstilts.models.encoder import family_defaults, load_encoder, resolve_encoder
from xstilts.models.multitask import MultiTaskModel
from xstilts.tasks.registry import resolve_task, suite_tasks
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


def resolve_tasks(config: RunConfig) -> dict[str, Task]:
    """Every task of the run with its final source, languages and options (no data read).

    Options are layered once, here: `label_position` < the task's own < `task_options`.
    """
    user = declared_tasks(config)
    names = list(config.intermediate.tasks if config.intermediate else [])
    names += [t for t in config.targets.tasks if t not in names]
    tasks = {n: resolve_task(n, user).with_source(config.data.source, config.data.dir)
             for n in names}
    for name, langs in config.targets.languages.items():
        if name not in tasks:
            raise XstiltsError(f"targets.languages names {name!r}, which is not a target."
                               "\n  fix: list it under targets.tasks or remove it.")
        unknown = sorted(set(langs) - set(tasks[name].languages))
        if unknown:
            raise XstiltsError(
                f"targets.languages.{name}: {unknown} are not languages of {name!r}.\n  fix: "
                f"choose from {list(tasks[name].languages)}.")
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


def sequence_length(task: Task, training: TrainingConfig) -> int:
    """Tokens per sequence for a trainable task: the phase's setting, else the task's own
    default (built-in QA: XTREME's 384), else DEFAULT_MAX_LENGTH."""
    if training.max_length is not None:
        return training.max_length
    return int(task.options.get("max_length", DEFAULT_MAX_LENGTH))


class RunData:
    """Every task of the run with its loaded splits (each file read once)."""

    def __init__(self, config: RunConfig):
        self.tasks = resolve_tasks(config)
        self.eval_split = config.targets.eval_split
        self.splits: dict[tuple[str, str, str], list[dict]] = {}
        intermediate = set(config.intermediate.tasks if config.intermediate else [])
        for name, task in self.tasks.items():
            fmt = get_format(task.format)
            if fmt.trainable:
                for split in ("train", "dev"):
                    self.splits[(name, split, task.train_language)] = task.load_training(split)
                if task.labels is None and task.options.get("labels_from_train"):
                    # A data-dependent label set (CCG supertags), fixed before anything trains.
                    self.tasks[name] = task = task.with_labels_from(
                        self.get(name, "train", task.train_language))
            if name in config.targets.tasks or name not in intermediate:
                for lang in task.languages:
                    self._load(task, self.eval_split_of(task), lang)
                    if fmt.tunes_on_dev:  # e.g. BUCC: each language's threshold is set on dev
                        self._load(task, "dev", lang)

    def eval_split_of(self, task: Task) -> str:
        """The split zero-shot evaluation reads: `targets.eval_split`, where the task has it."""
        if self.eval_split == "dev" and task.has_split("dev") and not get_format(
                task.format).tunes_on_dev:
            return "dev"
        return "test"

    def _load(self, task: Task, split: str, lang: str) -> None:
        self.splits[(task.name, split, lang)] = task.load(split, lang)

    def get(self, task: str, split: str, lang: str) -> list[dict]:
        return self.splits[(task, split, lang)]

    def texts(self) -> list[str]:
        """Every string in the run's data (for a locally built tokenizer or vocabulary trim)."""
        out = []
        for examples in self.splits.values():
            for ex in examples:
                for key, value in ex.items():
                    if key == "id":
                        continue
                    if isinstance(value, str):
                        out.append(value)
                    elif isinstance(value, list):
                        out.extend(v for v in value if isinstance(v, str))
        return out


def with_encoder_options(task: Task, config: RunConfig, encoder_name: str,
                         num_layers: int) -> Task:
    """Give retrieval and bitext mining their layer and text prefix (config, else the encoder
    family's default)."""
    if task.format not in ("retrieval", "bitext_mining"):
        return task
    defaults = family_defaults(encoder_name, num_layers)
    layer = config.encoder.retrieval_layer
    prefix = config.encoder.text_prefix
    options = {"layer": defaults.retrieval_layer if layer is None else layer,
               "prefix": defaults.text_prefix if prefix is None else prefix, **task.options}
    return dataclasses.replace(task, options=options)


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


def build_model(location: str, config: RunConfig):
    """Load the encoder for a phase (with a fresh layer aggregation, if any); freeze word
    embeddings when asked."""
    encoder, tokenizer = load_encoder(location, config.encoder.trust_remote_code,
                                      config.encoder.attention_dropout)
    if config.encoder.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if config.encoder.freeze_layers:
        freeze_bottom_layers(encoder, config.encoder.freeze_layers)
    return MultiTaskModel(encoder, config.encoder.layer_aggregation), tokenizer


def phase_data(model, tokenizer, data: RunData, phase: PhaseConfig) -> list[TaskData]:
    """Featurize each task's train split and attach a (possibly shared) head."""
    head_of = {t: head for head, members in phase.shared_heads.items() for t in members}
    out = []
    for name in phase.tasks:
        task = data.tasks[name]
        fmt = get_format(task.format)
        if not fmt.trainable:
            continue
        if task.format == "mlm":  # the MLM head predicts over this tokenizer's vocabulary
            task = dataclasses.replace(task, options={**task.options, "vocab_size": len(tokenizer)})
            data.tasks[name] = task
        head_name = head_of.get(name, name)
        model.add_head(head_name, task)
        train = data.get(name, "train", task.train_language)
        length = sequence_length(task, phase.training)
        feats = fmt.featurize(train, tokenizer, task, length)
        out.append(TaskData(task, fmt, head_name, feats,
                            data.get(name, "dev", task.train_language), length))
    return out


def run_intermediate(config: RunConfig, data: RunData, base: str, out: Path,
                     device: torch.device) -> tuple[str, dict]:
    """Phase (ii): train once per content key; reuse a finished checkpoint."""
    phase = config.intermediate
    key = content_key({"encoder": base, "enc": config.encoder.model_dump(),
                       "tasks": [data.tasks[t].describe() for t in phase.tasks],
                       "phase": phase.model_dump(), "seed": config.seed})
    phase_dir = out / "checkpoints" / f"intermediate-{key}"
    summary = phase_dir / "summary.json"
    if summary.exists() and (phase_dir / "best").exists():
        print(f"[xstilts] reusing intermediate checkpoint {phase_dir / 'best'}")
        return str(phase_dir / "best"), json.loads(summary.read_text(encoding="utf-8"))
    seed_everything(config.seed)
    model, tokenizer = build_model(base, config)
    tds = phase_data(model, tokenizer, data, phase)
    train_phase(model, tokenizer, tds, phase.training, phase_dir, config.seed, device,
                desc="intermediate " + "+".join(phase.tasks))
    return str(phase_dir / "best"), json.loads(summary.read_text(encoding="utf-8"))


def run_target(config: RunConfig, data: RunData, name: str, start: str, out: Path,
               device: torch.device, encoder_name: str) -> dict:
    """Phase (iii) for one target: fine-tune (if trainable), then zero-shot on every language."""
    phase = config.targets.for_task(name)
    seed_everything(config.seed)
    model, tokenizer = build_model(start, config)
    task = with_encoder_options(data.tasks[name], config, encoder_name,
                                model.encoder.config.num_hidden_layers)
    data.tasks[name] = task
    fmt = get_format(task.format)
    head, dev = None, None
    if fmt.trainable:
        tds = phase_data(model, tokenizer, data, phase)
        key = content_key({"start": start, "task": task.describe(), "phase": phase.model_dump(),
                           "enc": config.encoder.model_dump(), "seed": config.seed})
        result = train_phase(model, tokenizer, tds, phase.training,
                             out / "checkpoints" / f"target-{name}-{key}", config.seed, device,
                             desc=f"target {name}")
        best_encoder, tokenizer = load_encoder(str(result.best_dir))
        model.set_encoder(best_encoder)  # keeps the layer aggregation: load_heads restores it
        model.load_heads(result.best_dir, {tds[0].head_name: task})
        head = model.heads[tds[0].head_name]
        dev = {"best_score": result.best_score, "steps": result.steps,
               "checkpoint": str(result.best_dir)}
    model.to(device)
    per_language, tuned = {}, {}

    length = sequence_length(task, phase.training)

    def predict(t: Task, examples: list[dict], lang: str) -> tuple[dict, dict]:
        return predict_and_score(model.encoder, head, fmt, t, examples, tokenizer,
                                 length, phase.training.eval_batch_size,
                                 device, lang, phase.training.bf16)

    for lang in task.languages:
        examples = data.get(name, "test", lang)
        if phase.test_limit:
            examples = examples[: phase.test_limit]
        lang_task = task
        if fmt.tunes_on_dev:  # settings chosen on this language's dev split, then tested
            lang_task = fmt.prepare(task, data.get(name, "dev", lang),
                                    lambda t, exs, lang=lang: predict(t, exs, lang)[0])
            tuned[lang] = {k: v for k, v in lang_task.options.items()
                           if task.options.get(k) != v}
        predictions, metrics = predict(lang_task, examples, lang)
        fmt.write_predictions(examples, predictions, lang_task,
                              out / "predictions" / name / f"test-{lang}.{fmt.prediction_suffix}")
        with contextlib.suppress(NotImplementedError):  # gold in XTREME's layout, to re-score
            fmt.write_labels(examples, lang_task,
                             out / "labels" / name / f"test-{lang}.{fmt.prediction_suffix}")
        per_language[lang] = metrics
    metric_names = list(next(iter(per_language.values())))
    average = {m: float(np.mean([per_language[lang][m] for lang in per_language]))
               for m in metric_names}
    main = task.options.get("main_metric", fmt.main_metric)  # a task may pick another metric
    result = {"format": task.format, "main_metric": main, "languages": per_language,
              "average": average, "dev": dev, "options": task.options}
    if tuned:
        result["tuned_on_dev"] = tuned  # per language, e.g. {"de": {"threshold": 1.07}}
    return result


def run(config: RunConfig, out: Path, db: Path | None = None,
        device: torch.device | None = None) -> dict:
    """Run one configuration end to end; returns (and writes) OUT/results.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config_hash = content_key(config.model_dump())
    write_json_atomic(out / "config.json", config.model_dump())
    data = RunData(config)
    texts = data.texts()
    base = resolve_encoder(config.encoder.name, texts, config.seed)
    if config.encoder.trim_vocab:
        from xstilts.models.trim import ensure_trimmed

        prefix = config.encoder.text_prefix
        prefix = family_defaults(config.encoder.name, 0).text_prefix if prefix is None else prefix
        base = str(ensure_trimmed(base, texts + [prefix + t for t in texts] if prefix else texts))
    print(f"[xstilts] encoder {config.encoder.name} ({base}); "
          f"freeze_embeddings={config.encoder.freeze_embeddings} "
          f"trim_vocab={config.encoder.trim_vocab} "
          f"freeze_layers={config.encoder.freeze_layers} "
          f"attention_dropout={config.encoder.attention_dropout} device={device}")
    start, intermediate_summary = base, None
    if config.intermediate and config.intermediate.tasks:
        start, intermediate_summary = run_intermediate(config, data, base, out, device)
    results = {"config_hash": config_hash, "encoder": config.encoder.name,
               "encoder_location": base, "device": str(device),
               "settings": {"freeze_embeddings": config.encoder.freeze_embeddings,
                            "trim_vocab": config.encoder.trim_vocab,
                            "freeze_layers": config.encoder.freeze_layers,
                            "attention_dropout": config.encoder.attention_dropout,
                            "label_position": config.label_position, "seed": config.seed},
               "intermediate": {"tasks": config.intermediate.tasks if config.intermediate else [],
                                "checkpoint": start if start != base else None,
                                "summary": intermediate_summary},
               "targets": {}}
    db = db or out / "results.sqlite"
    for name in config.targets.tasks:
        target = run_target(config, data, name, start, out, device, config.encoder.name)
        results["targets"][name] = target
        write_json_atomic(out / "results.json", results)
        record_target(db, str(out.resolve()), config_hash, config.encoder.name,
                      results["intermediate"]["tasks"], name, target["languages"],
                      target["average"], config.seed)
    return results
