"""What the data-parallel harnesses (ddp_rank.py, ddp_resume_rank.py) share."""

from __future__ import annotations

from pathlib import Path

from tests.train.test_throughput import tiny_phase

from xstilts.config import load_config
from xstilts.train.distributed import DataParallel


def shared_tiny_phase(folder: Path, **training):
    """tiny_phase's config and data, written by rank 0 alone and read by every rank after a
    barrier: with every rank writing them, one rank read a data file that another had just
    truncated to write it again ("the file is empty", 1 launch in 25)."""
    par = DataParallel()
    if par.is_main:
        tiny_phase(folder, **training)
    par.wait()
    return load_config(folder / "c.yaml")
