"""One rank of the data-parallel resume test (tests/train/test_distributed.py), run by
accelerate launch. `stop`: train a tiny-random phase (state saved every 2 steps) and stop
both ranks at the start of step 3, recording each rank's CPU generator there; `resume`:
train the same phase again, recording the step each rank resumed from and its CPU generator
at its first batch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from tests.fixtures import train_intermediate_phase
from tests.train.ddp_common import shared_tiny_phase

from xstilts.train import loop
from xstilts.train.distributed import DataParallel

folder, mode = Path(sys.argv[1]), sys.argv[2]
record: dict = {"batches": 0}
real_next = loop.BatchStream.next
real_load = loop.load_training_state


class Stop(Exception):
    """Both ranks stop here, as a kill between two saves would leave the phase."""


def recording_next(self):
    record["batches"] += 1
    if mode == "resume" and record["batches"] == 1 or mode == "stop" and record["batches"] == 3:
        record["rng"] = torch.get_rng_state().tolist()
        if mode == "stop":
            raise Stop
    return real_next(self)


def recording_load(*args, **kwargs):
    state = real_load(*args, **kwargs)
    record["resumed_from"] = state["step"]
    return state


loop.BatchStream.next = recording_next
loop.load_training_state = recording_load
config = shared_tiny_phase(folder / "config", max_steps=4, eval_every=4, save_every=2)
try:
    train_intermediate_phase(config, folder / "phase")
except Stop:
    pass
rank = int(torch.distributed.get_rank())
(folder / f"{mode}-{rank}.json").write_text(json.dumps(record))
DataParallel().close()  # as the product does: a gloo group left to exit can abort
