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
