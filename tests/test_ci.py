"""CI's own steps (.ci/run): the README's test command unchanged, and the allowed transformers
range tested at its low end (.ci/lowest_allowed.py; issue 26, point 5)."""

from __future__ import annotations

import importlib.util
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def lowest_module():
    spec = importlib.util.spec_from_file_location("lowest_allowed",
                                                  ROOT / ".ci" / "lowest_allowed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv \.venv .*pytest.*$", readme, re.MULTILINE)
    assert len(commands) == 1, commands
    assert commands[0] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_lowest_allowed_release_is_read_from_the_requirements():
    lowest = lowest_module().lowest_allowed
    requirements = ["torch>=2.4", "transformers<6,>=5.25", "x==1",
                    'transformers<5; extra == "old"']
    assert lowest(requirements, "transformers") == Version("5.25")
    assert lowest(["transformers>=5.24.1,<6"], "transformers") == Version("5.24.1")
    with pytest.raises(SystemExit, match="no >= bound"):
        lowest(requirements, "x")
    with pytest.raises(SystemExit, match="not a core dependency"):
        lowest(requirements, "numpy")


def test_the_installed_transformers_is_allowed_and_the_low_end_is_tested():
    """pyproject's range holds what CI installed, and the low end is either that release or
    what .ci/run installs next (the script's answer)."""
    module = lowest_module()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'"(transformers[^"]*)"', pyproject).group(1)
    installed = Version(version("transformers"))
    assert installed in Requirement(declared).specifier
    lowest = module.lowest_allowed([declared], "transformers")
    assert module.main("transformers") == ("" if installed == lowest
                                           else f"transformers=={lowest}")
    assert "python .ci/lowest_allowed.py transformers" in (ROOT / ".ci" / "run").read_text()
