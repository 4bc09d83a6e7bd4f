"""A run's tasks, resolved once before any work: declared and built-in tasks with their final
source, languages and options, and the lengths and encoder options they run with. Planning
reads these; nothing here reads data or imports torch."""

from __future__ import annotations

import dataclasses

from xstilts.config import DEFAULT_MAX_LENGTH, EncoderConfig, RunConfig, TrainingConfig
from xstilts.errors import XstiltsError
from xstilts.formats.spec import FormatSpec, format_spec
from xstilts.tasks.registry import resolve_task, suite_tasks
from xstilts.tasks.task import FileSource, Task


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
        format_spec(task.format)  # unknown formats fail before any work
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


def with_encoder_options(task: Task, encoder: EncoderConfig, defaults) -> Task:
    """Give retrieval and bitext mining their layer and text prefix: the config's, else the
    encoder's own defaults (`defaults`: models/encoder.py `EncoderDefaults`, read from its
    config), unless the task sets them."""
    if task.format not in ("retrieval", "bitext_mining"):
        return task
    layer = encoder.retrieval_layer
    prefix = encoder.text_prefix
    options = {"layer": defaults.retrieval_layer if layer is None else layer,
               "prefix": defaults.text_prefix if prefix is None else prefix, **task.options}
    return dataclasses.replace(task, options=options)


def evaluation_length(task: Task, fmt: FormatSpec, training: TrainingConfig,
                      model_limit: int | None) -> int:
    """Tokens per sequence at evaluation: a trained task's training length; an untrained one's
    own (retrieval: XTREME's 512), capped by what the model accepts."""
    if fmt.encode_length is None:
        return sequence_length(task, training)
    length = int(task.options.get("max_length", fmt.encode_length))
    return min(length, model_limit) if model_limit else length
