"""Every broken input in tests/bad_inputs.py, through the CLI: exit code 2, one message that
names the file and line (or key) with a `fix:`, no traceback, the output folder exactly as it
was (or still absent), and nothing trained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bad_input_projects import colour_project, run
from tests.bad_inputs import CASES, UNPICKLED, Case
from xstilts.cli import main

ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file and folder under `folder` with its bytes (None: the folder does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def prepare(case: Case, tmp_path: Path, out_exists: bool) -> tuple[list[str], Path]:
    """The case's arguments with the watched output folder, made (with old files) or not."""
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "out"
    if out_exists:
        (out / "old").mkdir(parents=True)
        (out / "keep.txt").write_text("from an earlier run\n")
        (out / "old" / "results.json").write_text('{"targets": {}}\n')
    args = [a.replace("{out}", str(out)) for a in case.make(work)]
    return args, out


def assert_refused(code: int, output: str, case: Case, before, out: Path, tmp_path: Path):
    assert code == 2, output
    assert "Traceback" not in output, output
    assert "fix:" in output, output
    for expected in case.expect:
        assert expected in output, f"{expected!r} not in:\n{output}"
    assert snapshot(out) == before, "the output folder changed"
    trained = [p for p in tmp_path.rglob("*") if p.name in ("checkpoints", "log.jsonl",
                                                            "summary.json")]
    assert not trained, trained
    assert not list(tmp_path.rglob(UNPICKLED)), "a pickle was loaded"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_before_any_work(case, tmp_path, capfd):
    out_exists = CASES.index(case) % 2 == 1  # half the cases run into an existing folder
    args, out = prepare(case, tmp_path, out_exists)
    before = snapshot(out)
    code = main(args)
    captured = capfd.readouterr()
    assert_refused(code, captured.out + captured.err, case, before, out, tmp_path)


def test_the_corpus_is_large_and_varied():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    commands = {c.make.__name__ for c in CASES}
    assert len(commands) > 10


@pytest.mark.parametrize("name", ["invalid JSON line", "unknown label", "YAML syntax",
                                  "unknown encoder"])
def test_real_command_exits_2_without_traceback(name, tmp_path):
    """The installed entry point end to end: a child process, its exit code and streams."""
    case = next(c for c in CASES if c.name == name)
    args, out = prepare(case, tmp_path, out_exists=False)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "xstilts.cli", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert_refused(proc.returncode, proc.stdout + proc.stderr, case, None, out, tmp_path)


def test_a_good_project_passes_the_same_checks(tmp_path, capfd):
    """The corpus's base project runs: the refusals above are about the breakage alone."""
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)) for a in run(colour_project(work))]
    assert main(args) == 0
    assert (out / "results.json").is_file()
    assert list(out.glob("checkpoints/target-colour-*/best/model.safetensors"))
