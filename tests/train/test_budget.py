"""What a phase trains on and what it saw: the per-task cap on training examples, and the
examples and tokens each task gave (summary.json `seen`), checked against a hand count and
against batches pulled from the loop's own streams."""

import json

import numpy as np
import pytest
from tests.fixtures import colour_run_config, train_intermediate_phase, write_colour_task

from xstilts.config import TrainingConfig
from xstilts.formats import get_format
from xstilts.train.budget import cap_examples, phase_steps, seen
from xstilts.train.loop import BatchStream, TaskData


def colour_config(tmp_path, training: str):
    write_colour_task(tmp_path / "data")  # 64 English training examples
    return colour_run_config(tmp_path, training)


def train(config, out):
    """The intermediate phase alone; returns its summary and the tokenizer it used."""
    from transformers import AutoTokenizer

    from xstilts.models.encoder import resolve_encoder
    from xstilts.tasks.loading import RunData

    train_intermediate_phase(config, out)
    base = resolve_encoder("tiny-random", RunData(config).texts(), config.seed)  # cached
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    texts = [json.loads(line)["text_a"] for line in
             (out.parent / "data" / "train-en.jsonl").read_text(encoding="utf-8").splitlines()]
    return summary, AutoTokenizer.from_pretrained(base), texts


def test_tokens_seen_equal_a_hand_count(tmp_path):
    config = colour_config(tmp_path, "epochs: 2, batch_size: 8, max_length: 64, evaluations: 1")
    summary, tokenizer, texts = train(config, tmp_path / "phase")
    # Two whole epochs over 64 examples: each example twice, each with its own length
    # (the tokenizer's ids of the sentence: <s> ... </s>).
    lengths = [len(tokenizer(text)["input_ids"]) for text in texts]
    assert len(lengths) == 64 and len(set(lengths)) > 1
    assert summary["steps"] == 16
    got = summary["seen"]["colour"]
    assert got["train_examples"] == 64
    assert got["examples"] == 128
    assert got["tokens"] == 2 * sum(lengths)
    assert got["padded_tokens"] >= got["tokens"]


def test_examples_per_task_caps_the_training_set(tmp_path):
    config = colour_config(tmp_path, "epochs: 2, batch_size: 8, max_length: 64, evaluations: 1, "
                                     "examples_per_task: 16")
    summary, tokenizer, texts = train(config, tmp_path / "phase")
    lengths = sorted(len(tokenizer(text)["input_ids"]) for text in texts)
    got = summary["seen"]["colour"]
    assert summary["steps"] == 4  # 2 epochs x 16 / 8
    assert (got["train_examples"], got["examples"]) == (16, 32)
    # Some 16 of the 64, twice each.
    assert 2 * sum(lengths[:16]) <= got["tokens"] <= 2 * sum(lengths[-16:])


def test_the_cap_is_a_seeded_subset_kept_across_sets():
    features = [{"input_ids": list(range(i + 1))} for i in range(50)]
    picked = cap_examples(features, 10, seed=0, task="a")
    assert len(picked) == 10 and len({len(f["input_ids"]) for f in picked}) == 10
    assert [f["input_ids"] for f in picked] == [f["input_ids"] for f in
                                                cap_examples(features, 10, 0, "a")]
    assert [len(f["input_ids"]) for f in picked] == sorted(len(f["input_ids"]) for f in picked)
    other = {len(f["input_ids"]) for f in cap_examples(features, 10, 1, "a")}
    assert other != {len(f["input_ids"]) for f in picked}
    assert cap_examples(features, 50, 0, "a") is features
    assert cap_examples(features, None, 0, "a") is features


def test_step_budgets():
    assert phase_steps(TrainingConfig(max_steps=7), [1000, 10]) == 7
    # 1.5 epochs over ceil(10/4) + ceil(7/4) = 5 batches, 2 per step: ceil(7.5 / 2) = 4.
    assert phase_steps(TrainingConfig(epochs=1.5, batch_size=4, grad_accum=2), [10, 7]) == 4
    assert phase_steps(TrainingConfig(epochs=1, batch_size=4), [10, 7], world_size=2) == 3


@pytest.mark.parametrize("world_size", [1, 2])
@pytest.mark.parametrize("batches", [3, 11, 26])
def test_replayed_counts_equal_the_streams_batches(batches, world_size):
    """seen() from a stream's final (epoch, position) equals the rows and real tokens of the
    batches every rank's stream handed out (several epochs, a short last batch)."""
    rng = np.random.default_rng(0)
    features = [{"input_ids": [5] * int(n)} for n in rng.integers(3, 40, size=21)]
    data = TaskData(task=None, fmt=get_format("classification"), head_name="h",
                    train_features=features, dev_examples=[], max_length=64)
    streams = [BatchStream(data, 4, 1, seed=9, group_by_length=True, rank=r,
                           world_size=world_size) for r in range(world_size)]
    rows = tokens = padded = 0
    for _ in range(batches):
        for stream in streams:
            batch = stream.next()
            rows += batch["input_ids"].shape[0]
            tokens += int(batch["attention_mask"].sum())
            padded += batch["input_ids"].numel()
    lengths = [len(f["input_ids"]) for f in features]
    counted = seen(lengths, 4, 9, streams[0].epoch, streams[0].position,
                   world_size=world_size)
    assert counted == {"examples": rows, "tokens": tokens, "padded_tokens": padded}
