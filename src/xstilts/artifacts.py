"""Atomic writes and content keys: an artifact is either complete or absent."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def content_key(obj) -> str:
    """Stable short hash of a JSON-serialisable object (sorted keys)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


_FILE_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes (memoised per process by path, size and mtime)."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        _FILE_HASHES[memo] = digest.hexdigest()
    return _FILE_HASHES[memo]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path beside `path` for a library writer (savefig, to_csv, torch.save, ...);
    renamed onto `path` when the block ends, deleted if it raises.

    with atomic_path(out / "plot.png") as tmp: fig.savefig(tmp)
    The temp name keeps the suffix, so writers that infer the format from it still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; an artifact is as shareable as usual
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write a binary file via a temp file in the same folder, then rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file via a temp file in the same folder, then rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj) -> None:
    """Write JSON atomically (pretty, UTF-8)."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


class AtomicDir:
    """Build a folder under a temp name and rename it into place on success.

    with AtomicDir(final) as tmp: write files into tmp

    A new version replaces an existing one (a checkpoint). With `first_wins`, for a folder
    named by its content (a cache entry), a folder already in place is kept and the new copy
    dropped: processes building the same entry at once (the ranks of a data-parallel launch)
    each find a whole folder that never leaves its place, where replacing it would pull it
    from under a process that is reading it.
    """

    def __init__(self, final: str | Path, first_wins: bool = False):
        self.final = Path(final)
        self.first_wins = first_wins

    def __enter__(self) -> Path:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.final.parent, prefix=f".{self.final.name}."))
        self.tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; a cache folder is shareable
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.first_wins:
            try:
                os.rename(self.tmp, self.final)  # fails when a whole folder is in place
            except OSError:
                if not self.final.is_dir():
                    raise
                shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.final.exists():
            # Another process finished first, or we are replacing an old version.
            # A name of its own each time (a leftover that rmtree could not remove, e.g. an
            # NFS .nfs file, must not block the next save); by time, so the newest sorts last.
            old = self.final.with_name(
                f".{self.final.name}.old-{time.time_ns():020d}-{os.getpid()}")
            os.replace(self.final, old)
            os.replace(self.tmp, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.final)


def recover_atomic_dir(final: str | Path) -> None:
    """Tidy up after a process killed inside `AtomicDir(final)`: put the previous version
    back if it was moved aside and the new one never arrived; remove temp folders. Only for
    a folder that one process writes at a time (a training phase's checkpoints)."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    leftovers = sorted(final.parent.glob(f".{final.name}.*"))
    if not final.exists():
        moved_aside = [p for p in leftovers if p.name.startswith(f".{final.name}.old-")]
        if moved_aside:  # killed between its two renames: the old version is complete
            os.replace(moved_aside[-1], final)
            leftovers.remove(moved_aside[-1])
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)


def _umask() -> int:
    """The process's umask (reading it means setting it: set it straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def cache_root() -> Path:
    """The user cache: $XSTILTS_CACHE, else $XDG_CACHE_HOME/xstilts, else ~/.cache/xstilts."""
    env = os.environ.get("XSTILTS_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "xstilts"
