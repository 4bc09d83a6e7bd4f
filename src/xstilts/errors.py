"""The one error type users see: a message that says what, where, and how to fix it."""


class XstiltsError(Exception):
    """A user-facing error; the CLI prints its message and exits non-zero, no traceback."""


def located(path, line: int | None, what: str, fix: str = "") -> XstiltsError:
    """Build an error that names a file (and line) and says how to fix it."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    msg = f"{where}: {what}"
    if fix:
        msg += f"\n  fix: {fix}"
    return XstiltsError(msg)
