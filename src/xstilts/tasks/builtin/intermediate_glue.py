"""Intermediate GLUE tasks: QQP (question-pair duplicates) and SST-2 (sentence sentiment).

Local files: GLUE's own download (download_glue_data.py) in the data folder,
glue_data/QQP/{train,dev}.tsv and glue_data/SST-2/{train,dev}.tsv.
"""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task

QQP_LABELS = ("not_duplicate", "duplicate")  # GLUE's class-label ids 0, 1
SST2_LABELS = ("negative", "positive")


def _label(value, names: tuple[str, ...]) -> str | None:
    """A GLUE label id (int on the hub, "0"/"1" in the TSV files) as its name; -1 -> None."""
    try:
        i = int(value)
    except (TypeError, ValueError):
        return None
    return names[i] if 0 <= i < len(names) else None


def qqp_row(row: dict, lang: str) -> dict | None:
    """A hub row (question1, question2, label) or a TSV row (id, ..., is_duplicate)."""
    label = _label(row["label"] if "label" in row else row.get("is_duplicate"), QQP_LABELS)
    if label is None:
        return None  # GLUE's unlabelled test rows
    return {"id": str(row.get("idx", row.get("id"))), "text_a": row["question1"],
            "text_b": row["question2"], "label": label}


def sst2_row(row: dict, lang: str) -> dict | None:
    """A hub row (sentence, label, idx) or a TSV row (sentence, label)."""
    label = _label(row.get("label"), SST2_LABELS)
    if label is None:
        return None
    return {"id": str(row.get("idx", row.get("id"))), "text_a": row["sentence"], "label": label}


def glue_task(name: str, config: str, folder: str, convert, labels, description: str) -> Task:
    hub = HubSource("nyu-mll/glue", convert, config=config,
                    splits={"train": "train", "dev": "validation"})
    local = FileSource("tsv", {"train": f"glue_data/{folder}/train.tsv",
                               "dev": f"glue_data/{folder}/dev.tsv"}, convert=convert)
    return Task(name=name, format="classification", languages=["en"], source=hub,
                labels=list(labels), description=description,
                alternatives={"hub": hub, "local": local})


register(glue_task("qqp", "qqp", "QQP", qqp_row, QQP_LABELS,
                   "Quora Question Pairs (GLUE): are two questions duplicates?"))
register(glue_task("sst2", "sst2", "SST-2", sst2_row, SST2_LABELS,
                   "SST-2 (GLUE): binary sentiment of one movie-review sentence."))
