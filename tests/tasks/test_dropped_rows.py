"""Rows left out while reading (skipped bad rows, converter drops) are counted per task, split
and language: one log line each, a `dropped` column in `xstilts data check`, and the counts
under the task in results.json."""

from __future__ import annotations

import json
import logging

from tests.bad_input_projects import CONFIG, colour_project

from xstilts.cli import main
from xstilts.tasks.check import check_task, format_rows
from xstilts.tasks.task import FileSource, Task

HEADER = "text_a\tlabel"
GOOD = [f"a red car {i}\tpos" if i % 2 else f"a blue car {i}\tneg" for i in range(9)]
BAD = ["only one column", "too\tmany\tcolumns", "a red car\tpos\textra"]


def write_pairs(folder, bad_at=(2, 5, 7)):
    """train has the 9 good rows with the 3 bad ones at the given positions; dev and test
    are clean."""
    rows = list(GOOD)
    for at, line in zip(bad_at, BAD, strict=True):
        rows.insert(at, line)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pairs-train.tsv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    for split in ("dev", "test"):
        (folder / f"pairs-{split}.tsv").write_text("\n".join([HEADER, *GOOD]) + "\n",
                                                  encoding="utf-8")


def pairs_task(folder, convert=None) -> Task:
    source = FileSource(reader="tsv", paths={s: f"pairs-{s}.tsv" for s in ("train", "dev", "test")},
                        base_dir=str(folder), options={"skip_bad_rows": True}, convert=convert)
    return Task(name="pairs", format="classification", languages=["en"], source=source,
                labels=["pos", "neg"])


def test_skipped_rows_are_counted_and_logged(tmp_path, caplog):
    write_pairs(tmp_path)
    with caplog.at_level(logging.INFO, logger="xstilts"):
        examples = pairs_task(tmp_path).load("train")
    assert [ex["text_a"] for ex in examples] == [g.split("\t")[0] for g in GOOD]
    assert examples.dropped == {"bad rows skipped": 3}
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert lines == [(logging.WARNING, "task pairs train (en): dropped 3 of 12 rows "
                      "(3 bad rows skipped)")]


def test_converter_drops_are_counted_separately(tmp_path, caplog):
    write_pairs(tmp_path)

    def negatives_only(record, lang):
        return record if record["label"] == "neg" else None

    with caplog.at_level(logging.INFO, logger="xstilts"):
        examples = pairs_task(tmp_path, negatives_only).load("train")
    assert {ex["label"] for ex in examples} == {"neg"} and len(examples) == 5
    assert examples.dropped == {"bad rows skipped": 3, "left out by the task's converter": 4}
    assert caplog.records[0].getMessage() == (
        "task pairs train (en): dropped 7 of 12 rows (3 bad rows skipped; 4 left out by the "
        "task's converter)")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="xstilts"):
        dev = pairs_task(tmp_path, negatives_only).load("dev")
    # Only a filter, no bad rows: said, but not as a warning.
    assert dev.dropped == {"left out by the task's converter": 4}
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_data_check_shows_a_dropped_column(tmp_path):
    write_pairs(tmp_path)
    dropped = {}
    rows = check_task(pairs_task(tmp_path), dropped)
    assert rows == [("train", "en", 9), ("dev", "en", 9), ("test", "en", 9)]
    assert dropped == {("train", "en"): 3}
    table = [line.split() for line in format_rows(rows, dropped).splitlines()]
    assert table == [["split", "lang", "examples", "dropped"], ["train", "en", "9", "3"],
                     ["dev", "en", "9", "0"], ["test", "en", "9", "0"]]
    assert format_rows(rows).splitlines()[0].split() == ["split", "lang", "examples"]


PAIRS = """
  pairs:
    format: classification
    languages: [en]
    reader: tsv
    reader_options: {skip_bad_rows: true}
    paths: {train: "data/pairs-train.tsv", dev: "data/pairs-dev.tsv", test: "data/pairs-test.tsv"}
    labels: [pos, neg]
"""


def test_a_run_records_dropped_rows_under_the_task(tmp_path, caplog):
    write_pairs(tmp_path / "data")
    config = CONFIG.replace("tasks: [colour]", "tasks: [pairs]") + PAIRS
    config = config.replace("targets:", "intermediate:\n  tasks: [pairs]\n  training: "
                            "{max_steps: 1}\ntargets:", 1)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="xstilts"):
        assert main(["run", str(colour_project(tmp_path, config)), "--out", str(out)]) == 0
    said = [r.getMessage() for r in caplog.records if r.name == "xstilts.tasks.task"]
    # Read once per process (the split cache), so said once, though three jobs use it.
    assert said == ["task pairs train (en): dropped 3 of 12 rows (3 bad rows skipped)"]
    results = json.loads((out / "results.json").read_text())
    expected = {"train (en)": {"dropped": 3, "read": 12, "reasons": {"bad rows skipped": 3}}}
    assert results["targets"]["pairs"]["dropped_rows"] == expected
    assert results["intermediate"]["dropped_rows"] == {"pairs": expected}
