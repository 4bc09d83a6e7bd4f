"""End to end with tiny-random: learning, phase chaining, reuse, outputs, determinism."""

import json
import logging
import sqlite3

import pytest
import torch
from transformers import AutoModel

from tests.fixtures import COLOUR_TASK_YAML, write_colour_task
from xstilts.config import load_config, parse_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.predict import Predictor, predict_and_score
from xstilts.formats import get_format
from xstilts.models.encoder import load_encoder
from xstilts.models.multitask import MultiTaskModel
from xstilts.study.phases import seed_everything
from xstilts.study.run import run_config
from xstilts.tasks.loading import RunData
from xstilts.tasks.resolve import declared_tasks

CONFIG = """
seed: 0
encoder: {name: tiny-random}
targets:
  tasks: [colour]
  training: {max_steps: 60, batch_size: 8, learning_rate: 1.0e-3, warmup_ratio: 0.0,
             eval_every: 20}
tasks:""" + COLOUR_TASK_YAML


@pytest.fixture()
def colour_config(tmp_path):
    write_colour_task(tmp_path / "data")
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    return path


def untrained_dev_accuracy(config, encoder_location) -> float:
    data = RunData(config)
    task = data.tasks["colour"]
    seed_everything(0)
    encoder, tokenizer = load_encoder(encoder_location)
    model = MultiTaskModel(encoder)
    head = model.add_head("colour", task)
    predictor = Predictor(model.encoder, head, tokenizer, torch.device("cpu"), batch_size=64)
    _, metrics = predict_and_score(predictor, get_format("classification"), task,
                                   data.get("colour", "dev", "en"), "en", max_length=128)
    return metrics["accuracy"]


def test_training_learns_and_writes_every_output(colour_config, tmp_path):
    config = load_config(colour_config)
    out = tmp_path / "out"
    results = run_config(config, out)
    target = results["targets"]["colour"]
    before = untrained_dev_accuracy(config, results["encoder_location"])
    assert before <= 75.0  # an untrained head on balanced labels is near chance
    assert target["dev"]["best_score"] >= before + 20.0
    # Well above chance (50) on English test (32 examples: each error costs 3.1 points; the
    # exact count moves with the tokenizers/transformers release that builds tiny-random).
    assert target["languages"]["en"]["accuracy"] >= 80.0
    # results.json mirrors what run_config() returned; the average is the mean over languages.
    saved = json.loads((out / "results.json").read_text())
    langs = saved["targets"]["colour"]["languages"]
    assert set(langs) == {"en", "de", "ru"}
    mean = sum(v["accuracy"] for v in langs.values()) / 3
    assert saved["targets"]["colour"]["average"]["accuracy"] == pytest.approx(mean)
    # XTREME layout: one label per line, in test-file order.
    lines = (out / "predictions" / "colour" / "test-de.tsv").read_text().splitlines()
    assert len(lines) == 32 and set(lines) <= {"pos", "neg"}
    # The SQLite store has one row per language × metric, plus averages.
    with sqlite3.connect(out / "results.sqlite") as conn:
        rows = conn.execute("SELECT language, metric, value, config_hash FROM results "
                            "WHERE target='colour'").fetchall()
    assert len(rows) == 4 * 2  # (en, de, ru, avg) × (accuracy, macro_f1)
    assert {r[3] for r in rows} == {results["config_hash"]}
    # The best checkpoint's encoder loads with plain transformers.
    ckpt = target["dev"]["checkpoint"]
    assert AutoModel.from_pretrained(ckpt).config.hidden_size == 64
    assert json.loads((out / "checkpoints").joinpath(ckpt.split("checkpoints/")[1],
                                                      "heads.json").read_text())


def test_intermediate_is_trained_once_and_reused(colour_config, tmp_path, caplog):
    text = colour_config.read_text().replace("targets:", """intermediate:
  tasks: [colour_inter]
  training: {max_steps: 4, batch_size: 8}
targets:""").replace("tasks:\n  colour:", "tasks:\n  colour_inter:" + COLOUR_TASK_YAML.split(
        "colour:", 1)[1] + "  colour:").replace("max_steps: 60", "max_steps: 4")
    colour_config.write_text(text)
    config = load_config(colour_config)
    out = tmp_path / "out"
    first = run_config(config, out)
    ckpt = first["intermediate"]["checkpoint"]
    assert ckpt and first["intermediate"]["summary"]["steps"] == 4
    # The intermediate checkpoint holds its own head; the target's checkpoint holds only its own.
    assert set(json.loads((out / "checkpoints" / ckpt.split("checkpoints/")[1] /
                           "heads.json").read_text())) == {"colour_inter"}
    target_ckpt = first["targets"]["colour"]["dev"]["checkpoint"]
    assert set(json.loads((tmp_path / target_ckpt.split(str(tmp_path) + "/")[1] /
                           "heads.json").read_text())) == {"colour"}
    caplog.clear()
    caplog.set_level(logging.INFO, logger="xstilts")
    second = run_config(config, out)
    printed = caplog.text
    assert "reusing intermediate colour_inter" in printed
    assert "job(s) to run" not in printed  # nothing trained or evaluated again
    assert second["intermediate"]["checkpoint"] == ckpt


def test_same_seed_same_numbers(colour_config, tmp_path):
    colour_config.write_text(colour_config.read_text().replace("max_steps: 60", "max_steps: 8"))
    config = load_config(colour_config)
    a = run_config(config, tmp_path / "a")["targets"]["colour"]
    b = run_config(config, tmp_path / "b")["targets"]["colour"]
    assert a["languages"] == b["languages"]
    assert a["dev"]["best_score"] == b["dev"]["best_score"]
    ha = json.loads((tmp_path / "a").joinpath(a["dev"]["checkpoint"].split("/a/")[1],
                                               "..", "summary.json").read_text())
    hb = json.loads((tmp_path / "b").joinpath(b["dev"]["checkpoint"].split("/b/")[1],
                                               "..", "summary.json").read_text())
    assert ha["dev_history"] == hb["dev_history"]


def test_freeze_layers_stops_gradients_below_the_cut(colour_config):
    from xstilts.errors import XstiltsError
    from xstilts.models.build import build_model
    from xstilts.models.encoder import resolve_encoder

    config = load_config(colour_config)
    location = resolve_encoder("tiny-random", RunData(config).texts())
    config.encoder.freeze_layers = 1
    model, _ = build_model(location, config.encoder)
    layers = model.encoder.encoder.layer
    assert not any(p.requires_grad for p in model.encoder.embeddings.parameters())
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[1].parameters())
    config.encoder.freeze_layers = 3  # tiny-random has 2 layers
    with pytest.raises(XstiltsError, match="freeze_layers: 3 but the encoder has 2 layers"):
        build_model(location, config.encoder)


def test_task_training_sets_one_targets_steps(colour_config, tmp_path):
    text = colour_config.read_text().replace(
        "             eval_every: 20}", "             eval_every: 20}\n  task_training: {colour: {max_steps: 3}}")
    colour_config.write_text(text)
    config = load_config(colour_config)
    result = run_config(config, tmp_path / "out")["targets"]["colour"]
    assert result["dev"]["steps"] == 3
    # What the target trained on: three batches of its examples.
    batch_size = config.targets.for_task("colour").training.batch_size
    assert result["dev"]["seen"]["colour"]["examples"] == 3 * batch_size


def test_suite_task_sizes_change_one_task():
    text = ("suites: {demo: {sizes: {train: 10, dev: 4, test: 4}, "
            "task_sizes: {demo-nli: {train: 30}}}}\ntargets: {tasks: [demo-nli]}\n")
    tasks = declared_tasks(parse_config(text))
    assert len(tasks["demo-nli"].load("train")) == 30
    assert len(tasks["demo-qa"].load("train")) == 10
    assert len(tasks["demo-nli"].load("dev")) == 4
    with pytest.raises(XstiltsError, match=r"suites\.demo\.task_sizes names \['demo-nil'\]"):
        declared_tasks(parse_config(text.replace("demo-nli: {train", "demo-nil: {train")))


def test_split_reader_options_serve_two_splits_from_one_file(tmp_path):
    articles = [{"title": f"a{k}", "paragraphs": [{"context": f"Text {k} here.", "qas": [
        {"id": f"q{k}", "question": "Which?", "answers": [{"text": f"{k}", "answer_start": 5}]}]}]}
        for k in range(3)]
    (tmp_path / "xquad.en.json").write_text(json.dumps({"version": "1.1", "data": articles}))
    text = f"""
targets: {{tasks: [xq]}}
tasks:
  xq:
    format: span_qa
    languages: [en]
    reader: squad_json
    base_dir: {tmp_path}
    paths: {{train: "xquad.{{lang}}.json", test: "xquad.{{lang}}.json"}}
    split_reader_options: {{train: {{articles: [0, 2]}}, test: {{articles: [2, 3]}}}}
"""
    task = declared_tasks(parse_config(text))["xq"]
    assert [ex["id"] for ex in task.load("train")] == ["q0", "q1"]
    assert [ex["id"] for ex in task.load("test", "en")] == ["q2"]
    assert task.describe()["source"]["split_options"]["test"] == {"articles": [2, 3]}


def test_hf_and_unpadded_forwards_train_to_the_same_dev_metric(colour_config, tmp_path):
    """Dropout off (attention_dropout: 0 in the config, hidden dropout 0 in a copy of
    tiny-random's config: no setting turns it off), the two forwards are the same math: a
    short training run gives the same dev metric and, to rounding, the same training losses."""
    import shutil

    from xstilts.models.encoder import resolve_encoder

    config = load_config(colour_config)
    folder = tmp_path / "no-dropout"
    shutil.copytree(resolve_encoder("tiny-random", RunData(config).texts()), folder)
    model_config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**model_config, "hidden_dropout_prob": 0.0}))
    text = colour_config.read_text().replace("max_steps: 60", "max_steps: 12").replace(
        "eval_every: 20", "eval_every: 4")
    results = {}
    for kind in ("hf", "unpadded"):
        colour_config.write_text(text.replace(
            "encoder: {name: tiny-random}",
            f"encoder: {{name: '{folder}', attention_dropout: 0.0, forward: {kind}}}"))
        results[kind] = run_config(load_config(colour_config), tmp_path / kind, store=tmp_path / "store")
        assert results[kind]["forward"] == results[kind]["runtime"]["forward"] == kind
        assert results[kind]["settings"]["forward"] == kind
        assert results[kind]["targets"]["colour"]["dev"]["forward"] == kind  # the job's own
    hf, unpadded = (results[k]["targets"]["colour"] for k in ("hf", "unpadded"))
    assert hf["dev"]["steps"] == unpadded["dev"]["steps"] == 12
    assert hf["dev"]["best_score"] == unpadded["dev"]["best_score"]
    assert hf["languages"] == unpadded["languages"]
    # One store, two keys: neither run reused the other's jobs.
    assert hf["dev"]["checkpoint"] != unpadded["dev"]["checkpoint"]
    folders = [(tmp_path / "store").joinpath(r["dev"]["checkpoint"].split("store/")[1], "..")
               for r in (hf, unpadded)]
    histories = [json.loads((f / "summary.json").read_text())["dev_history"] for f in folders]
    assert histories[0] == histories[1]  # every dev evaluation's scores
    losses = [[json.loads(line)["loss"] for line in (f / "log.jsonl").read_text().splitlines()
               if "loss" in json.loads(line)] for f in folders]
    assert len(losses[0]) == 12
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_unpadded_forward_on_an_encoder_it_cannot_run_is_refused_before_any_work(
        colour_config, tmp_path):
    from transformers import BertConfig, BertModel

    from xstilts.models.encoder import write_encoder_folder
    from xstilts.models.tiny_random import build_tokenizer

    config = load_config(colour_config)
    tokenizer = build_tokenizer(RunData(config).texts(), vocab_size=300)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64,
                                 position_embedding_type="relative_key"))
    write_encoder_folder(model, tokenizer, tmp_path / "relative")
    colour_config.write_text(colour_config.read_text().replace(
        "encoder: {name: tiny-random}",
        f"encoder:\n  name: '{tmp_path / 'relative'}'\n  forward: unpadded"))
    with pytest.raises(XstiltsError, match=r"(?s)c\.yaml:5: encoder\.forward: unpadded, but the "
                       r"unpadded forward cannot run this encoder: relative_key position "
                       r"embeddings.*fix: set `encoder\.forward: auto` \(or hf\)"):
        run_config(load_config(colour_config), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # auto runs it with Hugging Face's forward.
    colour_config.write_text(colour_config.read_text().replace("forward: unpadded",
                                                               "forward: auto").replace(
        "max_steps: 60", "max_steps: 2"))
    assert run_config(load_config(colour_config), tmp_path / "out")["forward"] == "hf"
