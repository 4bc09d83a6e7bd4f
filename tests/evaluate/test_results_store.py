"""The per-run results database: one transaction per run, no duplicates on a re-run, a
changed config replaces the folder's rows (old ones kept in results_history), and every
connection is closed."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures import COLOUR_TASK_YAML, write_colour_task

from xstilts.artifacts import content_key
from xstilts.config import load_config
from xstilts.evaluate.store import query, record_run, record_target
from xstilts.study.run import run_config

NLI = {"en": {"accuracy": 80.0, "f1": 70.0}, "de": {"accuracy": 60.0, "f1": 50.0}}
NLI_AVG = {"accuracy": 70.0, "f1": 60.0}


def open_handles(path: Path) -> list[str]:
    """This process's open file descriptors on `path` (or its -wal/-shm files)."""
    fds = Path("/proc/self/fd")
    names = []
    for fd in fds.iterdir():
        try:
            names.append(os.readlink(fd))
        except OSError:  # the listing's own descriptor, closed already
            continue
    return [n for n in names if n.startswith(str(path))]


def test_a_changed_config_leaves_only_the_latest_rows(tmp_path):
    db = tmp_path / "results.sqlite"
    old_hash, new_hash = content_key({"seed": 0}), content_key({"seed": 1})
    assert old_hash != new_hash
    record_run(db, "/out/a", old_hash, "enc", ["x"], 0,
               {"nli": (NLI, NLI_AVG), "pos": ({"de": {"f1": 1.0}}, {"f1": 1.0})})
    record_target(db, "/out/b", old_hash, "enc", [], "nli", NLI, NLI_AVG, seed=0)  # other dir
    assert len(query(db, "SELECT * FROM results WHERE run_dir = '/out/a'")) == 6 + 2
    # The new config in the same folder has no `pos` target: its old rows must go too.
    new = {"en": {"accuracy": 90.0, "f1": 85.0}, "de": {"accuracy": 88.0, "f1": 80.0}}
    record_target(db, "/out/a", new_hash, "enc", ["x"], "nli", new,
                  {"accuracy": 89.0, "f1": 82.5}, seed=1)
    rows = query(db, "SELECT config_hash, target, language, metric, value FROM results "
                     "WHERE run_dir = '/out/a'")
    assert {r[0] for r in rows} == {new_hash}
    assert sorted(r[1:] for r in rows) == sorted(
        [("nli", "avg", "accuracy", 89.0), ("nli", "avg", "f1", 82.5),
         ("nli", "de", "accuracy", 88.0), ("nli", "de", "f1", 80.0),
         ("nli", "en", "accuracy", 90.0), ("nli", "en", "f1", 85.0)])
    history = query(db, "SELECT config_hash, target, language, metric, value "
                        "FROM results_history")
    assert len(history) == 8 and {h[0] for h in history} == {old_hash}
    assert ("pos", "de", "f1", 1.0) in [h[1:] for h in history]
    # Another folder in the same database keeps its rows.
    assert len(query(db, "SELECT * FROM results WHERE run_dir = '/out/b'")) == 6
    # The same config again (a resumed run): replaced, not duplicated, nothing to history.
    record_target(db, "/out/a", new_hash, "enc", ["x"], "nli", new,
                  {"accuracy": 89.0, "f1": 82.5}, seed=1)
    assert len(query(db, "SELECT * FROM results WHERE run_dir = '/out/a'")) == 6
    assert len(query(db, "SELECT * FROM results_history")) == 8
    assert query(db, "PRAGMA journal_mode") == [("wal",)]


def test_connections_are_closed(tmp_path):
    db = tmp_path / "results.sqlite"
    for seed in range(3):
        record_target(db, "/out/a", f"h{seed}", "enc", [], "nli", NLI, NLI_AVG, seed=seed)
        query(db)
    assert db.exists() and open_handles(db) == []


def test_two_configs_run_into_one_folder_keep_only_the_latest(tmp_path):
    write_colour_task(tmp_path / "data", n_train=16, n_dev=8, n_test=8)
    text = """
seed: {seed}
encoder: {{name: tiny-random}}
targets:
  tasks: [colour]
  training: {{max_steps: 2, batch_size: 8, evaluations: 1}}
tasks:""" + COLOUR_TASK_YAML.replace("{", "{{").replace("}", "}}")
    out, hashes = tmp_path / "out", []
    for seed in (0, 1):
        path = tmp_path / f"c{seed}.yaml"
        path.write_text(text.format(seed=seed))
        hashes.append(run_config(load_config(path), out)["config_hash"])
    assert hashes[0] != hashes[1]
    rows = query(out / "results.sqlite", "SELECT config_hash, language FROM results")
    assert len(rows) == 4 * 2  # (en, de, ru, avg) × (accuracy, macro_f1), the latest only
    assert {r[0] for r in rows} == {hashes[1]}
    old = query(out / "results.sqlite", "SELECT config_hash FROM results_history")
    assert len(old) == 8 and {r[0] for r in old} == {hashes[0]}
