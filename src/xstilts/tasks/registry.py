"""The task registry: built-in declarations (one small module each) plus user tasks from YAML."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from xstilts.errors import XstiltsError
from xstilts.tasks.task import Task

_BUILTIN: dict[str, Task] = {}
_SUITES: dict[str, Callable[..., dict[str, Task]]] = {}
_LOADED = False


def register(task: Task) -> Task:
    """Add a built-in task; called at import time by modules in `xstilts.tasks.builtin`."""
    if task.name in _BUILTIN and _BUILTIN[task.name] != task:
        raise ValueError(f"task {task.name!r} registered twice")
    _BUILTIN[task.name] = task
    return task


def register_suite(name: str, make_tasks: Callable[..., dict[str, Task]]) -> None:
    """A generated suite whose sizes and seed a config can set (`suites: {name: ...}`)."""
    _SUITES[name] = make_tasks


def suite_tasks(name: str, sizes: dict[str, int], seed: int,
                task_sizes: dict[str, dict[str, int]] | None = None) -> dict[str, Task]:
    """The tasks of a generated suite built with the given sizes (per split, then per task)
    and seed."""
    _load_builtin_modules()
    if name not in _SUITES:
        raise XstiltsError(
            f"unknown suite {name!r} under `suites:`.\n  fix: use one of {sorted(_SUITES)}."
        )
    tasks = _SUITES[name](sizes={**sizes, **(task_sizes or {})} or None, seed=seed)
    unknown = sorted(set(task_sizes or {}) - set(tasks))
    if unknown:
        raise XstiltsError(
            f"suites.{name}.task_sizes names {unknown}, not tasks of the suite.\n  fix: use "
            f"names from `xstilts tasks` ({', '.join(sorted(tasks))})."
        )
    return tasks


def _load_builtin_modules() -> None:
    global _LOADED
    if _LOADED:
        return
    import xstilts.tasks.builtin as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _LOADED = True


def builtin_tasks() -> dict[str, Task]:
    """All built-in tasks by name."""
    _load_builtin_modules()
    return dict(_BUILTIN)


def resolve_task(name: str, user_tasks: dict[str, Task] | None = None) -> Task:
    """A task by name: user-declared tasks shadow built-ins."""
    if user_tasks and name in user_tasks:
        return user_tasks[name]
    tasks = builtin_tasks()
    if name not in tasks:
        known = sorted(set(tasks) | set(user_tasks or {}))
        raise XstiltsError(
            f"unknown task {name!r}.\n  fix: use one of {', '.join(known)} "
            "(list them with `xstilts tasks`), or declare it under `tasks:` in the config."
        )
    return tasks[name]
