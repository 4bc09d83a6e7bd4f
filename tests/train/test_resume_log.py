"""A phase killed after logging steps past its last saved state (or before any state) resumes
with a log.jsonl in which no step appears twice: the same log as an uninterrupted phase."""


import pytest
from tests.fixtures import log_records, train_intermediate_phase, write_multiformat_tasks

from xstilts.config import load_config
from xstilts.train import loop


def config_of(tmp_path):
    tasks_yaml = write_multiformat_tasks(tmp_path)
    (tmp_path / "c.yaml").write_text(f"""
seed: 3
encoder: {{name: tiny-random}}
intermediate:
  tasks: [colour, colour_choice_de]
  training: {{max_steps: 8, batch_size: 4, eval_every: 4}}
targets:
  tasks: [colour]
tasks:{tasks_yaml}""")
    return load_config(tmp_path / "c.yaml")


def train(config, out):
    return train_intermediate_phase(config, out)


def records(folder):
    return log_records(folder / "log.jsonl")


@pytest.mark.parametrize("saved", [0, 1], ids=["killed-before-any-state", "killed-mid-phase"])
def test_resumed_phase_logs_each_step_once(tmp_path, monkeypatch, saved):
    config = config_of(tmp_path)
    train(config, tmp_path / "full")
    expected = records(tmp_path / "full")

    # Killed after the dev record at step 8 (or 4) reached the log but before the state of
    # that step was saved: the log runs ahead of `last/` (step 4, or none).
    real_save, calls = loop.save_training_state, []

    def save_or_die(*args, **kwargs):
        calls.append(1)
        if len(calls) > saved:
            raise KeyboardInterrupt  # as SIGKILL, minus the buffered lines it would lose
        real_save(*args, **kwargs)

    monkeypatch.setattr(loop, "save_training_state", save_or_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "run")
    monkeypatch.setattr(loop, "save_training_state", real_save)
    with (tmp_path / "run" / "log.jsonl").open("a") as fh:
        fh.write('{"step": 9, "task": "col')  # a line torn by the kill
    assert (tmp_path / "run" / "last").exists() == bool(saved)

    train(config, tmp_path / "run")
    assert records(tmp_path / "run") == expected
