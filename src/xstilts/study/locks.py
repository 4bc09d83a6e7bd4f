"""Per-job locks under STORE/locks, so that processes sharing one store (two studies, a study
and a `run`, `xstilts study` on machines sharing a filesystem) never run one job twice at
the same time, and `keep:` never deletes weights that a job is about to load.

    STORE/locks/<key>.lock       exclusive while a process runs job <key> and writes its record
    STORE/locks/<key>.use.lock   shared while a process may still load <key>'s checkpoint;
                                 dropping its weights (`keep:`) needs it exclusively, or skips

Two files per job, so that a study can hold on to a checkpoint it will need (even one not
trained yet) while any process trains it. The locks are flock(2) locks: they belong to an
open file and the kernel drops them when the process ends, however it ends (SIGKILL too), so
a dead holder never leaves a stale lock. The files stay (deleting a lock file that another
process may have open would split the lock in two); they are empty, one or two per job.
POSIX only (`fcntl`; Windows is not supported); on NFS the server must support locks
(NFSv4, or lockd for v3), which Linux's flock uses since 2.6.12.
"""

from __future__ import annotations

import fcntl
import logging
import os
import resource
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xstilts.errors import XstiltsError

logger = logging.getLogger(__name__)


def lock_path(root: str | Path, key: str, use: bool = False) -> Path:
    """The lock file of job `key` in the store at `root` (running it, or using its weights)."""
    return Path(root) / "locks" / f"{key}{'.use' if use else ''}.lock"


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)


def acquire(path: Path, shared: bool = False, blocking: bool = True,
            on_wait: Callable[[], None] | None = None) -> int | None:
    """flock `path`; the open descriptor that holds the lock (close it to release), or None
    when `blocking` is off and another process holds a conflicting lock. `on_wait` is called
    once before blocking on a lock held elsewhere."""
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fd = _open(path)
    except OSError as exc:
        raise _no_lock(path, exc) from None
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if not blocking:
                os.close(fd)
                return None
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, mode)  # blocks until the holder releases it, or dies
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):
            raise _no_lock(path, exc) from None
        raise
    return fd


def _no_lock(path: Path, exc: OSError) -> XstiltsError:
    return XstiltsError(f"{path}: cannot lock it ({exc.strerror or exc}).\n  fix: put the "
                        "store (--store) on a filesystem with working flock locks (a local "
                        "disk, or NFS with lock support), writable by this user.")


def release(fd: int | None) -> None:
    """Release a lock taken by `acquire` (closing its descriptor releases it)."""
    if fd is not None:
        os.close(fd)


@contextmanager
def running(root: str | Path, key: str, label: str | None = None) -> Iterator[None]:
    """Hold job `key`'s run lock; waits (saying so once) while another process runs it."""
    def say() -> None:
        logger.info(f"waiting for job {label or key} ({key}), running in another process")

    fd = acquire(lock_path(root, key), on_wait=say)
    try:
        yield
    finally:
        release(fd)


@contextmanager
def using(root: str | Path, keys: Iterable[str]) -> Iterator[None]:
    """Hold shared use locks on the checkpoints of `keys` (their weights are not dropped)."""
    fds = []
    try:
        for key in sorted(set(keys)):
            fds.append(acquire(lock_path(root, key, use=True), shared=True))
        yield
    finally:
        for fd in fds:
            release(fd)


@contextmanager
def dropping(root: str | Path, key: str) -> Iterator[bool]:
    """Try, without waiting, to take job `key`'s use lock exclusively: True while no other
    process may load its weights (drop them now), False when one may (leave them)."""
    fd = acquire(lock_path(root, key, use=True), blocking=False)
    try:
        yield fd is not None
    finally:
        release(fd)


class Pins:
    """Shared use locks a driver holds on the checkpoints its remaining jobs will load, from
    plan to the end of the last job that needs each one, so that another process's `keep:`
    cannot delete them in between (not even right after this process trained them)."""

    def __init__(self, root: str | Path):
        self.root, self.held, self.users = Path(root), {}, {}

    def hold(self, needs: dict[str, Iterable[str]]) -> set[str]:
        """Pin every checkpoint the jobs in `needs` (job key -> its dependencies) load, each
        until all those jobs are `done`; returns the keys newly pinned."""
        self.users = {}
        for job, deps in needs.items():
            for dep in deps:
                self.users.setdefault(dep, set()).add(job)
        new = set(self.users) - set(self.held)
        allow_open_files(len(self.held) + len(new))
        for dep in sorted(new):  # one order everywhere
            self.held[dep] = acquire(lock_path(self.root, dep, use=True), shared=True)
        for dep in set(self.held) - set(self.users):
            release(self.held.pop(dep))
        return new

    def done(self, job: str, deps: Iterable[str]) -> None:
        """`job` finished (or cannot run): unpin what no other remaining job needs."""
        for dep in deps:
            users = self.users.get(dep)
            if users is not None:
                users.discard(job)
                if not users and dep in self.held:
                    release(self.held.pop(dep))

    def close(self) -> None:
        """Unpin everything."""
        for fd in self.held.values():
            release(fd)
        self.held.clear()


def allow_open_files(pins: int) -> None:
    """Room for `pins` more open lock files besides everything else (a big study pins
    thousands of checkpoints; the usual soft limit is 1024): raise the soft limit toward
    the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = pins + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if top > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
