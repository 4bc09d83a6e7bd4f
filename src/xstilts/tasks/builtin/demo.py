"""The demo suite: generated tasks in six languages, the offline default data."""

from __future__ import annotations

from xstilts.tasks.demo import make_tasks
from xstilts.tasks.registry import register, register_suite

TASKS = {name: register(task) for name, task in make_tasks().items()}
register_suite("demo", make_tasks)
