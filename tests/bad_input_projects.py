"""Small working projects for the bad-input corpus (tests/bad_inputs.py): a `colour`
classification task in JSON lines, TSV, SQuAD JSON and CoNLL-U tasks, a two-task study, model
folders and score folders, plus helpers that break one line of a file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.fixtures import COLOUR_TASK_YAML, write_colour_task

CONFIG = """encoder: {name: tiny-random}
targets:
  tasks: [colour]
  training: {max_steps: 2, batch_size: 4}
tasks:""" + COLOUR_TASK_YAML

PAIRS_TASK = """
  pairs:
    format: classification
    languages: [en]
    reader: tsv
    paths: {train: "data/pairs-train.tsv", dev: "data/pairs-dev.tsv", test: "data/pairs-test.tsv"}
    labels: [pos, neg]
"""

QA_TASK = """
  qa:
    format: span_qa
    languages: [en]
    reader: squad_json
    paths: {train: "data/qa-train.json", dev: "data/qa-dev.json", test: "data/qa-test.json"}
"""

POS_TASK = """
  pos:
    format: tagging
    languages: [en]
    reader: conllu
    paths: {train: "data/pos-train.conllu", dev: "data/pos-dev.conllu", test: "data/pos-test.conllu"}
    labels: [DET, NOUN, VERB]
"""


def colour_project(folder: Path, config: str = CONFIG, **replace: str) -> Path:
    """The working colour project (data/ and c.yaml), with text replaced in the config."""
    write_colour_task(folder / "data", 16, 8, 8)
    for old, new in replace.items():
        assert old in config, old
        config = config.replace(old, new)
    path = folder / "c.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def run(path: Path) -> list[str]:
    return ["run", str(path), "--out", "{out}"]


def with_task(folder: Path, task_yaml: str, target: str) -> Path:
    """The colour project plus one more task, which is the run's target."""
    write_pairs(folder / "data")
    write_qa(folder / "data")
    write_pos(folder / "data")
    return colour_project(folder, CONFIG.replace("tasks: [colour]", f"tasks: [{target}]")
                          + task_yaml)


def write_pairs(data: Path) -> None:
    rows = ["text_a\tlabel"] + [f"a red car {i}\tpos" if i % 2 else f"a blue car {i}\tneg"
                                for i in range(8)]
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        (data / f"pairs-{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def squad(answer_start: int = 4) -> dict:
    context = "The red car is fast."
    qas = [{"id": f"q{i}", "question": "Which car?",
            "answers": [{"text": "red car", "answer_start": 4}]} for i in range(3)]
    qas[1]["answers"][0]["answer_start"] = answer_start
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": qas}]}]}


def write_qa(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        (data / f"qa-{split}.json").write_text(json.dumps(squad(), indent=1), encoding="utf-8")


CONLLU = """# sent_id = s1
1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tcar\tcar\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\truns\trun\tVERB\t_\t_\t0\troot\t_\t_

# sent_id = s2
1\ta\ta\tDET\t_\t_\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_
"""


def write_pos(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        (data / f"pos-{split}.conllu").write_text(CONLLU, encoding="utf-8")


def edit_line(path: Path, number: int, text: str) -> None:
    """Replace line `number` (1-based) of a file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[number - 1] = text
    path.write_text("\n".join(lines), encoding="utf-8")


def set_record(path: Path, number: int, **changes) -> None:
    """Change fields of the JSON record on line `number` of a JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    record = {**json.loads(lines[number - 1]), **changes}
    lines[number - 1] = json.dumps({k: v for k, v in record.items() if v is not None})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def study(folder: Path, head: str = "name: tiny\n", **replace: str) -> list[str]:
    """A study over two copies of the colour task (its files shared)."""
    tasks = "".join(COLOUR_TASK_YAML.replace("colour:", f"{name}:") for name in ("ca", "cb"))
    text = head + textwrap.dedent("""\
        base:
          encoder: {name: tiny-random}
          targets: {tasks: [colour], training: {max_steps: 2}}
          tasks:""") + textwrap.indent(COLOUR_TASK_YAML + tasks, "  ") + textwrap.dedent("""\
        pool: [ca, cb]
        sizes: [0, 1]
        """)
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    write_colour_task(folder / "data", 16, 8, 8)
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    return ["study", str(folder / "s.yaml"), "--out", "{out}"]


def model_folder(folder: Path, weights: dict[str, bytes]) -> Path:
    """A model folder with a config, a tokenizer and the given weight files."""
    from xstilts.models.encoder import resolve_encoder

    built = Path(resolve_encoder("tiny-random", ["a red car"], 0))
    model = folder / "model"
    model.mkdir()
    for part in built.iterdir():
        if part.is_file() and not part.name.endswith((".safetensors", ".bin")):
            (model / part.name).write_bytes(part.read_bytes())
    for name, data in weights.items():
        (model / name).write_bytes(data)
    return model


def score_folders(folder: Path, n_pred: int, n_gold: int) -> list[str]:
    for kind, n in (("predictions", n_pred), ("labels", n_gold)):
        (folder / kind / "xnli").mkdir(parents=True)
        (folder / kind / "xnli" / "test-en.tsv").write_text("entailment\n" * n)
    return ["score", str(folder / "predictions"), str(folder / "labels"),
            "--json", "{out}/scores.json"]
