"""Small separable fixture data written by tests (no downloads, no shared files)."""

from __future__ import annotations

import json
import random
from pathlib import Path

# A colour decides the label; numbers and nouns are noise. Parallel words per language.
WORDS = {
    "en": {"pos": "red", "neg": "blue", "nouns": ["car", "house", "door", "ball"], "is": "is"},
    "de": {"pos": "rot", "neg": "blau", "nouns": ["Auto", "Haus", "Tür", "Ball"], "is": "ist"},
    "ru": {"pos": "красный", "neg": "синий", "nouns": ["дом", "мяч", "стол", "кот"], "is": "—"},
}


def colour_examples(lang: str, n: int, seed: int) -> list[dict]:
    """Balanced single-sentence classification: label = which colour word occurs."""
    rng = random.Random(f"{lang}-{seed}")
    words = WORDS[lang]
    out = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        noun = rng.choice(words["nouns"])
        out.append({"id": f"{lang}-{seed}-{i}", "label": label,
                    "text_a": f"{noun} {words['is']} {words[label]} {rng.randint(0, 99)}"})
    rng.shuffle(out)
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def write_colour_task(folder: Path, n_train: int = 64, n_dev: int = 32,
                      n_test: int = 32) -> Path:
    """Files for a `colour` classification task (en train/dev; en, de, ru test)."""
    write_jsonl(folder / "train-en.jsonl", colour_examples("en", n_train, 1))
    write_jsonl(folder / "dev-en.jsonl", colour_examples("en", n_dev, 2))
    for lang in WORDS:
        write_jsonl(folder / f"test-{lang}.jsonl", colour_examples(lang, n_test, 3))
    return folder


COLOUR_TASK_YAML = """
  colour:
    format: classification
    languages: [en, de, ru]
    reader: jsonl
    paths: {train: "data/train-en.jsonl", dev: "data/dev-en.jsonl", test: "data/test-{lang}.jsonl"}
    labels: [pos, neg]
"""


def colour_run_config(folder: Path, training: str, tasks_yaml: str = COLOUR_TASK_YAML,
                      seed: int = 3, target_training: str = "max_steps: 1"):
    """A tiny-random run training `colour` in both phases (the intermediate one with
    `training`), written to folder/c.yaml and loaded."""
    from xstilts.config import load_config

    (folder / "c.yaml").write_text(f"""
seed: {seed}
encoder: {{name: tiny-random}}
intermediate:
  tasks: [colour]
  training: {{{training}}}
targets:
  tasks: [colour]
  training: {{{target_training}}}
tasks:{tasks_yaml}""", encoding="utf-8")
    return load_config(folder / "c.yaml")


def colour_tagging(lang: str, n: int, seed: int) -> list[dict]:
    """Tagging: colour words are B-COL, everything else O."""
    out = []
    for ex in colour_examples(lang, n, seed):
        tokens = ex["text_a"].split()
        tags = ["B-COL" if t in (WORDS[lang]["pos"], WORDS[lang]["neg"]) else "O" for t in tokens]
        out.append({"id": ex["id"], "tokens": tokens, "tags": tags})
    return out


def colour_choice(lang: str, n: int, seed: int) -> list[dict]:
    """Multiple choice: which of three sentences mentions the 'pos' colour."""
    rng = random.Random(f"mc-{lang}-{seed}")
    words = WORDS[lang]
    out = []
    for i in range(n):
        nouns = rng.sample(words["nouns"], 3)
        label = i % 3
        choices = [f"{noun} {words['pos'] if j == label else words['neg']}"
                   for j, noun in enumerate(nouns)]
        out.append({"id": f"mc-{lang}-{seed}-{i}", "prompt": "?", "choices": choices,
                    "label": label})
    return out


def write_multiformat_tasks(folder: Path) -> str:
    """Files for colour tasks in three formats plus an MLM corpus; returns their YAML."""
    write_colour_task(folder / "data")
    for split, n, seed in (("train", 48, 1), ("dev", 24, 2)):
        write_jsonl(folder / "data" / f"tag-{split}-en.jsonl", colour_tagging("en", n, seed))
        write_jsonl(folder / "data" / f"mc-{split}-de.jsonl", colour_choice("de", n, seed))
        for lang in ("en", "ru"):
            lines = [ex["text_a"] for ex in colour_examples(lang, n, seed + 10)]
            (folder / "data" / f"corpus-{split}.{lang}.txt").write_text("\n".join(lines) + "\n",
                                                                        encoding="utf-8")
    write_jsonl(folder / "data" / "tag-test-en.jsonl", colour_tagging("en", 16, 3))
    return COLOUR_TASK_YAML + """
  colour_tags:
    format: tagging
    languages: [en]
    reader: jsonl
    paths: {train: "data/tag-{split}-en.jsonl", dev: "data/tag-{split}-en.jsonl", test: "data/tag-test-en.jsonl"}
    labels: [O, B-COL]
  colour_choice_de:
    format: multiple_choice
    languages: [de]
    train_language: de
    reader: jsonl
    paths: {train: "data/mc-{split}-de.jsonl", dev: "data/mc-{split}-de.jsonl"}
  corpus_mlm:
    format: mlm
    languages: [en, ru]
    train_languages: [en, ru]
    reader: text
    paths: {train: "data/corpus-{split}.{lang}.txt", dev: "data/corpus-{split}.{lang}.txt"}
"""


def no_examples(split, lang, size, seed):
    """A generator for tasks whose data is never loaded (tests pass examples directly)."""
    return []


def bare_task(name: str, fmt: str, languages=("en",), labels=None, **options):
    """A Task of one format with no data source behind it, for format unit tests."""
    from xstilts.tasks.task import GeneratedSource, Task

    return Task(name=name, format=fmt, languages=list(languages),
                source=GeneratedSource(generate=no_examples, sizes={}),
                labels=labels, options=options)


def trained_batch(fmt, examples, tokenizer, encoder, task, max_length: int = 32):
    """Featurize, collate and build a head; check the loss is a finite scalar whose gradients
    reach the head and the encoder. Returns (features, batch, head)."""
    import math

    import torch

    feats = fmt.featurize(examples, tokenizer, task, max_length=max_length)
    batch = fmt.collate(feats, tokenizer.pad_token_id)
    torch.manual_seed(0)
    head = fmt.build_head(encoder.config.hidden_size, task)
    encoder.zero_grad(set_to_none=True)
    loss = fmt.loss(encoder, head, batch)
    assert loss.dim() == 0 and loss.requires_grad and math.isfinite(loss.item())
    loss.backward()
    assert all(p.grad is not None for p in head.parameters())
    assert encoder.get_input_embeddings().weight.grad is not None
    encoder.zero_grad(set_to_none=True)
    return feats, batch, head


def train_intermediate_phase(config, out):
    """Train a config's intermediate phase alone on tiny-random (the loop's own result)."""
    from xstilts.models.build import build_model
    from xstilts.models.encoder import resolve_encoder
    from xstilts.study.phases import phase_data, seed_everything
    from xstilts.tasks.loading import RunData
    from xstilts.train import loop

    data = RunData(config)
    base = resolve_encoder("tiny-random", data.texts(), config.seed)
    seed_everything(config.seed)
    model, tokenizer = build_model(base, config.encoder)
    tds = phase_data(model, tokenizer, data.tasks, config.intermediate)
    return loop.train_phase(model, tokenizer, tds, config.intermediate.training, out,
                            config.seed, loop.torch.device("cpu"))


def log_records(path: Path) -> list[dict]:
    """A training log's records without their wall-clock throughput (differs run to run)."""
    return [without_wall_clock(json.loads(line))
            for line in Path(path).read_text(encoding="utf-8").splitlines()]


def without_wall_clock(value):
    """`value` (JSON data: a log record, a summary, results.json) without the throughput
    figures measured by the wall clock, which differ from run to run."""
    from xstilts.train.throughput import THROUGHPUT_KEYS

    if isinstance(value, dict):
        return {k: without_wall_clock(v) for k, v in value.items()
                if k not in THROUGHPUT_KEYS and k != "throughput"}
    if isinstance(value, list):
        return [without_wall_clock(v) for v in value]
    return value


# A pool of five single tasks (k = 1): five sets, the fewest the section calls enough. The
# target is retrieval: untrained, so its scores differ by the intermediate encoder alone.
RANK_STUDY = """
name: rank-small
base:
  encoder: {name: tiny-random}
  suites:
    demo: {sizes: {train: 24, dev: 8, test: 16}, seed: 0}
  intermediate:
    training: {max_steps: 3, batch_size: 8, learning_rate: 3.0e-3, max_length: 32,
               evaluations: 1}
  targets:
    tasks: [demo-retrieval]
    languages: {demo-retrieval: [de, es]}
pool: [demo-topic-en, demo-mc-en, demo-topic-de, demo-nli-de, demo-nli-es]
sizes: [0, 1]
seeds: {intermediate: [0], target: [0]}
"""


def assert_rho_reported(folder, target: str) -> None:
    """A ranked study's report (report.md in `folder`, rank.csv beside it) shows, for
    `target`, Spearman's rho between the ranking and the measured gains, as scipy computes
    it, with its bootstrap interval."""
    import pandas as pd
    from scipy import stats

    from xstilts.study import predicted
    from xstilts.study.analysis import arm_table
    from xstilts.study.results import open_study

    md = (folder / "report.md").read_text(encoding="utf-8")
    section = md[md.index("Predicted vs measured"):]
    data = open_study(folder)
    rank = pd.read_csv(folder / "rank.csv", dtype={"set": str})
    gains = predicted.measured_gains(arm_table(data.frame, data.targets), data.targets)
    row = predicted.compare(rank, gains).set_index("target").loc[target]
    both = rank[rank["target"] == target].merge(gains, on=["target", "set"])
    assert row["sets"] == len(both) >= 5 and row["note"] == ""
    assert row["rho"] == stats.spearmanr(both["score"], both["gain"]).statistic
    line = next(x for x in section.splitlines() if x.startswith(f"| {target} |"))
    assert f"{row['rho']:+.2f}" in line and f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]" in line
