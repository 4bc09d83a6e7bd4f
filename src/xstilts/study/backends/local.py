"""Local backends: jobs in this process, or in worker processes (one per GPU when there are
GPUs, pinned with CUDA_VISIBLE_DEVICES)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from xstilts.progress import settings as progress_settings
from xstilts.study.claim import run_claimed


class InlineBackend:
    """One job at a time, in this process (CPU, or one GPU)."""

    capacity = 1

    def __init__(self, device: str | None = None):
        self.device, self._done, self._next = device, {}, 0

    def submit(self, job, setup, root, folders, threads):
        self._next += 1
        self._done[self._next] = run_claimed(job, setup, root, folders, self.device)
        return self._next

    def wait(self, handles):
        handle = handles[0]
        return handle, self._done.pop(handle)

    def close(self) -> None:
        self._done.clear()


def _pin_worker(slots, shown: dict | None = None) -> None:
    """Give this worker process one GPU of its own (when the machine has GPUs), and the
    driver's logging (its level and log file; no bars)."""
    gpu = slots.get()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    if shown and shown.get("configured"):
        from xstilts.models.encoder import quiet_transformers
        from xstilts.progress import configure_like

        configure_like(shown)
        quiet_transformers(download_bars=shown["level"] <= 20)  # INFO: downloads shown


def _visible_gpus() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    return listed.split(",") if listed else [str(i) for i in range(torch.cuda.device_count())]


class ProcessBackend:
    """`workers` processes; with GPUs at most one per GPU, jobs handed out as they are ready."""

    def __init__(self, workers: int, device: str | None = None):
        gpus = _visible_gpus()
        self.capacity = min(workers, len(gpus)) if gpus else workers
        context = multiprocessing.get_context("spawn")  # CUDA cannot follow a fork
        slots = context.Manager().Queue()
        for i in range(self.capacity):
            slots.put(gpus[i] if gpus else None)
        self.device = device
        self.pool = ProcessPoolExecutor(self.capacity, mp_context=context,
                                        initializer=_pin_worker,
                                        initargs=(slots, progress_settings()))

    def submit(self, job, setup, root, folders, threads):
        # Each worker uses the driver's thread count divided among the workers.
        per_worker = max(1, threads // self.capacity)
        return self.pool.submit(run_claimed, job, setup, root, folders, self.device,
                                per_worker)

    def wait(self, handles):
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        handle = next(iter(done))
        return handle, handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
