"""Multi-task intermediate training: mixed formats and languages, sampler counts, resume."""

import json

import pytest
from safetensors.torch import load_file, save_file
from tests.fixtures import train_intermediate_phase, write_multiformat_tasks

from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.train import loop
from xstilts.train.samplers import TaskSampler

PHASE_TASKS = ["colour", "colour_tags", "colour_choice_de", "corpus_mlm"]


def make_config(tmp_path, sampler="proportional", steps=12, extra=""):
    tasks_yaml = write_multiformat_tasks(tmp_path)
    (tmp_path / "c.yaml").write_text(f"""
seed: 5
encoder: {{name: tiny-random}}
intermediate:
  tasks: {PHASE_TASKS}
  training: {{max_steps: {steps}, batch_size: 4, eval_every: 6, sampler: {sampler}{extra}}}
targets:
  tasks: [colour]
  training: {{max_steps: 2, batch_size: 4}}
tasks:{tasks_yaml}""")
    return load_config(tmp_path / "c.yaml")


def train_intermediate(config, out):
    return train_intermediate_phase(config, out)


@pytest.mark.parametrize("sampler, extra", [
    ("uniform", ""), ("proportional", ""), ("capped", ", sampler_cap: 50"),
    ("temperature", ", temperature: 3.0"),
    ("weights", ", weights: {colour: 1, colour_tags: 2, colour_choice_de: 3, corpus_mlm: 4}"),
])
def test_realised_batches_follow_the_configured_sampler(tmp_path, sampler, extra):
    config = make_config(tmp_path, sampler, steps=12, extra=extra)
    result = train_intermediate(config, tmp_path / "phase")
    # The run's realised counts are exactly a fresh sampler's first 12 draws with that seed
    # (whose long-run frequencies are tested against the probabilities in test_samplers).
    replay = TaskSampler(result.probabilities, seed=config.seed)
    for _ in range(12):
        replay.next()
    assert result.batches_per_task == replay.counts
    assert sum(result.batches_per_task.values()) == 12
    summary = json.loads((tmp_path / "phase" / "summary.json").read_text())
    assert summary["probabilities"] == pytest.approx(result.probabilities)
    # Validation covers every task; the selection score is the mean of their main metrics.
    last = summary["dev_history"][-1]
    assert set(last["dev"]) == set(PHASE_TASKS)
    mains = [last["dev"]["colour"]["accuracy"], last["dev"]["colour_tags"]["f1"],
             last["dev"]["colour_choice_de"]["accuracy"], last["dev"]["corpus_mlm"]["accuracy"]]
    assert last["score"] == pytest.approx(sum(mains) / 4)


def interrupt_after_first_save(config, out, monkeypatch) -> None:
    """Run the phase until its first saved training state, then stop as on Ctrl-C."""
    real_save = loop.save_training_state

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_training_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_intermediate(config, out)
    monkeypatch.setattr(loop, "save_training_state", real_save)


def test_resumed_phase_continues_where_it_stopped(tmp_path, monkeypatch):
    config = make_config(tmp_path, steps=12)
    full = train_intermediate(config, tmp_path / "full")
    full_log = [json.loads(x) for x in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]

    # Interrupt the same phase right after its first saved state (step 6) ...
    interrupt_after_first_save(config, tmp_path / "resumed", monkeypatch)
    # ... and run it again: it resumes at step 7 with the same sampler, data order and RNGs.
    resumed = train_intermediate(config, tmp_path / "resumed")
    log = [json.loads(x) for x in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert [r["step"] for r in steps] == list(range(1, 13))
    full_steps = [r for r in full_log if "loss" in r]
    assert [r["task"] for r in steps] == [r["task"] for r in full_steps]
    assert [r["loss"] for r in steps] == pytest.approx([r["loss"] for r in full_steps], abs=1e-5)
    assert resumed.batches_per_task == full.batches_per_task
    assert resumed.best_score == pytest.approx(full.best_score)


def test_resume_refuses_a_state_that_does_not_fit(tmp_path, monkeypatch):
    config = make_config(tmp_path, steps=12)
    interrupt_after_first_save(config, tmp_path / "run", monkeypatch)
    (weights_file,) = (tmp_path / "run").rglob("last/model.safetensors")
    weights = load_file(str(weights_file))
    dropped = next(k for k in weights if "layer" in k)
    save_file({k: v for k, v in weights.items() if k != dropped}, str(weights_file))
    with pytest.raises(XstiltsError, match=r"does not fit this encoder \(missing \['" + dropped):
        train_intermediate(config, tmp_path / "run")


def test_multitask_run_end_to_end_with_mlm(tmp_path):
    from xstilts.study.run import run_config

    config = make_config(tmp_path, steps=6)
    results = run_config(config, tmp_path / "out")
    summary = results["intermediate"]["summary"]
    assert set(summary["batches_per_task"]) == set(PHASE_TASKS)
    assert "corpus_mlm" in summary["dev_history"][-1]["dev"]
    # The target's German score is what its exported predictions earn against the test file's
    # labels (a wrong file, order or scale breaks it; "accuracy >= 0" could not).
    gold = [json.loads(line)["label"] for line in
            (tmp_path / "data" / "test-de.jsonl").read_text(encoding="utf-8").splitlines()]
    predicted = (tmp_path / "out" / "predictions" / "colour" / "test-de.tsv").read_text(
        encoding="utf-8").splitlines()
    assert len(predicted) == len(gold) == 32 and set(predicted) <= {"pos", "neg"}
    right = sum(p == g for p, g in zip(predicted, gold, strict=True))
    assert results["targets"]["colour"]["languages"]["de"]["accuracy"] == pytest.approx(
        100 * right / 32)
