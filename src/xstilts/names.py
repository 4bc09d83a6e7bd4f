"""Names that become parts of paths (tasks, languages, suites, studies, heads): one check.

A task name ends up in `checkpoints/target-<task>-<key>/` and `predictions/<task>/`, a
language in `test-<lang>.tsv`, a study name in the store's results; a name must therefore
stay one plain path component inside the output folder or store.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

NAME_FIX = ("use a plain name: letters, digits, '-', '_', '+' or '.', no path separators, "
            "no '..', not empty")


def name_problem(value: object) -> str | None:
    """Why `value` cannot be used as a name inside a path, or None when it can."""
    if not isinstance(value, str):
        return f"expected a text name, found {type(value).__name__}"
    if not value.strip():
        return "the name is empty"
    if value != value.strip():
        return f"the name {value!r} starts or ends with white space"
    if any(unicodedata.category(c).startswith("C") for c in value):
        return f"the name {value!r} contains a control character"
    if any(sep in value for sep in ("/", "\\", ":")):
        return f"the name {value!r} contains a path separator (/, \\ or :)"
    if ".." in value or value == ".":
        return f"the name {value!r} contains '..' (or is '.'), which could leave its folder"
    if value.startswith("~"):
        return f"the name {value!r} starts with '~' (a home folder)"
    return None


def check_name(value: str) -> str:
    """`value` if it is safe as one path component; ValueError (for pydantic) otherwise."""
    problem = name_problem(value)
    if problem:
        raise ValueError(f"{problem}; {NAME_FIX}")
    return value


# A str field (or dict key, or list item) whose value is used inside paths.
SafeName = Annotated[str, AfterValidator(check_name)]
