"""A generated multilingual task suite (no download): see `suite.make_tasks`."""

from xstilts.tasks.demo.suite import DEFAULT_SIZES, make_tasks

__all__ = ["DEFAULT_SIZES", "make_tasks"]
