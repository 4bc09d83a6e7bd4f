"""A study's cost before it runs (issue 27, point 3): FLOPs against a hand computation on a
tiny study, parameter counts against the models transformers builds, sizes declared for user
tasks, and a dry run of a study whose data is not on disk."""

from __future__ import annotations

import re

import pytest

from xstilts.cli import main
from xstilts.errors import XstiltsError
from xstilts.models.encoder_size import encoder_size
from xstilts.study.cost import peak_flops
from xstilts.study.spec import load_study
from xstilts.study.study import run_study

# The baseline alone: one target training (demo-nli: 4 steps x batch 8 at 48 tokens) and
# its evaluation in en and de (16 test examples each, at 48 tokens).
TINY = """
name: tiny-cost
base:
  encoder: {name: tiny-random}
  suites: {demo: {sizes: {train: 32, dev: 16, test: 16}}}
  targets:
    tasks: [demo-nli]
    languages: {demo-nli: [en, de]}
    training: {max_steps: 4, batch_size: 8, max_length: 48}
pool: [demo-topic-en]
sizes: [0]
"""


def test_flops_and_gpu_hours_equal_a_hand_computation(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(TINY, encoding="utf-8")
    # tiny-random: hidden 64, 2 layers, FFN 128. A layer: Q, K, V, O (64 x 64 + 64 each),
    # two LayerNorms (2 x 128), FFN 64 x 128 + 128 and 128 x 64 + 64.
    layer = 4 * (64 * 64 + 64) + 2 * 128 + (64 * 128 + 128) + (128 * 64 + 64)
    n = 2 * layer
    assert n == 66_944
    train_tokens, eval_tokens = 4 * 8 * 48, 2 * 16 * 48
    train_flops, eval_flops = 6 * n * train_tokens, 2 * n * eval_tokens
    cost = run_study(load_study(path), tmp_path / "out", dry_run=True, gpu="a100",
                     mfu=0.5)["cost"]
    assert cost.kinds["target"].tokens == train_tokens
    assert cost.kinds["target"].flops == train_flops
    assert cost.kinds["evaluation"].tokens == eval_tokens
    assert cost.kinds["evaluation"].flops == eval_flops
    hours = (train_flops + eval_flops) / (312e12 * 0.5) / 3600  # A100: 312 TFLOP/s bf16
    assert cost.gpu_hours(cost.total_flops) == pytest.approx(hours)
    assert main(["study", str(path), "--out", str(tmp_path / "out"), "--dry-run", "--gpu",
                 "a100", "--mfu", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"target\s+1\s+0\s+1\s+" + re.escape(f"{train_tokens:.3g}") + r"\s+"
                     + re.escape(f"{train_flops:.3g}"), printed)
    assert re.search(r"total\s+3\s+0\s+3\s+\S+\s+" + re.escape(f"{train_flops + eval_flops:.3g}")
                     + r"\s+" + re.escape(f"{hours:.3g}"), printed)
    assert "N = 66,944 non-embedding parameters" in printed
    assert "a100 at 312 TFLOP/s dense bf16 peak x 50% MFU" in printed


@pytest.mark.parametrize("name, config", [
    ("tiny-random", None),
    ("xlm-roberta-large", dict(vocab_size=250_002, hidden_size=1024, num_hidden_layers=24,
                               num_attention_heads=16, intermediate_size=4096,
                               max_position_embeddings=514, type_vocab_size=1)),
    ("bert-base-multilingual-cased", dict(vocab_size=119_547, hidden_size=768,
                                          num_hidden_layers=12, num_attention_heads=12,
                                          intermediate_size=3072, max_position_embeddings=512,
                                          type_vocab_size=2)),
])
def test_parameter_counts_equal_the_models_transformers_builds(name, config):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.models.tiny_random import ARCH

    config = config or {**ARCH, "vocab_size": 4000}
    with torch.device("meta"):  # shapes only, no memory
        model = XLMRobertaModel(XLMRobertaConfig(**config))
    size = encoder_size(name)
    assert size.total == sum(p.numel() for p in model.parameters())
    assert size.non_embedding == sum(p.numel() for p in model.encoder.parameters())
    assert size.embeddings == sum(p.numel() for p in model.embeddings.parameters())


def test_a_local_folders_config_and_an_unknown_encoder(tmp_path):
    (tmp_path / "config.json").write_text(
        '{"vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 3, '
        '"intermediate_size": 16, "max_position_embeddings": 40, "type_vocab_size": 2}')
    size = encoder_size(str(tmp_path))
    assert size.non_embedding == 3 * (4 * (8 * 8 + 8) + 4 * 8 + (8 * 16 + 16) + (16 * 8 + 8))
    assert encoder_size("nobody/no-such-encoder") is None


def test_gpu_names_and_utilisation():
    assert peak_flops("h100") == 989e12 and peak_flops("H100-PCIe") == 756e12
    with pytest.raises(XstiltsError, match=r"(?s)--gpu v100: no peak FLOP/s known.*h100-pcie"):
        peak_flops("v100")


# A user task whose files are not there yet: its sizes are declared (task option `sizes`),
# the other one's are not.
OFFLINE = """
name: offline
base:
  encoder: {name: tiny-random}
  tasks:
    mine:
      format: classification
      languages: [en, de]
      reader: jsonl
      paths: {train: "nowhere/train.jsonl", dev: "nowhere/dev.jsonl",
              test: "nowhere/test-{lang}.jsonl"}
      labels: [a, b]
      options: {sizes: {train: 1000, dev: 100, test: {en: 300, de: 200}}}
    theirs:
      format: classification
      languages: [en]
      reader: jsonl
      paths: {train: "nowhere/t.jsonl", dev: "nowhere/d.jsonl"}
      labels: [a, b]
  intermediate: {training: {epochs: 2, batch_size: 10, max_length: 20}}
  targets:
    tasks: [mine]
    training: {epochs: 1, batch_size: 10, max_length: 20}
pool: [theirs]
sizes: [0, 1]
"""


def test_a_dry_run_before_the_data_is_on_disk(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(OFFLINE, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert not out.exists()  # nothing written, nothing read
    # Two arms (baseline, {theirs}); the target trained from each start: 100 steps of 10
    # examples at 20 tokens; evaluated in en (300) and de (200) from each.
    assert re.search(r"intermediate\s+1\s+-\s+-\s+\?\s+\?\s+\?\n", printed)
    assert re.search(r"total\s+7\s+-\s+-\s+" + re.escape(f"{6e4:.3g}*"), printed)
    assert re.search(r"target\s+2\s+-\s+-\s+" + re.escape(f"{2 * 100 * 10 * 20:.3g}"), printed)
    assert re.search(r"evaluation\s+4\s+-\s+-\s+" + re.escape(f"{2 * 500 * 20:.3g}"), printed)
    assert "store not checked (nothing read or downloaded): the files of task(s) theirs, " \
           "mine are not on disk" in printed
    assert "split sizes: 3 declared" in printed
    assert ("not costed (*): \"intermediate\": 1 job(s) without a known size (theirs train); fix: "
            "declare the sizes with the task option `sizes`") in printed


def test_sizes_is_in_no_job_key(tmp_path):
    from xstilts.study.dry_run import offline_plan

    path = tmp_path / "study.yaml"
    path.write_text(OFFLINE, encoding="utf-8")
    keys = set(offline_plan(load_study(path)).jobs)
    path.write_text(OFFLINE.replace("options: {sizes: {train: 1000, dev: 100, test: {en: "
                                    "300, de: 200}}}", "options: {}"), encoding="utf-8")
    assert set(offline_plan(load_study(path)).jobs) == keys
