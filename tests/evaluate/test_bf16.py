"""bf16 autocast only where it works: a GPU with bf16; fp32 on the CPU and, with one warning
line, on a GPU without bf16 (instead of failing)."""

import logging

import pytest
import torch

from xstilts.evaluate import predict
from xstilts.evaluate.predict import use_bf16


@pytest.fixture
def gpu(monkeypatch):
    """Pretend to be a GPU whose bf16 support the test sets; forget earlier warnings."""
    support = {"bf16": True}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: support["bf16"])
    monkeypatch.setattr(predict, "_WARNED_NO_BF16", set())
    return support


def test_bf16_on_a_gpu_that_has_it(gpu, caplog):
    with caplog.at_level(logging.WARNING):
        assert use_bf16(torch.device("cuda"), True) is True
        assert use_bf16(torch.device("cuda"), False) is False
    assert caplog.records == []


def test_fp32_with_one_warning_on_a_gpu_without_bf16(gpu, caplog):
    gpu["bf16"] = False
    with caplog.at_level(logging.WARNING):
        decisions = [use_bf16(torch.device("cuda:0"), True) for _ in range(3)]
    assert decisions == [False, False, False]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "does not support bf16" in warnings[0], warnings
    assert "fp32" in warnings[0] and "training.bf16: false" in warnings[0]


def test_cpu_stays_fp32(gpu):
    assert use_bf16(torch.device("cpu"), True) is False
    with predict.autocast(torch.device("cpu"), True):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32
