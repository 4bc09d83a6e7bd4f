"""One rank of the data-parallel test (tests/train/test_distributed.py), run by accelerate
launch: trains a tiny-random phase and writes what this rank saw and ended with."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from tests.fixtures import train_intermediate_phase
from tests.train.ddp_common import shared_tiny_phase

from xstilts.train import loop
from xstilts.train.distributed import DataParallel

folder = Path(sys.argv[1])
drawn: list[list[int]] = []
real_next = loop.BatchStream.next


def recording_next(self):
    batch = real_next(self)
    drawn.append(batch["input_ids"][:, :12].flatten().tolist())  # enough to tell batches apart
    return batch


loop.BatchStream.next = recording_next
captured = {}
real_train = loop.train_phase


def capturing_train(model, *args, **kwargs):
    captured["model"] = model
    return real_train(model, *args, **kwargs)


loop.train_phase = capturing_train
config = shared_tiny_phase(folder / "config", max_steps=4, eval_every=2, grad_accum=2)
train_intermediate_phase(config, folder / "phase")
rank = int(torch.distributed.get_rank())
params = {k: v.detach().contiguous() for k, v in captured["model"].state_dict().items()}
save_file(params, str(folder / f"params-{rank}.safetensors"))
(folder / f"batches-{rank}.json").write_text(json.dumps(drawn))
DataParallel().close()  # as the product does: a gloo group left to exit can abort
