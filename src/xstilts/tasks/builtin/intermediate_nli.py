"""Intermediate NLI tasks: SNLI, MNLI, ANLI and ANLI+ (all three in one task, one 3-way head).

All share one label order, so any of them can share a head (`shared_heads` in the config).
Local files are the original releases, unpacked in the data folder:
snli_1.0/snli_1.0_{train,dev}.jsonl, multinli_1.0/multinli_1.0_{train,dev_matched}.jsonl,
anli_v1.0/R{1,2,3}/{train,dev}.jsonl.
"""

from __future__ import annotations

from xstilts.tasks.composite import ConcatSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task

NLI_LABELS = ("entailment", "neutral", "contradiction")  # the hub's class-label ids 0, 1, 2
ANLI_CODES = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def hub_nli_row(row: dict, lang: str) -> dict | None:
    """SNLI, GLUE-MNLI and ANLI hub rows share premise/hypothesis/label; -1 means no gold."""
    if row.get("label") not in (0, 1, 2):
        return None  # SNLI pairs whose annotators did not agree
    ex = {"text_a": row["premise"], "text_b": row["hypothesis"], "label": NLI_LABELS[row["label"]]}
    if row.get("uid") is not None:  # ANLI; SNLI rows have no id (the loader numbers them)
        ex["id"] = str(row["uid"])
    elif row.get("idx") is not None:  # GLUE
        ex["id"] = str(row["idx"])
    return ex


def snli_record(rec: dict, lang: str) -> dict | None:
    """A line of SNLI's or MultiNLI's jsonl; gold_label "-" (no majority) is dropped."""
    if rec.get("gold_label") not in NLI_LABELS:
        return None
    return {"id": str(rec.get("pairID", rec["id"])), "text_a": rec["sentence1"],
            "text_b": rec["sentence2"], "label": rec["gold_label"]}


def anli_record(rec: dict, lang: str) -> dict | None:
    """A line of ANLI's jsonl: context/hypothesis, label "e"/"n"/"c"."""
    if rec.get("label") not in ANLI_CODES:
        return None
    return {"id": str(rec.get("uid", rec["id"])), "text_a": rec["context"],
            "text_b": rec["hypothesis"], "label": ANLI_CODES[rec["label"]]}


def _hub(dataset: str, config: str | None, splits: dict) -> HubSource:
    return HubSource(dataset, hub_nli_row, config=config, splits=splits)


SNLI_HUB = _hub("stanfordnlp/snli", None, {"train": "train", "dev": "validation"})
MNLI_HUB = _hub("nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"})
# `datasets` joins splits with "+", so the three rounds are one hub source.
ANLI_HUB = _hub("facebook/anli", None, {"train": "train_r1+train_r2+train_r3",
                                        "dev": "dev_r1+dev_r2+dev_r3"})
SNLI_LOCAL = FileSource("jsonl", {"train": "snli_1.0/snli_1.0_train.jsonl",
                                  "dev": "snli_1.0/snli_1.0_dev.jsonl"}, convert=snli_record)
MNLI_LOCAL = FileSource("jsonl", {"train": "multinli_1.0/multinli_1.0_train.jsonl",
                                  "dev": "multinli_1.0/multinli_1.0_dev_matched.jsonl"},
                        convert=snli_record)
ANLI_LOCAL = ConcatSource(tuple(
    FileSource("jsonl", {"train": f"anli_v1.0/R{r}/train.jsonl", "dev": f"anli_v1.0/R{r}/dev.jsonl"},
               convert=anli_record) for r in (1, 2, 3)), names=("r1", "r2", "r3"))


def train_only(source):
    """The source's train split alone (ANLI+ is evaluated on ANLI's dev rounds only)."""
    if isinstance(source, HubSource):
        return HubSource(source.dataset, source.convert, config=source.config,
                         splits={"train": source.splits["train"]})
    return FileSource(source.reader, {"train": source.paths["train"]}, convert=source.convert)


def nli_task(name: str, description: str, hub, local) -> Task:
    return Task(name=name, format="classification", languages=["en"], source=hub,
                labels=list(NLI_LABELS), description=description,
                alternatives={"hub": hub, "local": local})


register(nli_task("snli", "SNLI: 3-way NLI on image-caption premises (550k train pairs).",
                  SNLI_HUB, SNLI_LOCAL))
register(nli_task("mnli", "MultiNLI: 3-way NLI over ten genres; dev = matched dev set.",
                  MNLI_HUB, MNLI_LOCAL))
register(nli_task("anli", "Adversarial NLI rounds 1-3 as one task; dev = the three dev rounds.",
                  ANLI_HUB, ANLI_LOCAL))
# ANLI+ as in the X-STILTs paper: train on SNLI + MNLI + ANLI together; select on ANLI's
# dev rounds, the adversarial data the mixture is meant for (SNLI/MNLI dev would dominate).
register(nli_task(
    "anli_plus", "ANLI+: SNLI + MNLI + ANLI rounds 1-3 training sets, one 3-way head; "
    "dev = ANLI dev rounds 1-3.",
    ConcatSource((train_only(SNLI_HUB), train_only(MNLI_HUB), ANLI_HUB),
                 names=("snli", "mnli", "anli")),
    ConcatSource((train_only(SNLI_LOCAL), train_only(MNLI_LOCAL), ANLI_LOCAL),
                 names=("snli", "mnli", "anli"))))
