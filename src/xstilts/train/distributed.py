"""Data parallelism for one training phase over several processes (one per GPU).

Launched with `accelerate launch --num_processes N` (or torchrun), which sets WORLD_SIZE > 1,
each process trains the same model on different batches: every rank walks the same seeded
batch order and takes its own share (train/loop.py BatchStream), the task sampler draws the
same task on every rank, and Accelerate's DistributedDataParallel averages the gradients,
so the weights stay identical. Only rank 0 writes the log, checkpoints and training state;
every rank leaves such a write together (`DataParallel.together`), so a write failing on rank
0 stops all ranks instead of leaving the others waiting in the next collective.
A single process (WORLD_SIZE unset or 1) runs exactly as before, with no wrapper at all.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.train.launch import is_main_process, world_size  # noqa: F401  (re-exported)


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

    def close(self) -> None:
        """Leave the process group: every rank at the same point, after its last collective.
        A gloo group left to the interpreter's exit can abort the process (SIGABRT, "terminate
        called without an active exception": its worker threads outlive Python), and the
        launcher then kills the other ranks. The process's last data-parallel step."""
        if self.accelerator is not None:
            self.accelerator.end_training()  # no trackers of its own: destroys the group

    def first_failure(self, error: str | None) -> tuple[int, str] | None:
        """Every rank's verdict on work they did side by side (`error`: this rank's, None
        when it succeeded): None when all succeeded, else (rank, error) of the first rank
        that failed, the same on every rank. A barrier too."""
        if self.accelerator is None:
            return None if error is None else (0, error)
        import torch.distributed as dist

        flag = torch.tensor([0 if error is None else 1], device=self.accelerator.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if not int(flag.item()):
            return None
        errors: list[str | None] = [None] * self.world_size
        dist.all_gather_object(errors, error)  # only after a failure: the messages
        return next((rank, e) for rank, e in enumerate(errors) if e is not None)

    def together(self) -> Together:
        """Context for work every rank leaves at once (what rank 0 alone writes, what every
        rank reads): when it fails on any rank, it raises on every rank, so no rank goes on
        into a collective the others never reach (which would hang)."""
        return Together(self)

    def main_decides(self, flag: bool) -> bool:
        """Rank 0's `flag` on every rank (e.g. whether a save is due by its clock)."""
        if self.accelerator is None:
            return flag
        import torch.distributed as dist

        value = torch.tensor([int(flag)], device=self.accelerator.device)
        dist.broadcast(value, src=0)
        return bool(value.item())

    def gather_to_main(self, obj) -> list | None:
        """Every rank's `obj`, in rank order, on rank 0 (None on the other ranks)."""
        if self.accelerator is None:
            return [obj]
        import torch.distributed as dist

        gathered = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, gathered, dst=0)
        return gathered


class Together:
    """See `DataParallel.together`: this rank's own error propagates as it is; a rank that
    succeeded raises an XstiltsError naming the rank that failed and its error."""

    def __init__(self, par: DataParallel):
        self.par = par

    def __enter__(self) -> Together:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is not None and not isinstance(exc, Exception):
            return False  # an interrupt: the launcher stops every rank
        error = None if exc is None else str(exc) if isinstance(exc, XstiltsError) \
            else f"{type(exc).__name__}: {exc}"
        failure = self.par.first_failure(error)
        if exc is None and failure is not None:
            rank, error = failure
            raise XstiltsError(f"process {rank} of {self.par.world_size} failed, so every "
                               f"process of this phase stops: {error}")
        return False
