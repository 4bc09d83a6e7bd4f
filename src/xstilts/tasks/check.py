"""`xstilts data check`: load every split and language of a task and count its examples."""

from __future__ import annotations

from xstilts.errors import XstiltsError
from xstilts.tasks.task import SPLITS, Task

Row = tuple[str, str, int]  # (split, language, number of examples)


class CheckFailed(XstiltsError):
    """Some splits did not load; `rows` holds the ones that did, `failures` the rest."""

    def __init__(self, task: str, rows: list[Row], failures: list[tuple[str, str, str]]):
        self.rows = rows
        self.failures = failures
        lines = [f"{split}/{lang}: {msg}" for split, lang, msg in failures]
        super().__init__(f"task {task!r}: {len(failures)} of {len(rows) + len(failures)} "
                         "splits failed to load:\n" + "\n".join(lines))


def split_languages(task: Task, split: str) -> list[str]:
    """The languages of one split: test languages; the training language(s) for train and
    selection; for dev, the languages declared with a dev set of their own, else the
    training language(s)."""
    # A task without training data (BUCC) has dev data per test language (to tune a threshold).
    if split == "test" or not task.has_split("train"):
        return list(task.languages)
    training = list(task.train_languages or [task.train_language])
    if split == "dev" and task.dev_languages is not None:
        return list(dict.fromkeys([*training, *task.dev_languages])
                    if task.selection_split == "dev" else task.dev_languages)
    return training


def check_task(task: Task, dropped: dict[tuple[str, str], int] | None = None) -> list[Row]:
    """(split, language, count) for every split and language; `CheckFailed` lists all failures.
    `dropped` (if given) receives the rows left out per (split, language), where any were."""
    rows: list[Row] = []
    failures: list[tuple[str, str, str]] = []
    for split in SPLITS:
        if not task.has_split(split):
            continue
        for lang in split_languages(task, split):
            try:
                examples = task.load(split, lang)
            except XstiltsError as exc:  # a missing or malformed file: note it, check the rest
                failures.append((split, lang, str(exc)))
                continue
            rows.append((split, lang, len(examples)))
            if dropped is not None and examples.n_dropped:
                dropped[(split, lang)] = examples.n_dropped
    if failures:
        raise CheckFailed(task.name, rows, failures)
    return rows


def format_rows(rows: list[Row], dropped: dict[tuple[str, str], int] | None = None) -> str:
    """A small table: split, language, examples (and rows dropped, where any were)."""
    if not dropped:
        lines = [f"{'split':<9} {'lang':<6} {'examples':>9}"]
        return "\n".join(lines + [f"{split:<9} {lang:<6} {count:>9}"
                                  for split, lang, count in rows])
    lines = [f"{'split':<9} {'lang':<6} {'examples':>9} {'dropped':>8}"]
    lines += [f"{split:<9} {lang:<6} {count:>9} {dropped.get((split, lang), 0):>8}"
              for split, lang, count in rows]
    return "\n".join(lines)
