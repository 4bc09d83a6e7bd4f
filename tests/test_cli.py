"""The `xstilts` command's own behaviour: --version, --help for users, a closed stdout."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import xstilts
from xstilts.cli import CLOSED_PIPE_STATUS, DESCRIPTION, build_parser, main


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"xstilts {xstilts.__version__}\n"
    # The code's version is the installed distribution's (pyproject.toml's), not a stale copy.
    assert xstilts.__version__ == version("xstilts")


def test_help_opens_with_the_user_description_and_lists_the_main_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    first = out.split("\n\n")[1]  # after the usage line: the description
    assert first == DESCRIPTION
    assert first.startswith("Intermediate-task training (STILTs) and zero-shot")
    assert "thin wrappers" not in out and "exit 2" not in out  # not the module's docstring
    assert "xstilts demo --out runs/demo" in out and "README.md" in out
    # Each command's help is one short line in the command list.
    commands = build_parser()._subparsers._group_actions[0]._choices_actions
    assert {c.dest for c in commands} == {"run", "study", "report", "rank", "results", "tasks",
                                          "demo", "score", "data"}
    for command in commands:
        assert command.help and "\n" not in command.help and len(command.help) <= 56, command
        assert f"    {command.dest}" in out


@pytest.mark.parametrize("args", [["tasks"], ["tasks", "-v"]])
def test_a_closed_stdout_ends_the_command_quietly(args):
    # The reader closes its end before the command writes anything (as `| head` does once it
    # has its lines): the writes fail with EPIPE every time, whatever the output's size.
    proc = subprocess.Popen([sys.executable, "-m", "xstilts.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == CLOSED_PIPE_STATUS == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert stderr == ""


def test_the_same_command_into_an_open_pipe_still_prints_everything():
    done = subprocess.run([sys.executable, "-m", "xstilts.cli", "tasks"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert "demo-nli" in names and "xnli" in names and names == sorted(names)
