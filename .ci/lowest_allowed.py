"""The pip requirement that pins a dependency of xstilts to the lowest release it allows, or
nothing when that release is the one installed (CI then tested it already).

    python .ci/lowest_allowed.py transformers   # prints e.g. transformers==5.25 or nothing

CI installs the newest allowed release (the README's command), then runs the model and format
tests again with this one, so the allowed range is tested at both ends (issue 26). The range
is read from the installed package's metadata, which pip wrote from pyproject.toml.
"""

from __future__ import annotations

import sys
from importlib.metadata import requires, version

from packaging.requirements import Requirement
from packaging.version import Version


def lowest_allowed(requirements: list[str], name: str) -> Version:
    """The `>=` bound of `name` among the core `requirements` (an error without one: an open
    range cannot be tested at its low end)."""
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name == name and not requirement.marker:  # a core dependency
            bounds = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
            if not bounds:
                raise SystemExit(f"xstilts requires {line!r}: no >= bound to test.")
            return max(bounds)
    raise SystemExit(f"{name} is not a core dependency of xstilts.")


def main(name: str) -> str:
    lowest = lowest_allowed(requires("xstilts") or [], name)
    return "" if Version(version(name)) == lowest else f"{name}=={lowest}"


if __name__ == "__main__":
    print(main(sys.argv[1]))
