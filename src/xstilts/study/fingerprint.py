"""Content identities: what an encoder or a task's data *is*, independent of where it lives.

A job's content key is built from these, so the same work found through another path (or
another output folder) is recognised, and changed data is never mistaken for the old.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.artifacts import file_hash
from xstilts.tasks.task import Task


def encoder_identity(location: str, revision: str | None = None) -> dict:
    """A local folder by the hashes of its config, tokenizer and weight files; a hub id by
    its name and revision (users pin a revision for a fixed identity)."""
    folder = Path(location)
    if not folder.is_dir():
        return {"hub": location, "revision": revision or "main"}
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix in (".json", ".safetensors", ".model", ".txt"))
    return {"files": {p.name: file_hash(p) for p in files}}


def data_fingerprint(task: Task, splits: tuple[str, ...], languages: tuple[str, ...]) -> dict:
    """The task's data as read for these splits and languages: its source's description and
    the content hashes of every local file behind them (hub sources: dataset and revision,
    generated ones: generator, sizes and seed, all inside the description)."""
    files = {f"{split}:{lang}:{path.name}": file_hash(path)
             for split in splits for lang in languages
             for path in task.local_files(split, (lang,))}
    return {"source": _without_base_dir(task.source.describe()), "files": files}


def _without_base_dir(value):
    """A source description without where its files are (their hashes say what they hold)."""
    if isinstance(value, dict):
        return {k: _without_base_dir(v) for k, v in value.items() if k != "base_dir"}
    if isinstance(value, list):
        return [_without_base_dir(v) for v in value]
    return value


def training_languages(task: Task) -> tuple[str, ...]:
    """The languages a task's train/dev splits are read in."""
    return tuple(task.train_languages or (task.train_language,))


def training_view(task: Task) -> dict:
    """The parts of a task that change what training on it produces (not its test languages)."""
    described = task.describe()
    described.pop("languages", None)
    described["data"] = data_fingerprint(task, ("train", task.selection_split),
                                         training_languages(task))
    return described
