"""The benchmark scripts' --quick mode runs end to end and prints the table it promises.

Each script runs in a subprocess (as a user runs it) on tiny-random and on a few lines of
data in the real files' own formats (SQuAD JSON, CoNLL-U, Tatoeba pairs) written here, so the
scripts cannot rot between the lead's benchmark runs and need no ../shared/data.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

WORDS = {"en": "the river city market bridge music garden winter school tower".split(),
         "de": "der fluss stadt markt brücke musik garten winter schule turm".split(),
         "fr": "la rivière ville marché pont musique jardin hiver école tour".split()}
UPOS_CYCLE = ["DET", "NOUN", "VERB", "ADP", "PROPN", "PUNCT"]


def sentence(lang: str, i: int, n: int = 8) -> list[str]:
    words = WORDS[lang]
    return [words[(i * 3 + k) % len(words)] for k in range(n)]


def write_mini_data(folder: Path) -> Path:
    """xquad/ (en, de), udpos/ (EWT dev + en, de test), tatoeba/ (de, fr) in their formats."""
    for lang in ("en", "de"):
        articles = []
        for a in range(2):
            context = " ".join(" ".join(sentence(lang, a * 7 + s, 12)) + "." for s in range(6))
            qas = []
            for q in range(3):
                answer = sentence(lang, a * 7 + q, 12)[2]
                qas.append({"id": f"a{a}q{q}", "question": f"where is {answer} {q} ?",
                            "answers": [{"text": answer,
                                         "answer_start": context.index(answer)}]})
            articles.append({"title": f"t{a}", "paragraphs": [{"context": context,
                                                               "qas": qas}]})
        path = folder / "xquad" / f"xquad.{lang}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"version": "1.0", "data": articles}), encoding="utf-8")
    for name, lang in (("en_ewt-ud-dev", "en"), ("en_ewt-ud-test", "en"),
                       ("de_gsd-ud-test", "de")):
        blocks = []
        for s in range(12):
            words = sentence(lang, s, 6 + s % 4)
            lines = [f"# sent_id = {name}-{s}"]
            tags = [UPOS_CYCLE[(s + k) % len(UPOS_CYCLE)] for k in range(len(words))]
            lines += [f"{k + 1}\t{w}\t{w}\t{t}\t_\t_\t0\t_\t_\t_"
                      for k, (w, t) in enumerate(zip(words, tags, strict=True))]
            blocks.append("\n".join(lines) + "\n")
        path = folder / "udpos" / f"{name}.conllu"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    for lang, iso3 in (("de", "deu"), ("fr", "fra")):
        path = folder / "tatoeba" / f"tatoeba.{iso3}-eng.{iso3}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(" ".join(sentence(lang, i)) + "\n" for i in range(10)),
                        encoding="utf-8")
        path.with_suffix(".eng").write_text(
            "".join(" ".join(sentence("en", i)) + "\n" for i in range(10)), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mini_data(tmp_path_factory) -> Path:
    return write_mini_data(tmp_path_factory.mktemp("data"))


def run_quick(script: str, *args: str, timeout: int = 240) -> str:
    env = dict(os.environ)  # XSTILTS_CACHE: the session's cache (conftest)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def table(stdout: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(header, rows, machine lines) of the one markdown table a script prints."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    assert len(lines) >= 3, stdout
    split = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert set(lines[1]) <= set("|-"), lines[1]
    machine = [line for line in stdout.splitlines() if line.startswith("- ")]
    return split[0], split[2:], machine


def number(cell: str) -> float:
    return float(cell.replace(",", "").lstrip("x").rstrip("%"))


def check_machine(machine: list[str]) -> None:
    text = "\n".join(machine)
    assert "machine: " in text and "cores" in text and "torch " in text and "GPU: " in text


def test_train_throughput_quick(mini_data):
    header, rows, machine = table(run_quick("train_throughput.py", "--data", str(mini_data),
                                            "--bucket-widths", "1"))
    check_machine(machine)
    exact = [r for r in rows if r[1] == "xstilts (buckets of 1)"]
    assert [r[0] for r in exact] == ["xquad", "udpos"] and all(int(r[2]) == 3 for r in exact)
    rows = [r for r in rows if r not in exact]
    assert header == ["task", "system", "steps", "wall s", "steps/s", "real tok/s",
                      "real share", "wall vs xstilts", "final loss", "MFU"]
    assert all(r[9] == "-" for r in rows)  # MFU: a bf16 figure, on a GPU of known peak
    systems = {(r[0], r[1].split(" ")[0]): r for r in rows}
    assert set(systems) == {(t, s) for t in ("xquad", "udpos")
                            for s in ("xstilts", "hf-padded", "hf-grouped")}
    for (task, _system), row in systems.items():
        assert int(row[2]) == 3  # --quick: 3 optimiser steps for every system
        assert number(row[3]) > 0 and number(row[5]) > 0
        assert 0 < number(row[6]) <= 100
        assert number(row[8]) > 0  # a finite, positive cross-entropy
        # "wall vs xstilts" is this row's wall time over xstilts' on the same task (both
        # printed to 3 significant digits, the ratio to 2 decimals).
        ratio = number(row[3]) / number(systems[(task, "xstilts")][3])
        assert abs(number(row[7]) - ratio) <= 0.005 + 0.011 * ratio, row
    for task in ("xquad", "udpos"):
        # Padding every batch to max_length wastes tokens that dynamic padding does not.
        assert number(systems[(task, "hf-padded")][6]) < number(systems[(task, "hf-grouped")][6])


def test_train_throughput_rounds_show_each_systems_median_round(mini_data):
    stdout = run_quick("train_throughput.py", "--data", str(mini_data), "--tasks", "udpos",
                       "--systems", "xstilts", "hf-grouped", "--rounds", "3")
    header, rows, _ = table(stdout)
    assert "median of 3 rounds" in stdout
    per_round, paired = {}, {}
    for line in stdout.split("Real tok/s in each round")[1].splitlines()[1:]:
        system, figures = line[2:].split(": ", 1)
        figures, _, ratios = figures.partition("; xstilts over it: ")
        per_round[system] = [number(x) for x in figures.split(", ")]
        if ratios:
            paired[system] = ratios
    assert len(rows) == 2 and set(per_round) == {f"udpos {r[1]}" for r in rows}
    for row in rows:
        figures = per_round[f"udpos {row[1]}"]
        assert len(figures) == 3
        assert number(row[5]) == sorted(figures)[1]  # the median round's, not a mean
    # Each round's xstilts over hf-grouped (measured side by side), and their median.
    (base,) = [v for k, v in per_round.items() if "xstilts" in k]
    ratios = [b / h for b, h in zip(base, per_round["udpos hf-grouped"], strict=True)]
    shown, median = paired["udpos hf-grouped"].rstrip(")").split(" (median ")
    shown = [number(x.rstrip("x")) for x in shown.split(", ")]
    assert len(shown) == 3  # the figures above are rounded: within a rounding of them
    assert all(abs(a - b) < 0.011 for a, b in zip(shown, ratios, strict=True))
    assert abs(number(median.rstrip("x")) - sorted(ratios)[1]) < 0.011
    assert len(paired) == 1  # xstilts is not paired with itself


def test_eval_throughput_quick(mini_data):
    header, rows, machine = table(run_quick("eval_throughput.py", "--data", str(mini_data)))
    check_machine(machine)
    assert header[:6] == ["task", "system", "languages", "examples", "seconds", "examples/s"]
    by_task = {}
    for row in rows:
        by_task.setdefault(row[0], {})[row[1]] = row
    assert set(by_task) == {"demo-nli", "demo-qa", "demo-ner", "demo-retrieval", "xquad",
                            "udpos", "tatoeba", "all"}
    langs = {"xquad": 2, "udpos": 2, "tatoeba": 2, "demo-nli": 2}
    for name, systems in by_task.items():
        assert set(systems) == {"xstilts", "plain"}
        # Both loops do the same work: the same languages and examples.
        assert systems["xstilts"][2:4] == systems["plain"][2:4]
        if name in langs:
            assert int(systems["xstilts"][2]) == langs[name]
    assert int(by_task["all"]["xstilts"][3]) == sum(
        int(s["xstilts"][3]) for n, s in by_task.items() if n != "all")
    assert number(by_task["all"]["xstilts"][7]) > 50  # peak RSS in MiB: torch alone is more


def test_cache_quick(mini_data):
    # The pairs made from Tatoeba's sentences: three new processes (the XQuAD and UD POS
    # declarations run in the other scripts' tests).
    header, rows, machine = table(run_quick("cache.py", "--data", str(mini_data),
                                            "--tasks", "pairs", "--repeat", "2"))
    check_machine(machine)
    assert header == ["task", "cache", "runs", "to training s", "start-up s", "featurise s",
                      "first step s", "vs cold"]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("pairs", "first run", "1"), ("pairs", "cold", "2"), ("pairs", "warm", "2")]
    cold = number(rows[1][3])
    for row in rows:
        total, startup, featurise, step = (number(row[i]) for i in (3, 4, 5, 6))
        # Training starts after the process started and after featurisation began.
        assert 0 < startup < total and 0 <= featurise < total and step > 0
        # "vs cold": the cold run's time to training over this run's (3 significant digits
        # each, the ratio to 2 decimals).
        assert abs(number(row[7]) - cold / total) <= 0.005 + 0.011 * cold / total, row


def test_study_overhead_quick():
    header, rows, machine = table(run_quick("study_overhead.py"))
    check_machine(machine)
    assert header == ["part", "jobs", "seconds", "s per job", "share"]
    parts = {r[0]: r for r in rows}
    kinds = {p.split(" ")[0]: int(r[1]) for p, r in parts.items() if "jobs (own" in p}
    # --quick: a pool of 2 → baseline (target, evaluation) + 2 x (intermediate, target, eval).
    assert kinds == {"intermediate": 2, "target": 3, "evaluation": 3}
    assert int(parts["total"][1]) == 8
    seconds = {p: number(r[2]) for p, r in parts.items()}
    parts_sum = sum(s for p, s in seconds.items()
                    if not p.startswith(("overhead", "total", "rerun")))
    assert abs(parts_sum - seconds["total"]) < 0.05 * seconds["total"] + 0.1
    rerun = next(p for p in parts if p.startswith("rerun"))
    assert "8 reused, 0 ran" in rerun


def test_the_xlmr_base_shaped_encoder_is_xlmr_base_less_its_pooler(monkeypatch):
    import torch
    from transformers import XLMRobertaModel

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_common import shaped_config

    class XlmrTokenizer:  # XLM-R's vocabulary size and special ids
        pad_token_id, bos_token_id, eos_token_id = 1, 0, 2

        def __len__(self):
            return 250_002

    with torch.device("meta"):
        model = XLMRobertaModel(shaped_config(XlmrTokenizer()), add_pooling_layer=False)
    # xlm-roberta-base: 278,043,648 parameters, of which the pooler is 768 x 768 + 768.
    assert sum(p.numel() for p in model.parameters()) == 278_043_648 - (768 * 768 + 768)
    assert model.config.num_attention_heads == 12


def test_trainer_models_start_from_xstilts_fresh_head(monkeypatch):
    import torch
    from transformers import (
        BertConfig,
        BertForQuestionAnswering,
        BertForTokenClassification,
    )

    from xstilts.formats.span_qa import SpanQAFormat
    from xstilts.formats.tagging import TaggingFormat

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from train_throughput import output_layer, start_head_as

    def config(labels: int) -> BertConfig:
        return BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=16, num_labels=labels)

    torch.manual_seed(0)
    tagger = BertForTokenClassification(config(3))
    head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(8, 3))
    start = {k: v.clone() for k, v in output_layer(head).state_dict().items()}
    assert not torch.equal(tagger.classifier.weight, start["weight"])  # drawn apart
    start_head_as(tagger, "tagging", start)
    assert torch.equal(tagger.classifier.weight, head[1].weight)
    assert torch.equal(tagger.classifier.bias, head[1].bias)
    # The formats' own heads have the shapes Trainer's models have.
    for fmt, model, layer in ((TaggingFormat(), tagger, "classifier"),
                              (SpanQAFormat(), BertForQuestionAnswering(config(2)), "qa_outputs")):
        fresh = output_layer(fmt.build_head(8, SimpleNamespace(name="t", labels=["A", "B", "C"])))
        start_head_as(model, fmt.name, fresh.state_dict())
        assert torch.equal(getattr(model, layer).weight, fresh.weight)
    # The message names both heads' shapes: ours (4 labels) against the model's (3).
    with pytest.raises(SystemExit, match=r"differ in shape: \{'weight': \(4, 8\), 'bias': "
                                         r"\(4,\)\} against \{'weight': \(3, 8\), 'bias': \(3,\)\}"):
        start_head_as(tagger, "tagging", torch.nn.Linear(8, 4).state_dict())


def test_encoder_step_quick():
    stdout = run_quick("encoder_step.py")
    header, rows, machine = table(stdout)
    check_machine(machine)
    assert "Encoder training step: tiny BERT, batch 16, cpu, median of 1" in stdout
    assert header == ["length", "real share", "forward", "ms/step", "vs hf", "train loss",
                      "eval loss"]
    assert [(r[0], r[2]) for r in rows] == [("12", "hf"), ("12", "unpadded"),
                                            ("24", "hf"), ("24", "unpadded")]
    for row in rows:
        assert number(row[3]) > 0 and 0 < number(row[1]) <= 100 and number(row[5]) > 0
    # Each unpadded row's ratio is the hf row's time over its own (as printed, rounded).
    for hf, unpadded in (rows[0:2], rows[2:4]):
        assert number(unpadded[4]) == pytest.approx(number(hf[3]) / number(unpadded[3]),
                                                    rel=0.02, abs=0.01)
    # Without dropout the two forwards are the same math (printed to 6 digits).
    for hf, unpadded in (rows[0:2], rows[2:4]):
        assert number(hf[6]) == pytest.approx(number(unpadded[6]), rel=1e-5)
    # One forward alone, as gpu_check.sh times them.
    header, rows, _ = table(run_quick("encoder_step.py", "--forward", "unpadded"))
    assert header[4] == "vs unpadded" and {r[2] for r in rows} == {"unpadded"}


def test_train_throughput_forward_option(mini_data):
    stdout = run_quick("train_throughput.py", "--data", str(mini_data), "--tasks", "udpos",
                       "--systems", "xstilts", "--forward", "hf")
    _, rows, _ = table(stdout)
    assert "cpu, xstilts forward hf" in stdout
    assert [(r[0], r[1].split(" ")[0]) for r in rows] == [("udpos", "xstilts")]
    assert ", xstilts forward unpadded (auto)" in run_quick(
        "train_throughput.py", "--data", str(mini_data), "--tasks", "udpos", "--systems",
        "xstilts")


def test_bucket_width_quick(mini_data):
    header, rows, machine = table(run_quick("bucket_width.py", "--data", str(mini_data)))
    check_machine(machine)
    assert header == ["width", "seed", "acc en", "acc de", "acc mean", "F1 mean"]
    # --quick: the first two widths (16, 4) at seed 0, then each width's mean over seeds.
    assert [(r[0], r[1]) for r in rows] == [("16", "0"), ("4", "0"), ("16", "mean"),
                                            ("4", "mean")]
    for row in rows:
        en, de, mean, f1 = (number(c) for c in row[2:])
        assert 0 <= en <= 100 and 0 <= de <= 100 and 0 <= f1 <= 100
        assert abs(mean - (en + de) / 2) <= 0.011  # the languages' mean, to the printed 2 dp
    assert rows[2][2:] == rows[0][2:] and rows[3][2:] == rows[1][2:]  # one seed


def test_a_missing_benchmark_dependency_stops_with_the_extra_to_install(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_common import BENCH_EXTRA, require_modules

    assert BENCH_EXTRA == 'pip install -e ".[bench]"'
    require_modules("json", needed_by="a script")  # importable: nothing happens
    monkeypatch.setitem(sys.modules, "accelerate", None)  # `import accelerate` fails
    with pytest.raises(SystemExit) as exit_:
        require_modules("json", "accelerate", needed_by="transformers.Trainer")
    message = str(exit_.value.code)  # sys.exit(text): the text on stderr, exit status 1
    assert message.startswith("transformers.Trainer needs the Python package 'accelerate'")
    assert 'fix: pip install -e ".[bench]"' in message
    assert capsys.readouterr().out == ""


def test_the_bench_extra_holds_what_the_benchmarks_import_beyond_the_core():
    import ast
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}

    core, bench = names(project["dependencies"]), names(project["optional-dependencies"]["bench"])
    # transformers.Trainer (train_throughput.py's hf-* systems) imports accelerate itself.
    assert "accelerate" in bench and "accelerate" not in core
    # Every module a script imports is the standard library's, xstilts', a benchmark's own, a
    # core dependency's or the bench extra's (import names: pyyaml is `yaml`).
    imported = set()
    for script in BENCHMARKS.glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    known = (set(sys.stdlib_module_names) | {"xstilts"} | {p.stem for p in BENCHMARKS.glob("*.py")}
             | {"yaml" if n == "pyyaml" else n for n in core | bench})
    assert imported - known == set(), "add these to the bench extra (pyproject.toml)"
    assert 'pip install -e ".[bench]"' in (BENCHMARKS / "README.md").read_text(encoding="utf-8")


def test_train_throughput_without_accelerate_names_the_extra_before_any_work(mini_data):
    # Trainer's systems need accelerate: the script stops after reading its arguments with the
    # command to run, not with an ImportError traceback from inside transformers.
    script = BENCHMARKS / "train_throughput.py"
    code = ("import runpy, sys; sys.modules['accelerate'] = None; "
            f"sys.argv = [{str(script)!r}, '--quick', '--data', {str(mini_data)!r}, "
            "'--tasks', 'udpos', '--systems', 'xstilts', 'hf-grouped']; "
            f"sys.path.insert(0, {str(BENCHMARKS)!r}); runpy.run_path(sys.argv[0], "
            "run_name='__main__')")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "needs the Python package 'accelerate'" in done.stderr
    assert 'fix: pip install -e ".[bench]"' in done.stderr
    assert done.stdout == ""


def test_cpu_tricks_quick():
    stdout = run_quick("cpu_tricks.py")
    header, rows, machine = table(stdout)
    check_machine(machine)
    assert header == ["trick", "shape", "rounds", "keep ms/step", "remove ms/step",
                      "speed-up (median)", "range", "same math", "public API", "decision"]
    attention = ["packed-backward", "packed-autograd", "15-bit-masks"]
    assert [(r[0], r[1]) for r in rows] == (
        [(t, "udpos") for t in [*attention, "same-draws", "norm-hooks", "grad-scale", "all"]]
        + [(t, "xquad") for t in [*attention, "all"]])
    per_round = {}
    for line in stdout.split("Each round's speed-up")[1].splitlines()[1:]:
        name, ratios = line[2:].split(": ")
        per_round[name] = [float(x) for x in ratios.split(", ")]
    for row in rows:
        ratios = per_round[f"{row[0]} {row[1]}"]
        assert len(ratios) == int(row[2]) == 2 and all(r > 0 for r in ratios)
        # The median and range are those of the printed rounds (to their 3 decimals).
        assert number(row[5]) == pytest.approx(statistics.median(ratios), abs=0.0015)
        low, high = (number(x) for x in row[6].split("-"))
        assert (low, high) == pytest.approx((min(ratios), max(ratios)), abs=0.0015)
        assert number(row[3]) > 0 and number(row[4]) > 0
        # The rule: kept only with the same math, public APIs and >= 1.10x in every round.
        kept = row[7] == "yes" and row[8] == "yes" and min(ratios) >= 1.10
        assert row[9] == ("keep" if kept else row[9]) and row[9].startswith(
            "keep" if kept else "remove (")
    assert {r[0] for r in rows if r[8] != "yes"} == {"packed-backward", "same-draws",
                                                     "grad-scale", "all"}
    assert {r[0] for r in rows if r[7] != "yes"} == {"15-bit-masks", "all"}


@pytest.mark.parametrize("packed", ["written-out", "autograd"])
def test_cpu_tricks_removed_attention_is_xstilts_attention_with_its_mask_all_ones(
        packed, monkeypatch):
    # The packed attention measured against xstilts' (benchmarks/removed_cpu_tricks.py) must
    # compute the same thing, or the benchmark would compare different work: with every
    # dropout mask all ones, its outputs and gradients equal xstilts' forward without dropout.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import removed_cpu_tricks as removed
    import torch
    from transformers import BertConfig, BertModel

    from xstilts.models import unpadded

    monkeypatch.setattr(unpadded, "CPU_GROUP_SCORES", 4 * 2 * 12 ** 2)  # padded groups too
    lengths = [7, 3, 12, 12, 1, 9]
    mask = (torch.arange(14)[None] < torch.tensor(lengths)[:, None]).long()
    ids = torch.randint(5, 120, (6, 14), generator=torch.Generator().manual_seed(1))
    weights = torch.randn(14, 32, generator=torch.Generator().manual_seed(2))
    function = (removed.PackedAttention.apply if packed == "written-out"
                else removed.packed_attention_autograd)
    outputs, grads = [], []
    for mode in ("removed", "xstilts"):
        torch.manual_seed(0)
        model = BertModel(BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=64,
                                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.3))
        if mode == "removed":
            own = unpadded._attention
            unpadded._attention = removed.attention_with(function,
                                                         lambda shape, p: torch.ones(shape))
            try:
                hidden = unpadded.unpadded_forward(model.train(), ids, mask).last_hidden_state
            finally:
                unpadded._attention = own
        else:
            hidden = unpadded.unpadded_forward(model.eval(), ids, mask).last_hidden_state
        (hidden * weights * mask[..., None]).sum().backward()
        outputs.append(hidden.detach())
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name in grads[1]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-4, rtol=1e-4), name
