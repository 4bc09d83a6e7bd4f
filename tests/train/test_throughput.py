"""Throughput figures (tokens/s, FLOP/s, MFU), fused AdamW, SDPA and the compile option."""

from __future__ import annotations

import json

import pytest
import torch
from tests.fixtures import train_intermediate_phase, write_multiformat_tasks
from torch import nn

from xstilts.config import TrainingConfig, load_config
from xstilts.models.encoder import load_encoder
from xstilts.models.tiny_random import ensure_tiny_random
from xstilts.train import optim, throughput
from xstilts.train.throughput import ThroughputMeter, flops_per_token, peak_bf16_flops


def test_flops_per_token_by_hand():
    encoder = nn.Sequential(nn.Embedding(100, 8), nn.Linear(8, 8), nn.LayerNorm(8))
    head = nn.Linear(8, 2)
    encoder[1].requires_grad_(False)
    # Forward: Linear 8*8+8 = 72, LayerNorm 16, head 8*2+2 = 18 -> 106 (the 800 embedding
    # weights are a lookup). Trained: 16 + 18 = 34. 2 * 106 + 4 * 34 = 348.
    assert flops_per_token([encoder, head]) == 348
    encoder[1].requires_grad_(True)
    assert flops_per_token([encoder, head]) == 6 * 106
    assert flops_per_token([encoder, encoder]) == 6 * 88  # a shared module counts once


def test_flops_per_token_of_tiny_random_from_its_config(tmp_path):
    encoder, _ = load_encoder(str(ensure_tiny_random(["a b c"], cache_dir=tmp_path)))
    c = encoder.config
    h, inner, layers = c.hidden_size, c.intermediate_size, c.num_hidden_layers
    per_layer = (4 * (h * h + h)  # query, key, value, attention output
                 + (h * inner + inner) + (inner * h + h)  # feed-forward
                 + 2 * 2 * h)  # two LayerNorms
    total = layers * per_layer + 2 * h + (h * h + h)  # + embedding LayerNorm, pooler
    assert flops_per_token([encoder]) == 6 * total
    encoder.embeddings.requires_grad_(False)
    encoder.encoder.layer[0].requires_grad_(False)
    frozen = per_layer + 2 * h
    assert flops_per_token([encoder]) == 2 * total + 4 * (total - frozen)


def test_meter_figures_by_hand(monkeypatch):
    clock = iter([10.0, 12.0, 20.0, 21.0])
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: next(clock))
    meter = ThroughputMeter({"h": 348}, peak_flops=1e4)
    meter.start_step()  # t = 10
    meter.add_batch("h", {"input_ids": torch.zeros(4, 10),
                          "attention_mask": torch.tensor([[1] * 10, [1] * 8 + [0] * 2,
                                                          [1] * 7 + [0] * 3, [1] * 5 + [0] * 5])})
    first = meter.end_step()  # t = 12: 30 real of 40 tokens in 2 s
    assert first == pytest.approx({"tokens_per_s": 15.0, "real_token_fraction": 0.75,
                                   "flops_per_s": 30 * 348 / 2, "mfu": 30 * 348 / 2 / 1e4})
    meter.start_step()  # t = 20 (the time between steps, e.g. dev evaluation, is not counted)
    meter.add_batch("h", {"input_ids": torch.zeros(2, 5)})  # no mask: every token is real
    meter.end_step()  # t = 21
    assert meter.summary() == pytest.approx({
        "tokens_per_s": 40 / 3, "real_token_fraction": 40 / 50,
        "flops_per_s": 40 * 348 / 3, "mfu": 40 * 348 / 3 / 1e4})


def test_peak_is_known_only_for_listed_gpus(monkeypatch):
    assert peak_bf16_flops(torch.device("cpu")) is None
    names = {"NVIDIA H100 80GB HBM3": 989e12, "NVIDIA H100 PCIe": 756e12,
             "NVIDIA A100-SXM4-80GB": 312e12, "NVIDIA L4": 121e12, "NVIDIA L40S": 362e12,
             "NVIDIA H200": 989e12, "Tesla V100-SXM2-16GB": None}
    for name, peak in names.items():
        monkeypatch.setattr(throughput.torch.cuda, "get_device_name", lambda d, n=name: n)
        assert peak_bf16_flops(torch.device("cuda")) == peak, name


def tiny_phase(tmp_path, **training):
    tasks_yaml = write_multiformat_tasks(tmp_path)
    settings = {"max_steps": 3, "batch_size": 4, "eval_every": 3, **training}
    (tmp_path / "c.yaml").write_text(f"""
seed: 3
encoder: {{name: tiny-random}}
intermediate:
  tasks: [colour, colour_choice_de]
  training: {json.dumps(settings)}
targets:
  tasks: [colour]
tasks:{tasks_yaml}""")
    return load_config(tmp_path / "c.yaml")


def logged(folder):
    records = [json.loads(x) for x in (folder / "log.jsonl").read_text().splitlines()]
    summary = json.loads((folder / "summary.json").read_text())
    return [r for r in records if "loss" in r], summary


def test_phase_logs_throughput_per_step_and_in_its_summary(tmp_path):
    train_intermediate_phase(tiny_phase(tmp_path), tmp_path / "out")
    steps, summary = logged(tmp_path / "out")
    assert len(steps) == 3
    # FLOPs per token, by hand: tiny-random's matmul weights (2 layers of 33,472 at hidden
    # 64, inner 128; embedding LayerNorm 128; pooler 4,160 = 71,232) and the step's head:
    # colour's pooled head to 2 labels 4,290, the multiple-choice head to 1 score 4,225.
    by_task = {"colour": 6 * (71_232 + 4_290), "colour_choice_de": 6 * (71_232 + 4_225)}
    for figures in steps:
        assert figures["tokens_per_s"] > 0 and 0 < figures["real_token_fraction"] <= 1
        assert figures["mfu"] is None  # a CPU has no known peak
        per_token = figures["flops_per_s"] / figures["tokens_per_s"]
        assert per_token == pytest.approx(by_task[figures["task"]])
    phase = summary["throughput"]
    assert min(by_task.values()) <= phase["flops_per_s"] / phase["tokens_per_s"] <= max(
        by_task.values())
    assert 0 < phase["real_token_fraction"] <= 1 and phase["mfu"] is None


def test_fused_adamw_on_a_cpu_from_torch_2_4_and_it_matches_the_default(monkeypatch):
    torch.manual_seed(0)
    plain_model, fused_model = nn.Linear(4, 4), nn.Linear(4, 4)
    fused_model.load_state_dict(plain_model.state_dict())
    start = plain_model.weight.detach().clone()
    cfg = TrainingConfig()
    fused, _ = optim.build_optimizer(fused_model, cfg, 10)
    assert fused.defaults["fused"] is True  # CPU parameters, torch >= 2.4
    monkeypatch.setattr(optim, "_torch_version", lambda: (2, 3))  # before torch had it on CPUs
    assert not optim.build_optimizer(nn.Linear(4, 4), cfg, 10)[0].defaults["fused"]
    monkeypatch.setattr(optim, "FUSED_DEVICES", ("cuda",))  # the default implementation
    plain, _ = optim.build_optimizer(plain_model, cfg, 10)
    assert not plain.defaults["fused"]
    for model, opt in ((plain_model, plain), (fused_model, fused)):
        for _ in range(3):
            model(torch.arange(8.0).view(2, 4)).pow(2).sum().backward()
            opt.step()
            opt.zero_grad()
    torch.testing.assert_close(plain_model.weight, fused_model.weight)
    assert not torch.equal(plain_model.weight, start)  # the steps did move the weights
    assert not optim.fused_supported([])  # nothing to train: nothing to fuse


def test_encoders_load_with_sdpa_attention(tmp_path):
    from transformers import BertConfig, BertModel

    tiny, _ = load_encoder(str(ensure_tiny_random(["a b c"], cache_dir=tmp_path)))
    assert tiny.config._attn_implementation == "sdpa"
    dropout_free, _ = load_encoder(str(ensure_tiny_random(["a b c"], cache_dir=tmp_path)),
                                   attention_dropout=0.0)
    assert dropout_free.config._attn_implementation == "sdpa"
    bert_dir = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=32)).save_pretrained(bert_dir)
    _, tokenizer = load_encoder(str(ensure_tiny_random(["a b c"], cache_dir=tmp_path)))
    tokenizer.save_pretrained(bert_dir)
    bert, _ = load_encoder(str(bert_dir))
    assert type(bert).__name__ == "BertModel"
    assert bert.config._attn_implementation == "sdpa"


def test_compile_option_compiles_the_encoder_and_trains_the_same(tmp_path, monkeypatch):
    """compile: true traces the encoder with torch.compile; here with the eager backend (the
    real inductor backend needs minutes of C++ compilation on a CPU): the same losses."""
    from torch._dynamo.utils import counters

    from xstilts.models import unpadded

    # A compiled encoder runs Hugging Face's forward (models/unpadded.py leaves it alone):
    # compare with that forward uncompiled, so that dropout draws the same masks.
    monkeypatch.setattr(unpadded, "supports_unpadded", lambda encoder: False)
    train_intermediate_phase(tiny_phase(tmp_path, max_steps=2), tmp_path / "plain")
    monkeypatch.undo()
    original, compiled = torch.nn.Module.compile, []

    def eager_compile(self, *args, **kwargs):
        compiled.append(type(self).__name__)
        return original(self, *args, backend="eager", **kwargs)

    monkeypatch.setattr(torch.nn.Module, "compile", eager_compile)
    counters.clear()
    train_intermediate_phase(tiny_phase(tmp_path, max_steps=2, compile=True),
                             tmp_path / "compiled")
    assert compiled == ["XLMRobertaModel"]
    assert counters["stats"]["unique_graphs"] > 0  # dynamo really traced the encoder
    plain, _ = logged(tmp_path / "plain")
    steps, _ = logged(tmp_path / "compiled")
    assert [r["loss"] for r in steps] == pytest.approx([r["loss"] for r in plain], abs=1e-5)
    assert (tmp_path / "compiled" / "best" / "model.safetensors").exists()
