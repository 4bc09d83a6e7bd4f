"""Reading a task's splits, once per process, and the data of a whole run."""

from __future__ import annotations

from xstilts.artifacts import content_key
from xstilts.config import RunConfig
from xstilts.progress import stage
from xstilts.tasks.known_splits import LazyExamples, known_split
from xstilts.tasks.reader_io import Examples
from xstilts.tasks.resolve import resolve_tasks
from xstilts.tasks.splits import needed_splits
from xstilts.tasks.task import Task

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
