"""A job killed between its record (done from then on) and the store's log line: the next
run reuses it and logs it done, once; its status is never left 'running'."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from xstilts.study.execute import execute
from xstilts.study.store import Store


class Killed(BaseException):
    """A SIGKILL stand-in: nothing after it runs."""


class Backend:
    """Runs nothing: every job succeeds at once."""

    capacity = 1

    def __init__(self):
        self.ran = []

    def submit(self, job, setup, root, folders, threads):
        self.ran.append(job.key)
        return job.key

    def wait(self, handles):
        return handles[0], (True, {"metrics": {}}, 0.5)

    def close(self):
        pass


def job(key, kind="intermediate", deps=()):
    return SimpleNamespace(key=key, kind=kind, label=key, deps=tuple(deps),
                           folder=f"checkpoints/{kind}-{key}")


def test_a_job_killed_after_its_record_is_logged_done_once(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    plan = SimpleNamespace(jobs={"a": job("a"), "b": job("b", "target", ["a"])},
                           setup=SimpleNamespace(label="s"))
    real_status = Store._status

    def status_or_die(self, job, status, *args, **kwargs):
        if job.key == "a" and status == "done":
            raise Killed  # the record is written; the log line is not
        real_status(self, job, status, *args, **kwargs)

    monkeypatch.setattr(Store, "_status", status_or_die)
    with pytest.raises(Killed):
        execute(plan, store, Backend(), log=lambda _: None)
    monkeypatch.undo()
    assert store.output("a") is not None and store.statuses()["a"] == "running"

    backend = Backend()
    execute(plan, store, backend, log=lambda _: None)
    assert backend.ran == ["b"]  # `a` is done: not run again
    assert store.statuses() == {"a": "done", "b": "done"}
    done = [e["key"] for e in store.events("done")]
    assert sorted(done) == ["a", "b"]
    execute(plan, store, Backend(), log=lambda _: None)  # nothing more to log
    assert len(store.events("done")) == 2
