"""Which process of a launch this is, from the environment alone (no torch: the CLI and a
dry run ask before anything is imported). `accelerate launch` and torchrun set WORLD_SIZE
and RANK; a single process has neither."""

from __future__ import annotations

import os


def world_size() -> int:
    """Processes in this training job (WORLD_SIZE, set by accelerate launch / torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main_process() -> bool:
    """Whether this process is rank 0 of a launch (RANK, set by accelerate launch /
    torchrun), or a single process: the one that reports (trackers, console, run log)."""
    return world_size() <= 1 or int(os.environ.get("RANK", "0") or 0) == 0
