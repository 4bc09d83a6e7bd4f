"""Full training state in a checkpoint: weights, optimiser, scheduler, sampler, data order, RNGs.

Weights are safetensors; the optimiser/scheduler/RNG file is written by xstilts itself and
read back with `weights_only=True` (no arbitrary unpickling), and only when
training_state.json says xstilts wrote it and its sha256 matches. Also here: when the state is
saved besides dev evaluations (`SavePolicy`), and a clear error when the disk is full.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file

from xstilts.artifacts import AtomicDir, write_json_atomic
from xstilts.config import SAVE_INTERVAL_S
from xstilts.errors import XstiltsError
from xstilts.models.multitask import HEADS_WEIGHTS

STATE_JSON = "training_state.json"
OPTIM_FILE = "optimizer.pt"
WRITTEN_BY = "xstilts"
STATE_FORMAT = 1  # bump when the layout of the state changes
LOOP_KEYS = ("step", "best_score", "bad_evals", "history", "done")
# No space, file over the size limit (RLIMIT_FSIZE), over the quota.
DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_RUST_OS_ERROR = re.compile(r"os error (\d+)")  # how safetensors reports an I/O error


class SavePolicy:
    """When to save the resume state besides dev evaluations: every `every` steps, else
    whenever `interval_s` seconds passed since the last save (or the start)."""

    def __init__(self, every: int | None, interval_s: float = SAVE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.every, self.interval_s, self.clock = every, interval_s, clock
        self.last = clock()

    def due(self, step: int) -> bool:
        """Whether the state after `step` should be saved."""
        if self.every:
            return step % self.every == 0
        return self.clock() - self.last >= self.interval_s

    def saved(self) -> None:
        """Restart the clock: a save just happened."""
        self.last = self.clock()


def disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or an error it arose from) means no space / file too large / quota."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return True
        code = _RUST_OS_ERROR.search(str(exc))
        if code and int(code.group(1)) in DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def saved_step(folder: Path) -> int | None:
    """The step of the training state in `folder`; None when there is none."""
    try:
        return int(json.loads((Path(folder) / STATE_JSON).read_text(encoding="utf-8"))["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def disk_full_is_clear(what: str, folder: Path, last_dir: Path,
                       atomic: bool = True) -> Iterator[None]:
    """Turn a full disk while writing `folder` into an error that says what is intact
    (`atomic`: written via AtomicDir, so its previous version is whole)."""
    try:
        yield
    except Exception as exc:
        if not disk_full(exc):
            raise
        step = saved_step(last_dir)
        intact = (f"the last good checkpoint, {last_dir} (step {step}), is intact"
                  if step is not None else "no resume state was saved in this phase yet")
        if not atomic:  # a line torn in the log is dropped when the phase resumes
            intact = f"{intact}; the log is cut back to it on resume"
        elif Path(folder) != Path(last_dir):
            intact = f"nothing was half written: its previous version is untouched and {intact}"
        else:
            intact = f"nothing was half written: {intact}"
        raise XstiltsError(
            f"{folder}: the disk is full while writing {what} ({exc}); {intact}.\n  fix: free disk space (or raise the quota / file size "
            "limit), then run the same command again: it resumes from that checkpoint."
        ) from exc


def rank_rng_state() -> dict:
    """This process's random generators: the CPU one and its current GPU's (under data
    parallelism each rank draws its own dropout masks, so each has its own state)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def save_training_state(folder: Path, model, tokenizer, optimizer, scheduler, sampler,
                        streams: dict, state: dict, *, rank_rngs: list[dict] | None = None
                        ) -> None:
    """Write everything needed to resume into `folder`, atomically (the previous state stays
    whole until the new one is complete, also when the disk fills up). `rank_rngs`: every
    rank's `rank_rng_state()` in rank order, under data parallelism."""
    folder = Path(folder)
    blob = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():  # dropout on a GPU draws from the CUDA generators
        blob["cuda_rng"] = torch.cuda.get_rng_state_all()
    if rank_rngs is not None:  # an addition older readers ignore: the format stays
        blob["rank_rng"] = rank_rngs
    with disk_full_is_clear("the training state", folder, folder), AtomicDir(folder) as tmp:
        model.save(tmp, tokenizer)
        # Through a Python file: a full disk surfaces as an OSError, not a bare RuntimeError.
        with (tmp / OPTIM_FILE).open("wb") as fh:
            torch.save(blob, fh)
        write_json_atomic(tmp / STATE_JSON, {
            "written_by": WRITTEN_BY, "format": STATE_FORMAT,
            "optimizer_sha256": sha256_of(tmp / OPTIM_FILE),
            **{k: state[k] for k in LOOP_KEYS},
            "sampler": sampler.state(),
            "streams": {n: [s.epoch, s.position] for n, s in streams.items()},
        })


def sha256_of(path: Path) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def has_training_state(folder: Path) -> bool:
    """Whether `folder` holds a resume state (written whole, or not at all)."""
    return (Path(folder) / STATE_JSON).exists()


def _not_ours(folder: Path, why: str) -> XstiltsError:
    return XstiltsError(
        f"{folder}: refusing to resume from this training state: {why}, so it is not a "
        f"state this xstilts store wrote (its {OPTIM_FILE} is not loaded).\n  fix: delete "
        f"{folder} to train this phase from its start, or use another --out folder.")


def process_rank() -> int:
    """This process's rank in its process group (0 when there is none)."""
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def load_training_state(folder: Path, model, optimizer, scheduler, sampler,
                        streams: dict) -> dict:
    """Restore a `save_training_state` folder into live objects (the model already on its
    device: the optimiser state is put on each parameter's device), with this process's
    own random generators where several processes saved theirs; returns the loop state."""
    folder = Path(folder)
    info = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    if info.get("written_by") != WRITTEN_BY or info.get("format") != STATE_FORMAT:
        found = (info.get("written_by"), info.get("format"))
        raise _not_ours(folder, f"{STATE_JSON} has no xstilts marker of format "
                                f"{STATE_FORMAT} (written_by, format: {found})")
    if not (folder / OPTIM_FILE).exists() or sha256_of(folder / OPTIM_FILE) != info.get(
            "optimizer_sha256"):
        raise _not_ours(folder, f"{OPTIM_FILE} is missing or not the file whose sha256 "
                                f"{STATE_JSON} records")
    weights = load_file(str(folder / "model.safetensors"))
    # Not strict about buffers save_pretrained leaves out; strict about every parameter.
    missing, unexpected = model.backbone.load_state_dict(weights, strict=False)
    params = dict(model.backbone.named_parameters())
    missing = [k for k in missing if k in params]
    if missing or unexpected:
        raise XstiltsError(
            f"{folder}: the saved training state does not fit this encoder (missing "
            f"{missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected "
            f"{unexpected[:3]}{'...' if len(unexpected) > 3 else ''}).\n  fix: resume with "
            "the encoder settings it was saved with, or delete that folder to start over."
        )
    heads = load_file(str(folder / HEADS_WEIGHTS)) if (folder / HEADS_WEIGHTS).exists() else {}
    model.load_head_weights(heads)  # every head, and the layer aggregation if any
    # Saved on a GPU, resumable on a CPU; load_state_dict then casts each state tensor to
    # its parameter's device and dtype (torch keeps AdamW's `step` counter on the CPU).
    blob = torch.load(folder / OPTIM_FILE, weights_only=True, map_location="cpu")
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["torch_rng"])
    if "cuda_rng" in blob and torch.cuda.is_available():
        for index, rng in enumerate(blob["cuda_rng"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(rng, index)
    ranks, rank = blob.get("rank_rng") or [], process_rank()
    if rank < len(ranks):  # saved by several processes: this rank's own generators
        torch.set_rng_state(ranks[rank]["cpu"])
        if "cuda" in ranks[rank] and torch.cuda.is_available():
            torch.cuda.set_rng_state(ranks[rank]["cuda"])
    sampler.load_state(info["sampler"])
    for name, (epoch, position) in info["streams"].items():
        streams[name].epoch, streams[name].position = epoch, position
    return {k: info[k] for k in LOOP_KEYS}
