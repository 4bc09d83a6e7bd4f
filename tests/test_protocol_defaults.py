"""The protocol by default: model selection that selects, XTREME's retrieval (direction,
length, layer from the model's own config), BUCC's hub copy refused, dev-split evaluation."""

from __future__ import annotations

import json
import logging

import pytest
from transformers import XLMRobertaConfig, XLMRobertaModel

from tests.fixtures import COLOUR_TASK_YAML, colour_examples, write_colour_task, write_jsonl
from tests.tasks.xtreme_data import build_local
from xstilts.config import TrainingConfig, load_config, parse_config
from xstilts.errors import XstiltsError
from xstilts.models.encoder import FAMILY_KEY
from xstilts.models.tiny_random import build_tokenizer
from xstilts.study.run import run_config
from xstilts.tasks.resolve import resolve_tasks
from xstilts.train.loop import evaluation_steps

COLOUR = """
encoder: {name: tiny-random}
targets:
  tasks: [colour]
  training: {max_steps: 10, batch_size: 8, learning_rate: 1.0e-3}
tasks:""" + COLOUR_TASK_YAML


def colour_run(tmp_path, text: str = COLOUR):
    write_colour_task(tmp_path / "data")
    (tmp_path / "c.yaml").write_text(text)
    return load_config(tmp_path / "c.yaml")


# --- model selection --------------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "steps", "expected"), [
    ({}, 10, [2, 4, 6, 8, 10]),                       # default: 5 evaluations, evenly
    ({"evaluations": 3}, 7, [3, 6, 7]),               # ceil(7 / 3) = 3, and the last step
    ({"eval_every": 4}, 10, [4, 8, 10]),
    ({"eval_every": 1000}, 300, [300]),               # longer than the phase: once, at the end
    ({"evaluations": 8}, 3, [1, 2, 3]),               # never more than one per step
])
def test_evaluation_steps(settings, steps, expected):
    assert evaluation_steps(TrainingConfig(**settings), steps) == expected


def test_a_default_run_selects_among_several_dev_evaluations(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="xstilts")
    out = tmp_path / "out"
    dev = run_config(colour_run(tmp_path), out)["targets"]["colour"]["dev"]
    assert dev["evaluations"] == 5
    ckpt = out / "checkpoints" / dev["checkpoint"].split("checkpoints/")[1]
    log = [json.loads(line) for line in (ckpt.parent / "log.jsonl").read_text().splitlines()]
    evals = [r for r in log if "score" in r]
    assert [r["step"] for r in evals] == [2, 4, 6, 8, 10]
    best = max(evals, key=lambda r: r["score"])  # the first of equal scores is kept
    assert dev["best_step"] == best["step"] and dev["best_score"] == best["score"]
    assert json.loads((ckpt / "dev_metrics.json").read_text())["step"] == best["step"]
    assert f"5 dev evaluation(s), best at step {best['step']} of 10" in caplog.text
    assert not [r for r in caplog.records
                if r.name.startswith("xstilts") and r.levelno >= logging.WARNING]


def test_a_single_dev_evaluation_is_warned_about(tmp_path, caplog):
    config = colour_run(tmp_path, COLOUR.replace("learning_rate: 1.0e-3", "eval_every: 50"))
    assert run_config(config, tmp_path / "out")["targets"]["colour"]["dev"]["evaluations"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("was scored on dev once, so model selection chose nothing" in w
               for w in warnings), warnings


def test_task_options_choose_the_selection_metric(tmp_path):
    text = COLOUR + "task_options: {colour: {main_metric: macro_f1}}\n"
    result = run_config(colour_run(tmp_path, text), tmp_path / "out")["targets"]["colour"]
    assert result["main_metric"] == "macro_f1"
    ckpt = tmp_path / "out" / "checkpoints" / result["dev"]["checkpoint"].split("checkpoints/")[1]
    record = json.loads((ckpt / "dev_metrics.json").read_text())
    assert record["score"] == record["dev"]["colour"]["macro_f1"]


def test_task_options_must_name_tasks_of_the_run():
    text = COLOUR + "task_options: {colourr: {main_metric: macro_f1}}\n"
    line = text.splitlines().index("task_options: {colourr: {main_metric: macro_f1}}") + 1
    with pytest.raises(XstiltsError, match=rf"<config>:{line}: task_options: .*names \['colourr'\]"):
        parse_config(text)


# --- evaluation on dev ------------------------------------------------------------------------

def test_eval_split_dev_scores_each_languages_dev_split(tmp_path):
    data = tmp_path / "data"
    write_colour_task(data)
    for lang in ("de", "ru"):
        write_jsonl(data / f"dev-{lang}.jsonl", colour_examples(lang, 10, 7))
    (tmp_path / "c.yaml").write_text("""
encoder: {name: tiny-random}
targets:
  tasks: [colour]
  eval_split: dev
  training: {max_steps: 4, batch_size: 8}
tasks:
  colour:
    format: classification
    languages: [de, ru]
    reader: jsonl
    paths: {train: "data/train-en.jsonl", dev: "data/dev-{lang}.jsonl",
            test: "data/test-{lang}.jsonl"}
    labels: [pos, neg]
""")
    result = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")["targets"]["colour"]
    assert result["eval_split"] == "dev"
    for lang in ("de", "ru"):
        gold = [ex["label"] for ex in colour_examples(lang, 10, 7)]
        labels = (tmp_path / f"out/labels/colour/dev-{lang}.tsv").read_text().splitlines()
        assert labels == gold
        preds = (tmp_path / f"out/predictions/colour/dev-{lang}.tsv").read_text().splitlines()
        right = sum(p == g for p, g in zip(preds, gold, strict=True))
        assert result["languages"][lang]["accuracy"] == pytest.approx(100 * right / 10)
        assert not (tmp_path / f"out/predictions/colour/test-{lang}.tsv").exists()


# --- retrieval as XTREME ----------------------------------------------------------------------

def test_tatoeba_predictions_have_one_line_per_english_sentence(tmp_path):
    build_local(tmp_path / "xtreme", "tatoeba")
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: tiny-random}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets: {{tasks: [tatoeba], languages: {{tatoeba: [de, fr]}}}}
""")
    result = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")["targets"]["tatoeba"]
    assert result["max_length"] == 512  # XTREME's length, not the training default
    for lang, iso3 in (("de", "deu"), ("fr", "fra")):
        english = (tmp_path / f"xtreme/tatoeba/v1/tatoeba.{iso3}-eng.eng").read_text()
        lines = (tmp_path / f"out/predictions/tatoeba/test-{lang}.tsv").read_text().splitlines()
        assert len(lines) == len(english.splitlines())
        assert all(0 <= int(x) < len(english.splitlines()) for x in lines)


def test_retrieval_encodes_at_its_own_length_not_the_training_length(tmp_path):
    # Every pair is one text on both sides (any encoder embeds it identically); the texts
    # differ only after a shared 40-word prefix, so a 16-token cut would make them tie.
    prefix = " ".join(["word"] * 40)
    rows = [{"source": f"{prefix} {tail}", "target": f"{prefix} {tail}"}
            for tail in ("red car", "blue house", "green door", "old tree")]
    write_jsonl(tmp_path / "data/pairs-de.jsonl", rows)
    (tmp_path / "c.yaml").write_text("""
encoder: {name: tiny-random}
targets:
  tasks: [pairs]
  training: {max_length: 16}
tasks:
  pairs:
    format: retrieval
    languages: [de]
    reader: jsonl
    paths: {test: "data/pairs-{lang}.jsonl"}
""")
    result = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")["targets"]["pairs"]
    assert result["max_length"] == 512  # tiny-random: 514 positions less RoBERTa's offset 2
    assert result["languages"]["de"]["accuracy"] == pytest.approx(100.0)
    text = (tmp_path / "c.yaml").read_text().replace("pairs:\n    format: retrieval",
                                                    "pairs:\n    format: retrieval\n"
                                                    "    options: {max_length: 16}")
    (tmp_path / "c.yaml").write_text(text)
    cut = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out2")["targets"]["pairs"]
    assert cut["max_length"] == 16
    assert cut["languages"]["de"]["accuracy"] == pytest.approx(25.0)  # all tie: first wins


def tiny_xlmr_folder(folder, layers: int, **config_extra):
    """A small XLM-R-shaped model folder (random weights) with a tokenizer."""
    tokenizer = build_tokenizer(["Hallo. Danke. Hello. Thanks."])
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=layers,
                              num_attention_heads=2, intermediate_size=32,
                              max_position_embeddings=514, pad_token_id=1, **config_extra)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(("folder", "layers", "extra", "layer", "prefix"), [
    ("runs/x/best", 24, {}, 14, ""),                 # a fine-tuned XLM-R Large, any name
    ("my-e5-copy", 12, {}, 8, ""),                   # "e5" in a name means nothing
    ("renamed", 2, {FAMILY_KEY: "e5"}, -1, "query: "),  # the conversion's marker does
])
def test_retrieval_layer_and_prefix_come_from_the_model_not_its_name(
        tmp_path, folder, layers, extra, layer, prefix):
    location = tiny_xlmr_folder(tmp_path / folder, layers, **extra)
    build_local(tmp_path / "xtreme", "tatoeba")
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: {location}}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets: {{tasks: [tatoeba], languages: {{tatoeba: [de]}}}}
""")
    options = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")["targets"]["tatoeba"][
        "options"]
    assert (options["layer"], options["prefix"]) == (layer, prefix)


def test_explicit_retrieval_settings_win(tmp_path):
    location = tiny_xlmr_folder(tmp_path / "m", 24)
    build_local(tmp_path / "xtreme", "tatoeba")
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: {location}, retrieval_layer: 3, text_prefix: "q: "}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets: {{tasks: [tatoeba], languages: {{tatoeba: [de]}}}}
""")
    options = run_config(load_config(tmp_path / "c.yaml"), tmp_path / "out")["targets"]["tatoeba"][
        "options"]
    assert (options["layer"], options["prefix"]) == (3, "q: ")


# --- BUCC from the hub ------------------------------------------------------------------------

BUCC_HUB = """
encoder: {name: tiny-random}
targets: {tasks: [bucc2018], languages: {bucc2018: [de]}}
"""


def test_bucc_from_the_hub_is_refused_before_any_work(tmp_path):
    with pytest.raises(XstiltsError, match="(?s)only the gold pairs.*allow_gold_only: true"):
        run_config(parse_config(BUCC_HUB), tmp_path / "out")
    assert not (tmp_path / "out" / "results.json").exists()


def test_bucc_from_the_hub_runs_when_allowed_and_is_marked_not_comparable(tmp_path,
                                                                          hub_mirror_env):
    # The hub's bucc18 configs, from its local copy (replicas, read through `datasets`).
    config = parse_config(BUCC_HUB + "data: {source: hub, allow_gold_only: true}\n")
    assert "not_comparable" in resolve_tasks(config)["bucc2018"].options
    result = run_config(config, tmp_path / "out")["targets"]["bucc2018"]
    assert result["comparable"] is False


def test_an_unknown_selection_metric_is_a_clear_error(tmp_path):
    text = COLOUR + "task_options: {colour: {main_metric: f1_macro}}\n"
    with pytest.raises(XstiltsError, match=r"(?s)main_metric 'f1_macro' is not a metric of "
                                           r"format 'classification'.*accuracy.*macro_f1"):
        run_config(colour_run(tmp_path, text), tmp_path / "out")
