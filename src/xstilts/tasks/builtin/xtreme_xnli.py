"""XNLI: natural language inference in 15 languages; trained on English MultiNLI."""

from __future__ import annotations

from xstilts.tasks.composite import SplitSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task
from xstilts.tasks.xtreme_langs import MNLI_LABELS, TASK_LANGS, XNLI_LABELS


def nli_label(value) -> str | None:
    """A label name: hub class ids follow MNLI's order; -1 (unlabelled) drops the row."""
    if isinstance(value, int):
        return MNLI_LABELS[value] if 0 <= value < len(MNLI_LABELS) else None
    value = str(value).strip()
    # XNLI-MT's MultiNLI says "contradictory"; XTREME renames it, and so do we.
    return "contradiction" if value == "contradictory" else value


def mnli_row(row: dict, lang: str) -> dict | None:
    """nyu-mll/glue mnli: premise, hypothesis, label (class id), idx."""
    label = nli_label(row["label"])
    if label is None:
        return None
    return {"id": f"mnli-{row['idx']}", "text_a": row["premise"], "text_b": row["hypothesis"],
            "label": label}


def xnli_row(row: dict, lang: str) -> dict | None:
    """google/xtreme XNLI: every language in one split; keep the rows of `lang`."""
    if row["language"] != lang:
        return None
    label = nli_label(row.get("gold_label", row.get("label")))
    if label is None:
        return None
    return {"text_a": row["sentence1"], "text_b": row["sentence2"], "label": label}


# Selection on MNLI's dev-matched set, as jiant; each language's own XNLI dev set for the
# paper's dev table. google/xtreme's XNLI holds every language in one split.
HUB = SplitSource({
    "train": HubSource("nyu-mll/glue", mnli_row, config="mnli", splits={"train": "train"}),
    "selection": HubSource("nyu-mll/glue", mnli_row, config="mnli",
                           splits={"selection": "validation_matched"}),
    "dev": HubSource("google/xtreme", xnli_row, config="XNLI", splits={"dev": "validation"}),
    "test": HubSource("google/xtreme", xnli_row, config="XNLI", splits={"test": "test"}),
})
# utils_preprocess.py writes headerless "sentence1<TAB>sentence2<TAB>label" files.
LOCAL = FileSource(reader="tsv", paths={"train": "xnli/train-en.tsv", "dev": "xnli/dev-{lang}.tsv",
                                        "test": "xnli/test-{lang}.tsv"},
                   options={"header": False, "columns": ["text_a", "text_b", "label"]})

TASK = register(Task(
    name="xnli", format="classification", languages=TASK_LANGS["xnli"], source=HUB,
    labels=XNLI_LABELS,
    description="XNLI (XTREME): NLI, train on English MultiNLI, test in 15 languages",
    alternatives={"hub": HUB, "local": LOCAL},
    dev_languages=TASK_LANGS["xnli"],  # each language's own dev set (the paper's dev table)
))
