"""Data parallelism for one training phase over several processes (one per GPU).

Launched with `accelerate launch --num_processes N` (or torchrun), which sets WORLD_SIZE > 1,
each process trains the same model on different batches: every rank walks the same seeded
batch order and takes its own share (train/loop.py BatchStream), the task sampler draws the
same task on every rank, and Accelerate's DistributedDataParallel averages the gradients,
so the weights stay identical. Only rank 0 writes the log, checkpoints and training state.
A single process (WORLD_SIZE unset or 1) runs exactly as before, with no wrapper at all.
"""

from __future__ import annotations

import contextlib
import functools
import os

import torch
from torch import nn

from xstilts.errors import XstiltsError


def world_size() -> int:
    """Processes in this training job (WORLD_SIZE, set by accelerate launch / torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


@functools.cache
def _accelerator():
    """The process's one Accelerator (several phases of a process share its process group)."""
    try:
        from accelerate import Accelerator, DistributedDataParallelKwargs
    except ImportError:
        raise XstiltsError(
            "WORLD_SIZE > 1 (a data-parallel launch) needs the accelerate package.\n  fix: "
            "pip install 'xstilts[multi-gpu]', or run one process (unset WORLD_SIZE).") from None

    # Unused parameters: each step trains one task's head; the others get no gradient.
    # Without a GPU, Accelerate distributes only when told it runs on CPUs (gloo).
    return Accelerator(
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


class PhaseLoss(nn.Module):
    """One forward pass for the loss of one batch of one task: what DDP wraps, so that the
    gradient all-reduce covers the shared encoder and whichever head the step trains."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, fmt, head_name: str, batch: dict) -> torch.Tensor:
        return fmt.loss(self.model.encoder, self.model.heads[head_name], batch)


class DataParallel:
    """The processes of a phase: rank, device, the loss module (DDP-wrapped when several)."""

    def __init__(self):
        self.world_size = world_size()
        self.rank = 0
        self.accelerator = None
        if self.world_size > 1:
            self.accelerator = _accelerator()
            if self.accelerator.num_processes != self.world_size:
                raise XstiltsError(
                    f"WORLD_SIZE is {self.world_size} but Accelerate set up "
                    f"{self.accelerator.num_processes} process(es) "
                    f"({self.accelerator.distributed_type}).\n  fix: launch with `accelerate "
                    "launch --multi_gpu --num_processes N` (or torchrun), or unset WORLD_SIZE.")
            self.rank = self.accelerator.process_index

    @property
    def is_main(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """This rank's device (its own GPU under accelerate); `requested` for one process."""
        return self.accelerator.device if self.accelerator else requested

    def loss_module(self, model: nn.Module) -> nn.Module:
        """PhaseLoss over `model`, wrapped in DDP when there are several processes."""
        module = PhaseLoss(model)
        return self.accelerator.prepare_model(module) if self.accelerator else module

    def sync_gradients(self, module: nn.Module, last_micro_batch: bool):
        """Context for one micro-batch's backward: all-reduce only on the last of a step."""
        if self.accelerator is None or last_micro_batch:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(module)

    def wait(self) -> None:
        """Barrier: every rank waits until rank 0 has written what it writes."""
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
