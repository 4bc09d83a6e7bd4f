"""Intermediate extractive QA: SQuAD v1.1 and SQuAD v2.0 (with unanswerable questions).

Local files: the official JSON files in the data folder's squad/ (XTREME's download_data.sh
fetches train-v1.1.json and dev-v1.1.json there; add train-v2.0.json and dev-v2.0.json).
"""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.squad_rows import (  # v2.0's unanswerable rows: empty answer lists
    XTREME_QA_OPTIONS,
    squad_row,
)
from xstilts.tasks.task import FileSource, HubSource, Task


def squad_task(name: str, dataset: str, version: str, options: dict, description: str) -> Task:
    hub = HubSource(dataset, squad_row, splits={"train": "train", "dev": "validation"})
    local = FileSource("squad_json", {"train": f"squad/train-v{version}.json",
                                      "dev": f"squad/dev-v{version}.json"})
    return Task(name=name, format="span_qa", languages=["en"], source=hub,
                description=description, options={**XTREME_QA_OPTIONS, **options},
                alternatives={"hub": hub, "local": local})


register(squad_task("squad", "rajpurkar/squad", "1.1", {},
                    "SQuAD v1.1: extractive QA over Wikipedia paragraphs (88k train questions)."))
# SQuAD 2.0 selects on the F1 at the best no-answer threshold (evaluate-v2.0.py's best_f1).
register(squad_task("squad_v2", "rajpurkar/squad_v2", "2.0",
                    {"version_2_with_negative": True, "main_metric": "best_f1"},
                    "SQuAD v2.0: SQuAD v1.1 plus 50k unanswerable questions (empty answer)."))
