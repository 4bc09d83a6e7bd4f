"""`keep:` drops weights in an order a kill cannot break: a finished job's record never claims
weights that are gone (else a later plan that needs them would load a missing checkpoint)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from xstilts.study import study as study_module
from xstilts.study.execute import jobs_to_run
from xstilts.study.store import Store


class Killed(BaseException):
    """A SIGKILL stand-in: nothing after it runs."""


def job(key, kind, deps=()):
    folder = f"checkpoints/{kind}-{key}" if kind != "evaluation" else f"evaluations/e-{key}"
    return SimpleNamespace(key=key, kind=kind, deps=tuple(deps), folder=folder, label=key)


def finished_target(tmp_path):
    """A store with one finished target job (weights on disk) and a plan that no longer
    needs them (its evaluation is done too)."""
    store = Store(tmp_path / "store")
    target, evaluation = job("t1", "target"), job("e1", "evaluation", ["t1"])
    for part in ("best", "last"):
        (store.path(target) / part).mkdir(parents=True)
        (store.path(target) / part / "model.safetensors").write_text("weights")
    store.finished(target, {"checkpoint": str(store.path(target) / "best")}, 1.0, "s")
    store.finished(evaluation, {"metrics": {"accuracy": 1.0}}, 1.0, "s")
    plan = SimpleNamespace(jobs={"t1": target, "e1": evaluation})
    study = SimpleNamespace(spec=SimpleNamespace(keep=SimpleNamespace(
        intermediate_weights=True, target_weights=False)))
    return store, target, plan, study


def consistent(store, target) -> bool:
    """Either the weights are all there, or the record says they were dropped; and a
    retrain could never resume from a half-deleted `last/` or from a `last/` without `best/`
    (it would train no step and leave no checkpoint)."""
    folder = store.path(target)
    whole = all((folder / p / "model.safetensors").exists() for p in ("best", "last"))
    last = folder / "last"
    resumable = not last.exists() or ((last / "model.safetensors").exists()
                                      and (folder / "best" / "model.safetensors").exists())
    return resumable and (whole or bool(store.output(target.key).get("weights_dropped")))


@pytest.mark.parametrize("where", ["before-the-record", "while-deleting"])
def test_a_kill_while_dropping_weights_leaves_a_consistent_record(tmp_path, monkeypatch,
                                                                  where):
    store, target, plan, study = finished_target(tmp_path)
    real_rmtree = study_module.shutil.rmtree
    if where == "before-the-record":  # killed as the record is about to be rewritten
        def drop_weights(self, job):
            raise Killed

        monkeypatch.setattr(Store, "drop_weights", drop_weights)
    else:  # killed half-way through deleting the first folder
        def rmtree(path, ignore_errors=False):
            if path.exists():
                (sorted(path.iterdir())[0]).unlink()
                raise Killed
            real_rmtree(path, ignore_errors=ignore_errors)

        monkeypatch.setattr(study_module.shutil, "rmtree", rmtree)
    with pytest.raises(Killed):
        study_module.drop_unneeded_weights(plan, store, study)
    monkeypatch.undo()
    assert consistent(store, target)

    # A later plan that evaluates the same target again (say, one more language) retrains it
    # if its weights are gone, and never reads a checkpoint that is not there.
    again = job("e2", "evaluation", ["t1"])
    other = SimpleNamespace(jobs={"t1": target, "e2": again})
    todo = jobs_to_run(other, store)
    assert "e2" in todo
    if not (store.path(target) / "best" / "model.safetensors").exists():
        assert "t1" in todo

    # The next run of the study completes an interrupted drop (weights a kill left behind
    # after the record was rewritten stay: harmless, and a retrain replaces them).
    study_module.drop_unneeded_weights(plan, store, study)
    assert store.output("t1")["weights_dropped"] and consistent(store, target)
    if where == "before-the-record":
        assert not any((store.path(target) / p).exists() for p in ("best", "last"))
