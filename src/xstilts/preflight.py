"""Before any training: everything a run or study will read is read and checked once.

`check_run` refuses bad input with its file (and line, example or key) and a fix, so no job
starts on data that would fail, or silently mislead, later: a missing data folder, shared
heads whose tasks disagree, and every split each task needs, example by example against
its format (fields, labels), with repeated ids in the splits that are scored.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from xstilts.artifacts import content_key
from xstilts.config import PhaseConfig, RunConfig
from xstilts.errors import XstiltsError
from xstilts.formats.spec import format_spec
from xstilts.tasks.known_splits import LazyExamples
from xstilts.tasks.loading import load_split
from xstilts.tasks.splits import needed_splits, threshold_split
from xstilts.tasks.task import Task
from xstilts.train.samplers import task_probabilities

MAX_LISTED = 5  # bad examples named in one error


def check_run(config: RunConfig, tasks: dict[str, Task], pool: tuple = (),
              sets: tuple[tuple[str, ...], ...] = ()) -> None:
    """Read and check every split the run needs, its data folder, shared heads and task
    samplers (`pool`: a study's intermediate tasks; `sets`: the sets it trains on); the
    first problem is raised as an XstiltsError naming where it is and how to fix it."""
    _check_data_dir(config, tasks)
    for phase in ("intermediate", "targets"):
        if getattr(config, phase) is not None:
            check_shared_heads(config, phase, tasks)
    for name, task in tasks.items():
        if not format_spec(task.format).trainable:
            continue
        missing = [s for s in ("train", task.selection_split) if not task.has_split(s)]
        if missing:
            where = config.where("tasks", name, "paths") if name in config.tasks else \
                f"task {name!r}"
            raise XstiltsError(
                f"{where}: task {name!r} ({task.format}) is trained, but has no "
                f"{' or '.join(missing)} split.\n  fix: add {missing} to its `paths:`, or use "
                "it only where it is not trained.")
    targets = config.targets
    for task, split, lang in needed_splits(tasks, targets.tasks, targets.eval_split):
        examples = load_split(task, split, lang)
        check_split(task, split, lang, examples)
        if lang is not None and threshold_split(task):
            check_gold(task, split, lang, examples)
    check_samplers(config, tasks, pool, sets)


def check_samplers(config: RunConfig, tasks: dict[str, Task], pool: tuple = (),
                   sets: tuple[tuple[str, ...], ...] = ()) -> None:
    """Each phase's task sampler accepts its settings (a `capped` sampler's cap, a weight
    for every task of `weights`, not all of a set's weights zero), so the mixture is not
    refused mid-run; a study's sets are checked one by one."""
    intermediate = list(config.intermediate.tasks) if config.intermediate else []
    intermediate += [t for t in pool if t not in intermediate]
    phases = [("intermediate", config.intermediate, intermediate)]
    phases += [("intermediate", config.intermediate, list(s)) for s in sets]
    phases += [("targets", config.targets.for_task(name), [name])
               for name in config.targets.tasks]
    for phase_name, phase, names in phases:
        trained = [t for t in names if format_spec(tasks[t].format).trainable]
        if not trained or phase is None:
            continue
        training = phase.training
        try:
            task_probabilities(training.sampler, {t: len(load_split(tasks[t], "train"))
                                                  for t in trained},
                               training.sampler_cap, training.temperature, training.weights)
        except XstiltsError as exc:
            of_set = f" (the study's set {names})" if sets and phase_name == "intermediate" \
                else ""
            raise XstiltsError(f"{config.where(phase_name, 'training', 'sampler')}{of_set}: "
                               f"{exc}") from None


def split_label(task: Task, split: str, lang: str | None) -> str:
    """'FILE(S): task T split (lang)': where a split's examples come from."""
    languages = [lang] if lang else list(task.train_languages or [task.train_language])
    files = task.local_files(split, languages)
    label = f"task {task.name!r} {split} ({', '.join(languages)})"
    return f"{', '.join(str(f) for f in files)}: {label}" if files else label


def check_split(task: Task, split: str, lang: str | None, examples: list[dict]) -> None:
    """Refuse an empty split, examples its format cannot use, and repeated ids where the
    split is scored (predictions are keyed by id: a repeat would merge two examples). Files
    that passed these checks before (unchanged, as the code) are not read again."""
    # What passed is recorded with the declaration it was checked against (another label
    # list, in the same process over the same files, is checked again).
    checked_as = None
    if isinstance(examples, LazyExamples):
        checked_as = content_key({"task": task.describe(), "split": split, "lang": lang})
        if examples.known("checked") == checked_as:
            return
    if not examples:
        raise XstiltsError(f"{split_label(task, split, lang)}: no examples.\n  fix: check the "
                           "file and the task's reader (and a converter that drops rows).")
    from xstilts.formats import get_format  # the format's example checks (torch)

    fmt = get_format(task.format)
    bad = [(ex, problem) for ex in examples
           if (problem := fmt.check_example(ex, task)) is not None]
    if bad:
        listed = "\n  ".join(f"example {ex.get('id', '?')!r} {problem}"
                             for ex, problem in bad[:MAX_LISTED])
        more = f"\n  (and {len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
        raise XstiltsError(
            f"{split_label(task, split, lang)}: {len(bad)} of {len(examples)} examples cannot "
            f"be used:\n  {listed}{more}\n  fix: correct the data, or the task's declaration "
            "(`labels:`, `fields:` mapping the file's keys to the format's).")
    if split != "train":
        check_unique_ids(task, split, lang, examples)
    if checked_as:
        examples.remember(checked=checked_as)


def check_gold(task: Task, split: str, lang: str, examples) -> None:
    """A mining split that is tuned on or scored needs its gold pairs (XTREME's
    download_data.sh deletes BUCC's test gold)."""
    from xstilts.formats.bitext_mining import gold_pairs

    if gold_pairs(examples) is None:
        raise XstiltsError(
            f"{split_label(task, split, lang)}: no gold pairs, so it cannot be scored or tuned "
            "on.\n  fix: put the split's .gold file beside it (BUCC's test gold is in "
            "bucc2018-LANG-en.training-gold.tar.bz2), or score the dev/sample data with the "
            f"paper's oracle protocol (task_options: {{{task.name}: {{protocol: oracle}}}}).")


def check_unique_ids(task: Task, split: str, lang: str | None, examples) -> None:
    """Refuse repeated ids in a scored split."""
    counts = Counter((ex.get("side"), str(ex.get("id"))) for ex in examples)
    repeated = sorted(key[1] for key, n in counts.items() if n > 1)
    if repeated:
        raise XstiltsError(
            f"{split_label(task, split, lang)}: example id(s) {repeated[:MAX_LISTED]} occur "
            "more than once; predictions are keyed by id, so their scores would mix.\n  fix: "
            "give every example of a split its own `id` (or drop the id field: readers then "
            "number the lines).")


def check_shared_heads(config: RunConfig, phase_name: str, tasks: dict[str, Task]) -> None:
    """Tasks sharing a head must agree on its output: same format and same label set."""
    phase: PhaseConfig = getattr(config, phase_name)
    for head, members in phase.shared_heads.items():
        kinds = {t: (tasks[t].format, list(tasks[t].labels or [])) for t in members
                 if t in tasks}
        if len(kinds) < 2:
            continue
        first, *others = kinds.items()
        for name, kind in others:
            if kind != first[1]:
                describe = "; ".join(f"{t}: {fmt} with labels {labels or 'none'}"
                                     for t, (fmt, labels) in (first, (name, kind)))
                raise XstiltsError(
                    f"{config.where(phase_name, 'shared_heads', head)}: tasks {first[0]!r} and "
                    f"{name!r} share head {head!r} but differ ({describe}).\n  fix: share a "
                    "head only between tasks of one format with the same labels (same order), "
                    "or give them their own heads.")


def check_encoder(config: RunConfig, model_config) -> None:
    """Encoder settings the model's own config can refuse (layer counts, dropout keys)."""
    from xstilts.models.encoder import ATTENTION_DROPOUT_KEYS

    settings = config.encoder
    layers = getattr(model_config, "num_hidden_layers", None)
    if layers is not None and settings.freeze_layers > layers:
        raise XstiltsError(
            f"{config.where('encoder', 'freeze_layers')}: {settings.freeze_layers}, but "
            f"{settings.name} has {layers} layers.\n  fix: use a number from 0 to {layers}.")
    index = settings.retrieval_layer
    if layers is not None and index is not None and not -(layers + 1) <= index <= layers:
        raise XstiltsError(
            f"{config.where('encoder', 'retrieval_layer')}: {index}, but {settings.name} has "
            f"hidden states 0 (embeddings) to {layers}.\n  fix: use an index from "
            f"{-(layers + 1)} to {layers}, or leave it unset.")
    if settings.attention_dropout is not None and not any(
            hasattr(model_config, k) for k in ATTENTION_DROPOUT_KEYS):
        raise XstiltsError(
            f"{config.where('encoder', 'attention_dropout')}: {settings.name} "
            f"({model_config.model_type}) has none of {list(ATTENTION_DROPOUT_KEYS)} in its "
            "config.\n  fix: remove `attention_dropout` for this encoder.")


def _check_data_dir(config: RunConfig, tasks: dict[str, Task]) -> None:
    """Local benchmark files need their folder (checked once, not per missing file)."""
    if config.data.source != "local" or not any("local" in t.alternatives
                                                 for t in tasks.values()):
        return
    folder = Path(config.data.dir)
    if not folder.is_dir():
        raise XstiltsError(
            f"{config.where('data', 'dir')}: data folder {str(folder)!r} not found"
            f"{'' if folder.is_absolute() else f' (looked for {folder.resolve()})'}.\n  fix: "
            "point data.dir at the folder XTREME's download_data.sh writes, or use "
            "`data: {source: hub}`.")


def dropped_rows(config: RunConfig, tasks: dict[str, Task]) -> dict[str, dict[str, dict]]:
    """Rows left out while reading (bad rows skipped, converter drops) per task and split,
    where any were: {task: {"train (en)": {"dropped", "read", "reasons"}}}."""
    out: dict[str, dict[str, dict]] = {}
    targets = config.targets
    for task, split, lang in needed_splits(tasks, targets.tasks, targets.eval_split):
        examples = load_split(task, split, lang)
        reasons = dict(getattr(examples, "dropped", {}) or {})
        if reasons:
            langs = lang or ",".join(task.train_languages or [task.train_language])
            n = sum(reasons.values())
            out.setdefault(task.name, {})[f"{split} ({langs})"] = {
                "dropped": n, "read": len(examples) + n, "reasons": reasons}
    return out
