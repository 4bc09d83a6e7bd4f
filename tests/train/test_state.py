"""The resume state: saved every `save_every` steps (else on a clock), restored exactly (MLM's
per-epoch masks, dropout's RNG, sampler, data order), the optimiser's state on its
parameters' device, and refused when xstilts did not write it."""

import json

import pytest
import torch
from tests.fixtures import (
    log_records,
    train_intermediate_phase,
    without_wall_clock,
    write_multiformat_tasks,
)

from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.train import loop, state
from xstilts.train.state import OPTIM_FILE, STATE_JSON, SavePolicy


def config_of(tmp_path, tasks="[colour, corpus_mlm]", training="max_steps: 12, "
              "batch_size: 16, eval_every: 6, save_every: 4, sampler: weights, "
              "weights: {colour: 1, corpus_mlm: 3}"):
    tasks_yaml = write_multiformat_tasks(tmp_path)
    (tmp_path / "c.yaml").write_text(f"""
seed: 5
encoder: {{name: tiny-random}}
intermediate:
  tasks: {tasks}
  training: {{{training}}}
targets:
  tasks: [colour]
tasks:{tasks_yaml}""")
    return load_config(tmp_path / "c.yaml")


def killed_at(monkeypatch, step):
    """Make the phase die inside optimiser step `step` (after its backward pass), as a kill."""
    real = loop.check_finite

    def check_or_die(loss, norm, task, at, *args):
        if at == step:
            raise KeyboardInterrupt
        real(loss, norm, task, at, *args)

    monkeypatch.setattr(loop, "check_finite", check_or_die)
    return real


def outputs(folder):
    """What an uninterrupted and a resumed phase must agree on, to the bit."""
    return {"log": log_records(folder / "log.jsonl"),
            "summary": without_wall_clock(json.loads((folder / "summary.json").read_text())),
            "best": {p.name: p.read_bytes() for p in (folder / "best").glob("*.safetensors")}}


def test_killed_between_saves_resumes_to_the_same_phase(tmp_path, monkeypatch):
    config = config_of(tmp_path)
    train_intermediate_phase(config, tmp_path / "full")
    expected = outputs(tmp_path / "full")
    # The MLM corpus (96 lines, 6 batches an epoch) is drawn into its second epoch: fresh
    # masks; tiny-random trains with dropout 0.1: the RNG must resume too.
    tasks = [record.get("task") for record in expected["log"]]
    assert tasks.count("corpus_mlm") > 6 and "colour" in tasks, tasks

    real_check = killed_at(monkeypatch, 10)  # saves at 4, 6 (dev), 8: killed after 8
    with pytest.raises(KeyboardInterrupt):
        train_intermediate_phase(config, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "last" / STATE_JSON).read_text())["step"] == 8
    monkeypatch.setattr(loop, "check_finite", real_check)

    real_load, resumed = loop.load_training_state, []

    def load_and_look(folder, model, optimizer, *args):
        loaded = real_load(folder, model, optimizer, *args)
        resumed.append(loaded["step"])
        # Every state tensor where its parameter is (the pooler gets no gradient: no state).
        assert len(optimizer.state) > 30
        for param, saved in optimizer.state.items():
            for key, value in saved.items():
                if key == "step":  # torch keeps AdamW's step counter a CPU float
                    assert value.device.type == "cpu" and value.dtype == torch.float32
                else:
                    assert (value.device, value.dtype) == (param.device, param.dtype), key
        return loaded

    monkeypatch.setattr(loop, "load_training_state", load_and_look)
    train_intermediate_phase(config, tmp_path / "run")
    assert resumed == [8]
    assert outputs(tmp_path / "run") == expected


def test_save_policy_counts_steps_or_minutes():
    every = SavePolicy(3)
    assert [s for s in range(1, 10) if every.due(s)] == [3, 6, 9]
    now = [0.0]
    clock = SavePolicy(None, interval_s=300, clock=lambda: now[0])
    now[0] = 299.9
    assert not clock.due(1)
    now[0] = 300.0
    assert clock.due(2)
    clock.saved()
    now[0] = 599.0
    assert not clock.due(3)
    now[0] = 600.0
    assert clock.due(4)


def test_default_saves_on_the_clock(tmp_path, monkeypatch):
    """save_every unset: the state is saved once 5 minutes of training passed (a fake clock
    that advances 100 s a reading: the start, then one reading a step and one a save)."""
    config = config_of(tmp_path, "[colour]", "max_steps: 8, batch_size: 8, eval_every: 8")
    assert config.intermediate.training.save_every is None
    now = [0.0]

    def tick():
        now[0] += 100.0
        return now[0]

    monkeypatch.setattr(loop, "SavePolicy", lambda every: SavePolicy(every, clock=tick))
    saved = []
    real_save = loop.save_training_state
    monkeypatch.setattr(loop, "save_training_state",
                        lambda *a: (saved.append(a[-1]["step"]), real_save(*a)))
    train_intermediate_phase(config, tmp_path / "run")
    # Start 100; step 1: 200, 2: 300, 3: 400 -> save (then 500); 4..6: 600..800 -> save at 6
    # (then 900); 7: 1000; 8: the dev evaluation saves anyway.
    assert saved == [3, 6, 8]


def test_saving_changes_nothing(tmp_path):
    """A save after every step (the clock-based default saves at unpredictable steps) trains
    the very phase of one that saves only at its dev evaluation."""
    base = "max_steps: 4, batch_size: 8, eval_every: 4"
    train_intermediate_phase(config_of(tmp_path, "[colour]", base), tmp_path / "rare")
    train_intermediate_phase(config_of(tmp_path, "[colour]", base + ", save_every: 1"),
                             tmp_path / "every")
    assert outputs(tmp_path / "every") == outputs(tmp_path / "rare")


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """A phase killed at step 3 with its state of step 2 in last/."""
    config = config_of(tmp_path, "[colour]", "max_steps: 4, batch_size: 8, save_every: 2")
    real = killed_at(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        train_intermediate_phase(config, tmp_path / "run")
    monkeypatch.setattr(loop, "check_finite", real)
    return config, tmp_path / "run"


def test_a_state_without_the_xstilts_marker_is_refused(interrupted):
    config, folder = interrupted
    info_path = folder / "last" / STATE_JSON
    info = json.loads(info_path.read_text())
    assert (info["written_by"], info["format"]) == ("xstilts", state.STATE_FORMAT)
    info_path.write_text(json.dumps({k: v for k, v in info.items() if k != "written_by"}))
    with pytest.raises(XstiltsError, match="refusing to resume.*no xstilts marker"):
        train_intermediate_phase(config, folder)


def test_an_optimizer_file_xstilts_did_not_write_is_refused(interrupted, monkeypatch):
    config, folder = interrupted
    optim = folder / "last" / OPTIM_FILE
    blob = torch.load(optim, weights_only=True)
    blob["scheduler"]["last_epoch"] = 0  # someone else's file: loadable, but not ours
    torch.save(blob, optim)
    loaded = []
    monkeypatch.setattr(state.torch, "load", lambda *a, **k: loaded.append(a))
    with pytest.raises(XstiltsError, match="refusing to resume.*sha256") as err:
        train_intermediate_phase(config, folder)
    assert str(folder / "last") in str(err.value) and "fix: delete" in str(err.value)
    assert loaded == []  # refused before unpickling anything
