"""A phase that cannot go on stops with a clear error and leaves its last good state whole:
a non-finite loss (nothing saved after the bad step) and a full disk (a real size-capped
tmpfs, or a file size limit in a child process where mounting is not allowed)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fixtures import (
    colour_run_config,
    log_records,
    train_intermediate_phase,
    write_multiformat_tasks,
)

from xstilts.errors import XstiltsError
from xstilts.formats.classification import ClassificationFormat
from xstilts.train import loop

ROOT = Path(__file__).resolve().parents[2]


def config_of(tmp_path, training="max_steps: 6, batch_size: 8, eval_every: 2, save_every: 1"):
    return colour_run_config(tmp_path, training, write_multiformat_tasks(tmp_path), seed=2,
                             target_training="")


def snapshot(folder: Path) -> dict:
    """Every file under `folder` (temp folders of an interrupted save included) by content."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "log.jsonl"}


def test_a_nan_loss_stops_the_phase_and_keeps_the_last_good_state(tmp_path, monkeypatch):
    config = config_of(tmp_path)
    real_loss, calls, saved = ClassificationFormat.loss, [], {}

    def loss_turning_nan(self, encoder, head, batch):
        calls.append(1)
        loss = real_loss(self, encoder, head, batch)
        return loss * float("nan") if len(calls) == 5 else loss

    real_save = loop.save_training_state

    def save_and_look(folder, *args):
        real_save(folder, *args)
        saved[args[-1]["step"]] = snapshot(folder.parent)

    monkeypatch.setattr(ClassificationFormat, "loss", loss_turning_nan)
    monkeypatch.setattr(loop, "save_training_state", save_and_look)
    folder = tmp_path / "run"
    with pytest.raises(XstiltsError) as err:
        train_intermediate_phase(config, folder)
    message = str(err.value)
    assert "step 5 of 6" in message and "'colour'" in message and "loss nan" in message
    assert f"{folder / 'last'} (step 4)" in message and "fix:" in message
    assert sorted(saved) == [1, 2, 3, 4]  # nothing saved at or after the bad step
    assert snapshot(folder) == saved[4]  # last/ and best/ as step 4 left them, no temp folder
    steps = [json.loads(line)["step"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert max(steps) == 4


def interrupted_at(tmp_path, monkeypatch, folder: Path):
    """The phase killed inside step 3: last/ holds step 2, best/ the dev winner so far."""
    config = config_of(tmp_path, "max_steps: 4, batch_size: 8, eval_every: 2, save_every: 2")
    real = loop.check_finite

    def check_or_die(loss, norm, task, step, *args):
        if step == 3:
            raise KeyboardInterrupt
        real(loss, norm, task, step, *args)

    monkeypatch.setattr(loop, "check_finite", check_or_die)
    with pytest.raises(KeyboardInterrupt):
        train_intermediate_phase(config, folder)
    monkeypatch.setattr(loop, "check_finite", real)
    assert json.loads((folder / "last" / "training_state.json").read_text())["step"] == 2
    assert (folder / "best").is_dir()
    return config


def check_disk_full_error(message: str, folder: Path) -> None:
    assert "the disk is full while writing" in message, message
    assert f"{folder / 'last'} (step 2), is intact" in message, message
    assert "fix: free disk space" in message and "run the same command again" in message


CHILD = """
import json, resource, signal, sys
from pathlib import Path
from tests.fixtures import train_intermediate_phase
from xstilts.config import load_config
from xstilts.errors import XstiltsError
config, folder, limit = load_config(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    train_intermediate_phase(config, folder)
except XstiltsError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"error": None}))
"""


def fail_with_file_size_limit(config_path: Path, folder: Path) -> str:
    """Resume the phase in a child process that may not write a file as big as the weights."""
    limit = (folder / "last" / "model.safetensors").stat().st_size // 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", CHILD, str(config_path), str(folder),
                           str(limit)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    error = json.loads(done.stdout.strip().splitlines()[-1])["error"]
    assert error, "the phase finished although no file could be written in full"
    return error


def fail_on_full_tmpfs(config, disk: Path, folder: Path) -> str:
    """Fill the size-capped filesystem until less than half a checkpoint fits, then resume."""
    stats = os.statvfs(disk)
    room = stats.f_bavail * stats.f_frsize
    with (disk / "filler").open("wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, room - sum(
            p.stat().st_size for p in (folder / "last").iterdir()) // 2)
    with pytest.raises(XstiltsError) as err:
        train_intermediate_phase(config, folder)
    (disk / "filler").unlink()
    return str(err.value)


def mount_tmpfs(disk: Path, size: str) -> bool:
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("cap", ["size-capped filesystem", "file size limit"])
def test_a_full_disk_gives_a_clear_error_and_keeps_the_last_state(tmp_path, monkeypatch, cap):
    """A size-capped tmpfs where mounting is allowed (root), else (and in the second case
    always) a child process whose files may not outgrow a limit (RLIMIT_FSIZE, EFBIG)."""
    disk = tmp_path / "disk"
    mounted = cap == "size-capped filesystem" and mount_tmpfs(disk, "64m")
    try:
        folder = (disk if mounted else tmp_path) / "run"
        config = interrupted_at(tmp_path, monkeypatch, folder)
        before = snapshot(folder)
        if mounted:
            message = fail_on_full_tmpfs(config, disk, folder)
        else:
            message = fail_with_file_size_limit(tmp_path / "c.yaml", folder)
        check_disk_full_error(message, folder)
        assert snapshot(folder) == before  # last/ and best/ whole, no temp folder left

        # With room again, the same phase resumes and ends as an uninterrupted one.
        resumed = train_intermediate_phase(config, folder)
        full = train_intermediate_phase(config, tmp_path / "full")
        assert (resumed.steps, resumed.dev_history) == (full.steps, full.dev_history)
        assert log_records(folder / "log.jsonl") == log_records(tmp_path / "full" / "log.jsonl")
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)
