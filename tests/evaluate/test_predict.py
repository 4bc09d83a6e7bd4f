"""Evaluation batches: sorted by length, bounded by count and padded tokens, outputs in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.fixtures import bare_task

from xstilts.evaluate.predict import length_batches, raw_outputs
from xstilts.formats import get_format

FMT = get_format("classification")
TASK = bare_task("eval", "classification", labels=["a", "b", "c"])


@pytest.fixture(scope="module")
def encoder_and_head():
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=2, intermediate_size=64,
                              max_position_embeddings=130, pad_token_id=1)
    return XLMRobertaModel(config, add_pooling_layer=False), FMT.build_head(32, TASK)


def features(n=23, seed=0):
    rng = np.random.default_rng(seed)
    return [{"input_ids": [0, *rng.integers(5, 100, size=int(k)).tolist(), 2], "label": 0,
             "example_index": i} for i, k in enumerate(rng.integers(1, 90, size=n))]


def test_batched_sorted_outputs_equal_one_at_a_time_in_feature_order(encoder_and_head):
    encoder, head = encoder_and_head
    feats = features()
    # Unsorted and unpadded: each feature alone, in feature order.
    encoder.eval(), head.eval()
    with torch.no_grad():
        alone = [FMT.predict_batch(encoder, head, FMT.collate([f], 1), TASK)[0] for f in feats]
    encoder.train(), head.train()
    batched = raw_outputs(encoder, head, FMT, TASK, feats, 1, batch_size=8,
                          device=torch.device("cpu"), bf16=False, max_tokens=200)
    assert len(batched) == len(alone)
    for a, b in zip(alone, batched, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert encoder.training and head.training  # the caller's mode is given back


def test_predictions_run_in_inference_mode(encoder_and_head):
    encoder, head = encoder_and_head
    seen = []

    class Spy(type(FMT)):
        def predict_batch(self, encoder, head, batch, task):
            seen.append(torch.is_inference_mode_enabled())
            return super().predict_batch(encoder, head, batch, task)

    encoder.eval(), head.eval()  # an evaluation job's model
    raw_outputs(encoder, head, Spy(), TASK, features(5), 1, 4, torch.device("cpu"), False)
    assert seen and all(seen)


def test_a_dev_evaluation_between_steps_leaves_lazy_buffers_trainable(encoder_and_head):
    # Some encoders cache a tensor on their first forward (rotary tables): made under
    # inference_mode, it could not be saved for backward by the next training step.
    base, head = encoder_and_head

    class LazyTable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.table = base, None

        def forward(self, **inputs):
            out = self.inner(**inputs)
            if self.table is None:
                self.table = torch.ones(out.last_hidden_state.shape[-1])
            out.last_hidden_state = out.last_hidden_state * self.table
            return out

    encoder = LazyTable()
    encoder.train(), head.train()
    raw_outputs(encoder, head, FMT, TASK, features(5), 1, 4, torch.device("cpu"), False)
    batch = FMT.collate(features(4), 1)
    FMT.loss(encoder, head, batch).backward()  # would raise on an inference tensor
    assert encoder.table is not None and base.embeddings.word_embeddings.weight.grad is not None


def test_length_batches_respect_count_and_token_budget():
    rng = np.random.default_rng(1)
    lengths = [*rng.integers(3, 20, size=200).tolist(), *rng.integers(200, 512, size=20).tolist()]
    batches = length_batches(lengths, batch_size=64, max_tokens=64 * 128)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # batches follow the length order
    for b in batches:
        assert len(b) <= 64 and len(b) * max(lengths[i] for i in b) <= 64 * 128
    assert len(batches[0]) == 64  # short sentences: the count bounds the batch
    assert max(len(b) for b in batches if min(lengths[i] for i in b) >= 200) <= 40
    # A feature longer than the budget is a batch of its own, not an error.
    assert length_batches([5, 50, 7], batch_size=8, max_tokens=20) == [[0, 2], [1]]
