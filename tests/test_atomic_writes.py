"""House rule: every artifact is written under a temp name and renamed into place
(xstilts.artifacts), so a killed or failing writer never leaves a partial file.

The helpers are checked with writers that raise half-way; the library is scanned for raw
write calls outside artifacts.py. A write inside `with AtomicDir(...)` or
`with atomic_path(...)` is atomic by construction; anything else must be on ALLOWED with the
reason it is safe.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import xstilts
from xstilts.artifacts import (
    AtomicDir,
    atomic_path,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)

PACKAGE = Path(xstilts.__file__).parent
# Calls that write a file whatever their arguments.
WRITERS = {"write_text", "write_bytes", "savefig", "save_pretrained", "save_file", "save_model", "save",
           "copy2", "copyfile", "copytree", "mkstemp"}
SHUTIL_ONLY = {"copy", "move"}  # as shutil.copy / shutil.move (x.copy() copies an array)
# Calls that write only when given a file (without one they return a string).
WRITERS_WITH_TARGET = {"to_csv", "to_json", "to_html", "to_parquet", "to_excel", "to_pickle",
                       "dump", "safe_dump", "to_file"}
ATOMIC_BLOCKS = {"AtomicDir", "atomic_path"}
# (file, enclosing function, call) -> why it is safe.
ALLOWED = {
    ("cli.py", "closed_pipe", "open"):
        "opens os.devnull to point a closed stdout at it; no file is written",
    ("study/locks.py", "_open", "open"):
        "creates an empty lock file to flock; nothing is ever written to it",
    ("train/loop.py", "train_phase", "open"):
        "log.jsonl is an append-only log; truncate_log drops a line a kill tore (on resume)",
    ("models/multitask.py", "MultiTaskModel.save", "save_pretrained"):
        "writes into the caller's AtomicDir temp folder (train/loop.py, train/state.py)",
    ("models/multitask.py", "MultiTaskModel.save", "save_file"):
        "writes into the caller's AtomicDir temp folder (train/loop.py, train/state.py)",
    ("models/encoder.py", "write_encoder_folder", "save_pretrained"):
        "writes into the AtomicDir temp folder of its callers (ensure_trimmed, "
        "ensure_tiny_random)",
    ("models/encoder.py", "write_encoder_folder", "save_model"):
        "writes into the AtomicDir temp folder of its callers (ensure_trimmed, "
        "ensure_tiny_random)",
    ("models/trim.py", "trim_encoder", "write_text"):
        "writes into ensure_trimmed's AtomicDir temp folder",
    ("features/codec.py", "write_columns", "save"):
        "writes into FeatureCache.store's AtomicDir temp folder (features/cache.py)",
    ("features/codec.py", "_write.save", "save"):
        "writes into FeatureCache.store's AtomicDir temp folder (features/cache.py)",
    ("features/codec.py", "_write", "save"):
        "writes into FeatureCache.store's AtomicDir temp folder (features/cache.py)",
    ("features/codec.py", "_write", "write_text"):
        "writes into FeatureCache.store's AtomicDir temp folder (features/cache.py)",
    ("study/plots.py", "_png", "savefig"):
        "into an in-memory buffer; the report writes the bytes with write_bytes_atomic",
}


def call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def writes_a_file(node: ast.Call) -> bool:
    """Whether a call writes a file (open only with a write, append or create mode)."""
    name = call_name(node)
    if name in WRITERS:
        return True
    if name in SHUTIL_ONLY:
        owner = getattr(node.func, "value", None)
        return isinstance(owner, ast.Name) and owner.id == "shutil"
    if name in WRITERS_WITH_TARGET:
        keywords = {k.arg for k in node.keywords}
        # to_csv(path) / json.dump(obj, fh): a target is the first argument, or the second.
        needed = 2 if name in ("dump", "safe_dump") else 1
        return len(node.args) >= needed or bool(keywords & {"path_or_buf", "stream", "path",
                                                            "fp", "file", "buf"})
    if name == "open":
        mode = node.args[1] if getattr(node.func, "id", None) == "open" and len(node.args) > 1 \
            else (node.args[0] if isinstance(node.func, ast.Attribute) and node.args else None)
        for k in node.keywords:
            if k.arg == "mode":
                mode = k.value
        if mode is None:
            return False
        if not isinstance(mode, ast.Constant):
            return True  # a mode computed at run time: assume the worst
        return any(c in str(mode.value) for c in "wax+")
    return False


def raw_writes(path: Path) -> list[tuple[str, str, int]]:
    """(enclosing function, call, line) of every write not inside an atomic block."""
    found = []

    def visit(node, scope: list[str], atomic: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = [*scope, node.name]
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
                isinstance(item.context_expr, ast.Call)
                and call_name(item.context_expr) in ATOMIC_BLOCKS for item in node.items):
            atomic = True
        if isinstance(node, ast.Call) and not atomic and writes_a_file(node):
            found.append((".".join(scope), call_name(node), node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, scope, atomic)

    visit(ast.parse(path.read_text(encoding="utf-8")), [], False)
    return found


def test_the_library_writes_artifacts_only_atomically():
    offenders, used = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "artifacts.py":
            continue
        for scope, name, line in raw_writes(path):
            if (rel, scope, name) in ALLOWED:
                used.add((rel, scope, name))
            else:
                offenders.append(f"{rel}:{line} {scope}: {name}(...)")
    assert not offenders, ("raw writes; use xstilts.artifacts (write_*_atomic, atomic_path, "
                           "AtomicDir) or add an ALLOWED entry with the reason:\n"
                           + "\n".join(offenders))
    assert set(ALLOWED) == used, f"stale ALLOWED entries: {sorted(set(ALLOWED) - used)}"


def test_the_scanner_sees_raw_writes(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "import json\n"
        "from xstilts.artifacts import AtomicDir, atomic_path\n"
        "def bad(p, fig, df, obj, model):\n"
        "    p.write_text('x')\n"
        "    open(p, 'w')\n"
        "    p.open('a')\n"
        "    fig.savefig(p)\n"
        "    df.to_csv(p)\n"
        "    json.dump(obj, p)\n"
        "    model.save_pretrained(p)\n"
        "    shutil.copy(p, p)\n"
        "def fine(p, fig, df, obj, model):\n"
        "    open(p)\n"
        "    p.open()\n"
        "    open(p, 'rb')\n"
        "    df.to_csv(index=False)\n"
        "    json.dumps(obj)\n"
        "    obj.copy()\n"
        "    with atomic_path(p) as tmp:\n"
        "        fig.savefig(tmp)\n"
        "    with AtomicDir(p) as tmp:\n"
        "        model.save_pretrained(tmp)\n")
    assert [(s, n) for s, n, _ in raw_writes(path)] == [
        ("bad", "write_text"), ("bad", "open"), ("bad", "open"), ("bad", "savefig"),
        ("bad", "to_csv"), ("bad", "dump"), ("bad", "save_pretrained"), ("bad", "copy")]


class Boom(Exception):
    pass


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_writer_that_raises_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "report.csv"
    write_text_atomic(target, "old\n")
    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("half a ta")
        raise Boom
    assert target.read_text() == "old\n" and leftovers(tmp_path) == ["report.csv"]

    with pytest.raises(TypeError):  # the encoder raises while writing
        write_json_atomic(tmp_path / "r.json", {"ok": 1, "bad": object()})
    assert leftovers(tmp_path) == ["report.csv"]
    with pytest.raises(TypeError):
        write_bytes_atomic(tmp_path / "p.png", "not bytes")
    with pytest.raises(Boom), AtomicDir(tmp_path / "ckpt") as folder:
        (folder / "weights").write_bytes(b"123")
        raise Boom
    assert leftovers(tmp_path) == ["report.csv"]


def test_library_writers_get_a_temp_path_with_the_suffix(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fig = plt.figure()
    with atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        fig.savefig(tmp)  # the format comes from the suffix
    plt.close(fig)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with atomic_path(tmp_path / "t.csv") as tmp:
        pd.DataFrame({"a": [1, 2]}).to_csv(tmp, index=False)
    assert (tmp_path / "t.csv").read_text() == "a\n1\n2\n"
    assert leftovers(tmp_path) == ["plot.png", "t.csv"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def save_version(folder: Path, version: str) -> None:
    with AtomicDir(folder) as tmp:
        (tmp / "version").write_text(version)


def test_a_moved_aside_folder_that_stays_blocks_no_later_save(tmp_path, monkeypatch):
    # rmtree can leave a moved-aside version behind (an NFS .nfs file still open): the next
    # save in the same process must still succeed, and recovery must pick the newest.
    import xstilts.artifacts as artifacts

    final = tmp_path / "last"
    monkeypatch.setattr(artifacts.shutil, "rmtree", lambda *a, **k: None)
    for version in ("1", "2", "3"):
        save_version(final, version)
    assert (final / "version").read_text() == "3"
    assert len([p for p in tmp_path.iterdir() if ".old-" in p.name]) == 2  # 1 and 2 stayed

    real_replace, calls = os.replace, []

    def killed_between_renames(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the new version never arrives
            raise Boom
        real_replace(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", killed_between_renames)
    with pytest.raises(Boom):
        save_version(final, "4")
    monkeypatch.undo()
    assert not final.exists()
    artifacts.recover_atomic_dir(final)
    assert (final / "version").read_text() == "3"  # the newest complete version is back
    assert leftovers(tmp_path) == ["last"]
