"""A corpus of broken inputs for tests/test_bad_input.py: each case writes its files into a
folder and returns the CLI arguments to run, and what the error must say.

Every case starts from a small project that works (tests/bad_input_projects.py) and breaks
one thing. `{out}` in the arguments is the output folder the test watches.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.bad_input_projects import (
    CONFIG,
    PAIRS_TASK,
    POS_TASK,
    QA_TASK,
    colour_project,
    edit_line,
    model_folder,
    run,
    score_folders,
    set_record,
    squad,
    study,
    with_task,
)
from tests.fixtures import COLOUR_TASK_YAML, write_jsonl

UNPICKLED = "UNPICKLED"  # a file only an unpickled weights file would create


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], list[str]]  # writes the inputs under a folder; returns CLI args
    expect: tuple[str, ...]  # substrings the error message must contain

    def __str__(self) -> str:
        return self.name


def _colour_file(folder: Path, name: str) -> Path:
    colour_project(folder)
    return folder / "data" / name


def _truncated_squad(folder: Path) -> list[str]:
    args = run(with_task(folder, QA_TASK, "qa"))
    path = folder / "data" / "qa-dev.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return args


def _bad_json_line(folder: Path) -> list[str]:
    edit_line(_colour_file(folder, "train-en.jsonl"), 3, '{"id": "x", "text_a": "red car",')
    return run(folder / "c.yaml")


def _not_an_object(folder: Path) -> list[str]:
    edit_line(_colour_file(folder, "dev-en.jsonl"), 2, '["red car", "pos"]')
    return run(folder / "c.yaml")


def _squad_offset(folder: Path) -> list[str]:
    args = run(with_task(folder, QA_TASK, "qa"))
    (folder / "data" / "qa-test.json").write_text(json.dumps(squad(answer_start=9)))
    return args


def _conllu_columns(folder: Path) -> list[str]:
    args = run(with_task(folder, POS_TASK, "pos"))
    edit_line(folder / "data" / "pos-train.conllu", 3, "2\tcar\tcar\tNOUN\t_\t_\t3\tnsubj\t_")
    return args


def _unknown_label(folder: Path) -> list[str]:
    set_record(_colour_file(folder, "train-en.jsonl"), 5, id="five", label="maybe")
    return run(folder / "c.yaml")


def _unknown_tag(folder: Path) -> list[str]:
    args = run(with_task(folder, POS_TASK, "pos"))
    edit_line(folder / "data" / "pos-dev.conllu", 8, "2\tdog\tdog\tANIMAL\t_\t_\t0\troot\t_\t_")
    return args


def _missing_field(folder: Path) -> list[str]:
    set_record(_colour_file(folder, "test-de.jsonl"), 2, id="nofield", text_a=None)
    return run(folder / "c.yaml")


def _duplicate_ids(folder: Path) -> list[str]:
    path = _colour_file(folder, "test-ru.jsonl")
    set_record(path, 1, id="twice")
    set_record(path, 2, id="twice")
    return run(folder / "c.yaml")


def _empty_split(folder: Path) -> list[str]:
    args = run(with_task(folder, PAIRS_TASK, "pairs"))
    (folder / "data" / "pairs-dev.tsv").write_text("text_a\tlabel\n", encoding="utf-8")
    return args


def _empty_file(folder: Path) -> list[str]:
    _colour_file(folder, "test-ru.jsonl").write_text("")
    return run(folder / "c.yaml")


def _not_utf8(folder: Path) -> list[str]:
    path = _colour_file(folder, "test-de.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"Auto", b"Aut\xf6") if b"Auto" in lines[1] else lines[1] + b"\xff"
    path.write_bytes(b"\n".join(lines))
    return run(folder / "c.yaml")


def _tsv_columns(folder: Path) -> list[str]:
    args = run(with_task(folder, PAIRS_TASK, "pairs"))
    edit_line(folder / "data" / "pairs-train.tsv", 4, "a red car\tpos\textra")
    return args


def _missing_language_file(folder: Path) -> list[str]:
    path = colour_project(folder, **{"languages: [en, de, ru]": "languages: [en, de, ru, fr]"})
    return run(path)


def _model_without_weights(folder: Path) -> list[str]:
    model = model_folder(folder, {})
    return run(colour_project(folder, **{"name: tiny-random": f"name: {model}"}))


class _Touch:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _pickle_weights(folder: Path) -> list[str]:
    model = model_folder(folder, {"pytorch_model.bin": pickle.dumps(_Touch(folder / UNPICKLED))})
    return run(colour_project(folder, **{"name: tiny-random": f"name: {model}"}))


def _shared_heads_labels(folder: Path) -> list[str]:
    write_jsonl(folder / "data" / "other-train.jsonl",
                [{"text_a": f"red {i}", "label": "red"} for i in range(4)])
    other = COLOUR_TASK_YAML.replace("colour:", "other:").replace(
        "[pos, neg]", "[red, blue]").replace('"data/train-en.jsonl"', '"data/other-train.jsonl"')
    inter = ("intermediate:\n  tasks: [colour, other]\n  shared_heads: {one: [colour, other]}\n"
             "  training: {max_steps: 2}\n")
    colour_project(folder, inter + CONFIG + other)
    return run(folder / "c.yaml")


def _shared_heads_formats(folder: Path) -> list[str]:
    path = with_task(folder, POS_TASK, "colour")
    text = path.read_text().replace(
        "targets:", "intermediate:\n  tasks: [colour, pos]\n  shared_heads: {one: [colour, pos]}"
        "\ntargets:", 1)
    path.write_text(text)
    return run(path)


def _intermediate_bad_data(folder: Path) -> list[str]:
    path = with_task(folder, PAIRS_TASK, "colour")
    path.write_text(path.read_text().replace("targets:", "intermediate:\n  tasks: [pairs]\n"
                                             "targets:", 1))
    edit_line(folder / "data" / "pairs-train.tsv", 3, "a red car\tmaybe")
    return run(path)


def _sampler_weights(folder: Path) -> list[str]:
    path = with_task(folder, PAIRS_TASK, "colour")
    path.write_text(path.read_text().replace(
        "targets:", "intermediate:\n  tasks: [colour, pairs]\n  training:\n    sampler: weights"
        "\n    weights: {colour: 1.0}\ntargets:", 1))
    return run(path)


def _out_is_a_file(folder: Path) -> list[str]:
    colour_project(folder)
    (folder / "taken").write_text("not a folder")
    return ["run", str(folder / "c.yaml"), "--out", str(folder / "taken"), "--db", "{out}/r.db"]


def _config(text: str, **replace: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        return run(colour_project(folder, text, **replace))
    return make


def _replace(**replace: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        return run(colour_project(folder, **replace))
    return make


def _study(**replace: str) -> Callable[[Path], list[str]]:
    return lambda folder: study(folder, **replace)


CASES = [
    # ---- files a task reads
    Case("truncated SQuAD JSON", _truncated_squad, ("qa-dev.json:", "not valid JSON", "fix:")),
    Case("invalid JSON line", _bad_json_line, ("train-en.jsonl:3: not valid JSON",)),
    Case("JSON line not an object", _not_an_object, ("dev-en.jsonl:2: expected a JSON object",)),
    Case("SQuAD answer_start off", _squad_offset, ("qa-test.json", "question id 'q1'",
                                                    "answer_start=9")),
    Case("CoNLL-U column count", _conllu_columns, ("pos-train.conllu:3: expected 10",)),
    Case("TSV column count", _tsv_columns, ("pairs-train.tsv:4: expected 2 tab-separated",)),
    Case("empty file", _empty_file, ("test-ru.jsonl: the file is empty",)),
    Case("empty split", _empty_split, ("pairs-dev.tsv: no examples found",)),
    Case("not UTF-8", _not_utf8, ("test-de.jsonl:2: not valid UTF-8",)),
    Case("unknown label", _unknown_label, ("train-en.jsonl: task 'colour' train (en)",
                                           "'five' has label 'maybe'", "['pos', 'neg']")),
    Case("unknown tag", _unknown_tag, ("pos-dev.conllu: task 'pos' dev (en)",
                                       "'s2' has tag 'ANIMAL'")),
    Case("example without a field", _missing_field, ("test-de.jsonl: task 'colour' test (de)",
                                                     "'nofield' has no field(s) ['text_a']")),
    Case("repeated example ids", _duplicate_ids, ("test-ru.jsonl: task 'colour' test (ru)",
                                                  "['twice'] occur more than once")),
    Case("bad intermediate data", _intermediate_bad_data, ("pairs-train.tsv: task 'pairs'",
                                                           "has label 'maybe'")),
    Case("language file missing", _missing_language_file, ("test-fr.jsonl: file not found",)),
    Case("data path missing", _replace(**{"reader: jsonl": "reader: jsonl\n    base_dir: gone"}),
         ("gone/data/train-en.jsonl: file not found",)),
    Case("data.dir missing", _config(CONFIG.replace("[colour]", "[pawsx]") +
                                     "data: {source: local, dir: /no/such/xtreme}\n"),
         ("c.yaml:12: data.dir: data folder '/no/such/xtreme' not found",)),
    # ---- the config
    Case("config not found", lambda f: ["run", str(f / "nope.yaml"), "--out", "{out}"],
         ("nope.yaml: config file not found",)),
    Case("YAML syntax", _replace(**{"tasks: [colour]": "tasks: [colour]]"}),
         ("c.yaml:3", "invalid YAML")),
    Case("YAML not a mapping", _config("- colour\n- xnli\n"),
         ("c.yaml: the file must be a YAML mapping",)),
    Case("config not UTF-8", lambda f: run(_latin1(f)), ("c.yaml:1: not valid UTF-8",)),
    Case("unknown key", _replace(**{"max_steps: 2": "max_step: 2"}),
         ("c.yaml:4: targets.training.max_step: unknown key",)),
    Case("wrong type", _replace(**{"batch_size: 4": "batch_size: four"}),
         ("c.yaml:4: targets.training.batch_size: Input should be a valid integer",)),
    Case("unknown task", _replace(**{"tasks: [colour]": "tasks: [colour, colur]"}),
         ("c.yaml:3: targets.tasks.1: unknown task 'colur'",)),
    Case("unknown format", _replace(**{"format: classification": "format: regression"}),
         ("c.yaml:7: tasks.colour.format: Input should be",)),
    Case("unknown encoder", _replace(**{"name: tiny-random": "name: no/such/encoder"}),
         ("c.yaml:1: encoder.name: encoder.name 'no/such/encoder' is not a built-in encoder",)),
    Case("model folder without weights", _model_without_weights,
         ("c.yaml:1: encoder.name: ", "model: no model weights (model.safetensors",)),
    Case("pickle weights only", _pickle_weights,
         ("model: holds pytorch_model.bin (pickle) but no model.safetensors",)),
    Case("language not of the task", _replace(**{"batch_size: 4}": "batch_size: 4}\n  "
                                                 "languages: {colour: [fr]}"}),
         ("c.yaml:5: targets.languages.colour: ['fr'] are not languages of 'colour'",)),
    Case("shared head: unknown task", _config(
        "intermediate:\n  tasks: [colour]\n  shared_heads: {one: [colour, ghost]}\n" + CONFIG),
        ("c.yaml:3: intermediate.shared_heads: head 'one' names ['ghost'], not tasks of this "
         "phase",)),
    Case("shared head: label sets differ", _shared_heads_labels,
         ("c.yaml:3: intermediate.shared_heads.one: tasks 'colour' and 'other' share head",
          "labels ['pos', 'neg']", "labels ['red', 'blue']")),
    Case("shared head: formats differ", _shared_heads_formats,
         ("intermediate.shared_heads.one: tasks 'colour' and 'pos'", "tagging")),
    Case("task name with ../", _replace(**{"  colour:\n": "  ../colour:\n",
                                           "tasks: [colour]": "tasks: [../colour]"}),
         ("c.yaml:3: targets.tasks.0: the name '../colour' contains a path separator",)),
    Case("absolute language", _replace(**{"[en, de, ru]": "[en, de, /abs]"}),
         ("c.yaml:8: tasks.colour.languages.2: the name '/abs' contains a path separator",)),
    Case("train_language ..", _replace(**{"reader: jsonl": "reader: jsonl\n    "
                                                           "train_language: '..'"}),
         ("tasks.colour.train_language: the name '..' contains '..'",)),
    Case("empty task name", _replace(**{"tasks: [colour]": "tasks: [colour, '']"}),
         ("c.yaml:3: targets.tasks.1: the name is empty",)),
    Case("sampler weight missing", _sampler_weights,
         ("c.yaml:5: intermediate.training.sampler: sampler 'weights' has no weight for "
          "['pairs']",)),
    Case("unknown suite", _config(CONFIG + "suites: {demo2: {seed: 1}}\n"),
         ("unknown suite 'demo2'",)),
    Case("weight for a task not in the phase", _replace(**{
        "batch_size: 4}": "batch_size: 4, sampler: weights, weights: {colour: 1, pairs: 2}}"}),
        ("c.yaml:2: targets: training.weights names ['pairs'], not tasks of this phase",)),
    Case("freeze more layers than exist", _replace(**{"name: tiny-random}": "name: tiny-random, "
                                                      "freeze_layers: 40}"}),
         ("c.yaml:1: encoder.freeze_layers: 40, but tiny-random has",)),
    Case("retrieval layer out of range", _replace(**{"name: tiny-random}": "name: tiny-random, "
                                                     "retrieval_layer: -30}"}),
         ("c.yaml:1: encoder.retrieval_layer: -30, but tiny-random has hidden states",)),
    Case("--out is a file", _out_is_a_file, ("taken: --out is a file, not a folder",)),
    # ---- studies
    Case("study --store is a file", lambda f: [*study(f), "--store", str(_a_file(f))],
         ("taken: --store is a file, not a folder",)),
    Case("study not found", lambda f: ["study", str(f / "nope.yaml"), "--out", "{out}"],
         ("nope.yaml: study file not found",)),
    Case("impossible study", _study(**{"sizes: [0, 1]": "sizes: [0, 3]"}),
         ("s.yaml:", "size 3 is impossible with a pool of 2 tasks")),
    Case("study name ../", _study(**{"name: tiny": "name: ../evil"}),
         ("s.yaml:1: name:",)),
    Case("study pool name /abs", _study(**{"pool: [ca, cb]": "pool: [ca, /abs]"}),
         ("s.yaml:", "pool.1: the name '/abs' contains a path separator")),
    Case("study pool task unknown", _study(**{"pool: [ca, cb]": "pool: [ca, cc]"}),
         ("s.yaml:", "pool.1: unknown task 'cc'")),
    Case("study base unknown key", _study(**{"encoder: {name": "encodr: {name"}),
         ("s.yaml:3: base.encodr: unknown key",)),
    Case("study set with all weights zero", _study(**{
        "  targets: {tasks": "  intermediate: {training: {sampler: weights, weights: "
                             "{ca: 1, cb: 0}}}\n  targets: {tasks"}),
         ("intermediate.training.sampler (the study's set ['cb']): sampler 'weights': "
          "weights must be non-negative and not all zero",)),
    # ---- scoring
    Case("data check: no such folder", lambda f: ["data", "check", "xnli", "--dir",
                                                  str(f / "gone")],
         ("gone: --dir is not a folder",)),
    Case("score: line counts differ", lambda f: score_folders(f, 3, 4),
         ("test-en.tsv has 3 lines but", "labels/xnli/test-en.tsv has 4")),
]


def _a_file(folder: Path) -> Path:
    (folder / "taken").write_text("not a folder")
    return folder / "taken"


def _latin1(folder: Path) -> Path:
    path = colour_project(folder)
    path.write_bytes(b"# caf\xe9\n" + path.read_bytes())
    return path
