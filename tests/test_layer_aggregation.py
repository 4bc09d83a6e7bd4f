"""encoder.layer_aggregation end to end with tiny-random: classification, tagging and span QA
train through the aggregate, the best checkpoint reloads to the same predictions, and the
module starts fresh in every phase."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel

from tests.fixtures import COLOUR_TASK_YAML, write_colour_task
from xstilts.config import RunConfig, load_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.predict import raw_outputs
from xstilts.formats import get_format
from xstilts.models.aggregation import LayerAggregatingEncoder, build_aggregation
from xstilts.models.build import build_model
from xstilts.models.encoder import resolve_encoder
from xstilts.models.multitask import AGGREGATION_KEY, HEADS_INFO, HEADS_WEIGHTS
from xstilts.study import phases
from xstilts.study.phases import phase_data, seed_everything
from xstilts.study.run import run_config
from xstilts.tasks.loading import RunData
from xstilts.train.loop import train_phase

CPU = torch.device("cpu")
TASKS = ["demo-nli", "demo-ner", "demo-qa"]  # classification, tagging, span QA
LENGTH = 64


def demo_config(kind: str, **training) -> RunConfig:
    """The three formats trained together (one phase), evaluated once at the end."""
    return RunConfig.model_validate({
        "seed": 3, "encoder": {"name": "tiny-random", "layer_aggregation": kind},
        "suites": {"demo": {"sizes": {"train": 16, "dev": 8, "test": 8}, "seed": 0}},
        "intermediate": {"tasks": TASKS, "training": {
            "max_steps": 3, "evaluations": 1, "batch_size": 8, "max_length": LENGTH,
            "learning_rate": 1e-3, "head_learning_rate": 3e-2, "warmup_ratio": 0.0,
            "sampler": "uniform", **training}},
        "targets": {"tasks": ["demo-nli"]}})


def outputs_of(model, tokenizer, data: RunData) -> dict:
    """Per task: the aggregate token vectors of its dev features and the head's raw outputs."""
    out = {}
    for name in TASKS:
        task = data.tasks[name]
        fmt = get_format(task.format)
        feats = fmt.featurize(data.get(name, "dev", "en"), tokenizer, task, LENGTH)
        batch = fmt.collate(feats, tokenizer.pad_token_id)
        model.eval()
        with torch.no_grad():
            hidden = model.encoder(input_ids=batch["input_ids"],
                                   attention_mask=batch["attention_mask"]).last_hidden_state
        raw = raw_outputs(model.encoder, model.heads[name], fmt, task, feats,
                          tokenizer.pad_token_id, 8, CPU)
        out[name] = (hidden, raw)
    return out


def assert_same_outputs(a: dict, b: dict) -> None:
    for name in TASKS:
        assert torch.equal(a[name][0], b[name][0]), name
        for x, y in zip(a[name][1], b[name][1], strict=True):
            if isinstance(x, tuple):  # span QA: (start logits, end logits)
                for u, v in zip(x, y, strict=True):
                    np.testing.assert_array_equal(u, v)
            else:
                np.testing.assert_array_equal(x, y)


def fresh_state(kind: str, config) -> dict:
    return {k: v.clone() for k, v in build_aggregation(kind, config).state_dict().items()}


@pytest.mark.parametrize("kind", ["scalar_mix", "attention"])
def test_trains_saves_and_reloads_to_the_same_predictions(kind, tmp_path):
    config = demo_config(kind)
    data = RunData(config)
    base = resolve_encoder("tiny-random", data.texts(), config.seed)
    seed_everything(config.seed)
    model, tokenizer = build_model(base, config.encoder)
    assert isinstance(model.encoder, LayerAggregatingEncoder)
    untrained = {k: v.clone() for k, v in model.aggregation.state_dict().items()}
    tds = phase_data(model, tokenizer, data.tasks, config.intermediate)
    result = train_phase(model, tokenizer, tds, config.intermediate.training, tmp_path / "phase",
                         config.seed, CPU)
    assert result.steps == 3 and result.dev_history[-1]["step"] == 3  # best = final state
    trained = model.aggregation.state_dict()
    assert any(not torch.equal(trained[k], untrained[k]) for k in trained)  # it learned
    before = outputs_of(model, tokenizer, data)

    # The checkpoint: a plain Hugging Face folder, the aggregation stored with the heads.
    best = result.best_dir
    plain = AutoModel.from_pretrained(best)
    assert not any("aggregation" in k for k in load_file(str(best / "model.safetensors")))
    assert sum(p.numel() for p in plain.parameters()) == sum(
        p.numel() for p in model.backbone.parameters())
    info = json.loads((best / HEADS_INFO).read_text())
    assert info[AGGREGATION_KEY] == {"kind": kind} and set(info) == {*TASKS, AGGREGATION_KEY}
    saved = load_file(str(best / HEADS_WEIGHTS))
    for k, v in trained.items():
        assert torch.equal(saved[f"{AGGREGATION_KEY}.{k}"], v)

    # A new phase from that checkpoint starts with a fresh module (as it does fresh heads) ...
    seed_everything(config.seed + 1)
    again, tokenizer2 = build_model(str(best), config.encoder)
    fresh = fresh_state(kind, again.backbone.config)
    state = again.aggregation.state_dict()
    if kind == "scalar_mix":  # deterministic initial values
        assert all(torch.equal(state[k], fresh[k]) for k in state)
    else:  # the output projection starts at zero
        assert not state["output.weight"].any()
    # ... and load_heads restores the trained one: the same outputs, bit for bit.
    again.load_heads(best, {name: data.tasks[name] for name in TASKS})
    assert_same_outputs(before, outputs_of(again, tokenizer2, data))

    # The restored module matters: with a fresh one the token vectors change.
    again.encoder.aggregation = build_aggregation(kind, again.backbone.config)
    changed = outputs_of(again, tokenizer2, data)
    assert not all(torch.equal(before[n][0], changed[n][0]) for n in TASKS)


def test_reloading_with_another_aggregation_is_refused(tmp_path):
    config = demo_config("scalar_mix")
    data = RunData(config)
    base = resolve_encoder("tiny-random", data.texts(), config.seed)
    model, tokenizer = build_model(base, config.encoder)
    model.add_head("demo-nli", data.tasks["demo-nli"])
    model.save(tmp_path / "ckpt", tokenizer)
    for kind in ("last", "attention"):
        other, _ = build_model(str(tmp_path / "ckpt"),
                               config.encoder.model_copy(update={"layer_aggregation": kind}))
        with pytest.raises(XstiltsError, match=r"saved with encoder.layer_aggregation "
                                               rf"'scalar_mix', but this model uses '{kind}'"):
            other.load_heads(tmp_path / "ckpt", {"demo-nli": data.tasks["demo-nli"]})


def test_target_phase_evaluates_with_the_best_checkpoints_aggregation(tmp_path, monkeypatch):
    write_colour_task(tmp_path / "data")
    (tmp_path / "c.yaml").write_text("""
seed: 0
encoder: {name: tiny-random, layer_aggregation: attention}
targets:
  tasks: [colour]
  training: {max_steps: 6, batch_size: 8, learning_rate: 1.0e-3, warmup_ratio: 0.0,
             eval_every: 3}
tasks:""" + COLOUR_TASK_YAML)
    config = load_config(tmp_path / "c.yaml")
    seen = []
    real = phases.predict_and_score

    def spy(model, *args, **kwargs):
        seen.append({k: v.detach().clone() for k, v in model.encoder.state_dict().items()})
        return real(model, *args, **kwargs)

    monkeypatch.setattr(phases, "predict_and_score", spy)
    results = run_config(config, tmp_path / "out")
    best = results["targets"]["colour"]["dev"]["checkpoint"]
    assert len(seen) == 3  # en, de, ru
    backbone = load_file(f"{best}/model.safetensors")
    aggregation = {k[len(AGGREGATION_KEY) + 1:]: v
                   for k, v in load_file(f"{best}/{HEADS_WEIGHTS}").items()
                   if k.startswith(AGGREGATION_KEY + ".")}
    assert aggregation["output.weight"].any()  # trained, not the zero start
    state = seen[0]
    for k, v in aggregation.items():
        assert torch.equal(state[f"aggregation.{k}"], v), k
    for k, v in backbone.items():
        assert torch.equal(state[f"backbone.{k}"], v), k


def test_interrupted_phase_resumes_with_its_aggregation(tmp_path, monkeypatch):
    from tests.train.test_multitask import interrupt_after_first_save, train_intermediate

    config = demo_config("scalar_mix", max_steps=4, eval_every=2)
    full = train_intermediate(config, tmp_path / "full")
    interrupt_after_first_save(config, tmp_path / "resumed", monkeypatch)  # after step 2
    resumed = train_intermediate(config, tmp_path / "resumed")

    def losses(folder):
        lines = (folder / "log.jsonl").read_text().splitlines()
        return [r["loss"] for r in map(json.loads, lines) if "loss" in r]

    # Steps 3-4 continue from the saved mix: the same losses as the uninterrupted run.
    assert len(losses(tmp_path / "resumed")) == 4
    assert losses(tmp_path / "resumed") == pytest.approx(losses(tmp_path / "full"), abs=1e-6)
    assert resumed.best_score == pytest.approx(full.best_score)
    for phase in ("full", "resumed"):
        (best,) = (tmp_path / phase).rglob("best/heads.safetensors")
        assert load_file(str(best))[f"{AGGREGATION_KEY}.scalars"].any()
