"""The shipped example configs run end to end through the CLI."""

import json
from pathlib import Path

from transformers import AutoModel

from xstilts.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_tiny_writes_results_predictions_and_checkpoints(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["run", str(EXAMPLES / "quickstart-tiny.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "demo-nli [accuracy]" in printed and "results:" in printed
    results = json.loads((out / "results.json").read_text())
    targets = results["targets"]
    assert set(targets) == {"demo-nli", "demo-mc-en", "demo-qa", "demo-ner", "demo-retrieval"}
    formats = {t["format"] for t in targets.values()}
    assert formats == {"classification", "multiple_choice", "span_qa", "tagging", "retrieval"}
    for name, target in targets.items():
        suffix = "json" if target["format"] == "span_qa" else "tsv"
        for lang in target["languages"]:
            assert (out / "predictions" / name / f"test-{lang}.{suffix}").stat().st_size > 0
    assert results["intermediate"]["tasks"] == ["demo-topic-en"]
    encoder = AutoModel.from_pretrained(results["intermediate"]["checkpoint"])
    assert encoder.config.num_hidden_layers == 2
    encoder = AutoModel.from_pretrained(targets["demo-qa"]["dev"]["checkpoint"])
    assert encoder.config.model_type == "xlm-roberta"


def test_bad_config_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  tasks: [demo-nli]\n  trainig: {max_steps: 1}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:3: targets.trainig: unknown key" in err
    assert "Traceback" not in err


def test_unknown_task_and_missing_data_file(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("targets: {tasks: [no-such-task]}\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "unknown task 'no-such-task'" in capsys.readouterr().err
    cfg.write_text("""
targets: {tasks: [mine]}
tasks:
  mine: {format: classification, languages: [en], reader: jsonl, labels: [a],
         paths: {train: missing.jsonl, dev: missing.jsonl, test: missing.jsonl}}
""")
    assert main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl" in err and "fix:" in err


def test_multitask_tiny_mixes_formats_languages_and_mlm(tmp_path, capsys):
    out = tmp_path / "multi"
    assert main(["run", str(EXAMPLES / "multitask-tiny.yaml"), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["intermediate"]["summary"]
    tasks = ["demo-topic-en", "demo-mc-es", "demo-nli-de", "corpus-mlm"]
    assert sum(summary["batches_per_task"].values()) == 24
    assert set(summary["probabilities"]) == set(tasks)
    assert set(summary["dev_history"][-1]["dev"]) == set(tasks)
    assert set(results["targets"]) == {"demo-nli", "demo-ner"}
