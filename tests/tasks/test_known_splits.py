"""Files read, checked and hashed by an earlier run are not parsed again (tasks/known_splits.py);
anything that could change what they give (their bytes, the declaration, a user's converter)
makes them read again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures import colour_examples, write_jsonl

from xstilts import preflight
from xstilts.errors import XstiltsError
from xstilts.features.cache import examples_digest
from xstilts.tasks import loading, readers
from xstilts.tasks.known_splits import LazyExamples, record_path
from xstilts.tasks.task import FileSource, Task


def colour_task(folder: Path, labels=("pos", "neg"), convert=None, reader="jsonl") -> Task:
    return Task("colour", "classification", ("en",), FileSource(
        reader, {"train": "train.jsonl", "dev": "dev.jsonl"}, base_dir=str(folder),
        convert=convert), labels=list(labels))


def new_process(monkeypatch) -> None:
    """Forget what this process read (as a new run would); the records on disk stay."""
    monkeypatch.setattr(loading, "_SPLITS", {})


def reads_of(monkeypatch) -> list[Path]:
    """The files readers parse from now on."""
    calls, real = [], readers.read_examples

    def spy(reader, path, *args, **kwargs):
        calls.append(Path(path))
        return real(reader, path, *args, **kwargs)

    monkeypatch.setattr(readers, "read_examples", spy)
    return calls


@pytest.fixture
def colour_files(tmp_path) -> Path:
    write_jsonl(tmp_path / "train.jsonl", colour_examples("en", 40, 0))
    write_jsonl(tmp_path / "dev.jsonl", colour_examples("en", 12, 1))
    return tmp_path


def first_run(task: Task) -> list[dict]:
    """Read, check and hash the training split, as a run with a feature cache does."""
    examples = loading.load_split(task, "train")
    preflight.check_split(task, "train", None, examples)
    examples_digest(examples)
    return list(examples)


def test_a_known_split_is_neither_read_nor_checked_again(colour_files, monkeypatch):
    task = colour_task(colour_files)
    read = first_run(task)
    new_process(monkeypatch)
    reads = reads_of(monkeypatch)
    examples = loading.load_split(task, "train")
    assert isinstance(examples, LazyExamples) and not examples.loaded
    assert len(examples) == 40 and examples.dropped == {}
    preflight.check_split(task, "train", None, examples)
    digest = examples_digest(examples)
    assert reads == []
    # The recorded digest is the digest of the examples the file gives.
    assert digest == examples_digest(json.loads(json.dumps(read)))
    assert list(examples) == read and reads == [colour_files / "train.jsonl"]


def test_changed_bytes_a_changed_declaration_or_a_users_converter_mean_reading_again(
        colour_files, monkeypatch):
    task = colour_task(colour_files)
    first_run(task)
    rows = colour_examples("en", 40, 0)
    rows[3]["text_a"] += " !"  # same number of lines, other bytes
    write_jsonl(colour_files / "train.jsonl", rows)
    new_process(monkeypatch)
    reads = reads_of(monkeypatch)
    assert loading.load_split(task, "train")[3]["text_a"].endswith(" !")
    assert reads == [colour_files / "train.jsonl"]
    first_run(task)

    new_process(monkeypatch)
    del reads[:]
    loading.load_split(colour_task(colour_files, labels=("neg", "pos")), "train")
    assert reads == [colour_files / "train.jsonl"]  # another declaration: read (and checked)

    def users_converter(record, lang):
        return record

    for task in (colour_task(colour_files, convert=users_converter),
                 colour_task(colour_files, convert=users_converter)):
        new_process(monkeypatch)
        examples = loading.load_split(task, "train")
        first_run(task)
        assert not isinstance(examples, LazyExamples)
    assert reads.count(colour_files / "train.jsonl") == 3


def test_a_split_that_failed_its_checks_is_checked_again(colour_files, monkeypatch):
    rows = colour_examples("en", 40, 0)
    rows[5]["label"] = "blue"
    write_jsonl(colour_files / "train.jsonl", rows)
    task = colour_task(colour_files)
    for _ in range(2):
        new_process(monkeypatch)
        examples = loading.load_split(task, "train")
        with pytest.raises(XstiltsError, match="1 of 40 examples cannot be used"):
            preflight.check_split(task, "train", None, examples)
        assert examples.loaded and not examples.known("checked")


def test_rows_left_out_are_reported_without_reading(tmp_path, monkeypatch, caplog):
    (tmp_path / "train.tsv").write_text("text_a\tlabel\nred\tpos\nbroken\nblue\tneg\n")
    (tmp_path / "dev.tsv").write_text("text_a\tlabel\nred\tpos\n")
    task = Task("colour", "classification", ("en",), FileSource(
        "tsv", {"train": "train.tsv", "dev": "dev.tsv"}, base_dir=str(tmp_path),
        options={"skip_bad_rows": True}), labels=["pos", "neg"])
    first_run(task)
    new_process(monkeypatch)
    reads = reads_of(monkeypatch)
    examples = loading.load_split(task, "train")
    assert reads == [] and len(examples) == 2 and examples.dropped == {"bad rows skipped": 1}
    assert "task colour train (en): dropped 1 of 3 rows (1 bad rows skipped)" in caplog.text


def test_an_unreadable_record_is_as_none(colour_files, monkeypatch):
    task = colour_task(colour_files)
    first_run(task)
    new_process(monkeypatch)
    key = loading.load_split(task, "train").key
    record_path(key).write_text("{not json")
    new_process(monkeypatch)
    reads = reads_of(monkeypatch)
    examples = loading.load_split(task, "train")
    assert examples.loaded and reads == [colour_files / "train.jsonl"]
    assert json.loads(record_path(key).read_text()) == {"count": 40, "dropped": {}}


def test_readers_of_sibling_files_are_not_covered(tmp_path, monkeypatch):
    (tmp_path / "tatoeba.deu-eng.deu").write_text("Hallo\nJa\n")
    (tmp_path / "tatoeba.deu-eng.eng").write_text("Hello\nYes\n")
    task = Task("tatoeba", "retrieval", ("de",), FileSource(
        "tatoeba", {"test": "tatoeba.deu-eng.deu"}, base_dir=str(tmp_path)))
    assert not isinstance(loading.load_split(task, "test", "de"), LazyExamples)


def test_other_labels_over_the_same_files_in_one_process_are_checked_again(colour_files):
    first_run(colour_task(colour_files))  # passes with labels pos, neg
    # The same files (the process's split memo returns the same examples), another label
    # list that one of them lacks: refused, not waved through by the earlier pass.
    narrower = colour_task(colour_files, labels=("pos", "other"))
    with pytest.raises(XstiltsError, match="examples cannot be used"):
        preflight.check_split(narrower, "train", None, loading.load_split(narrower, "train"))
