"""SQuAD-style hub rows -> span_qa examples, shared by XQuAD, MLQA and TyDiQA."""

from __future__ import annotations

from xstilts.tasks.task import HubSource

SQUAD_DATASET = "rajpurkar/squad"  # SQuAD v1.1, XQuAD's and MLQA's English training data
SQUAD_TRAIN = "squad/train-v1.1.json"  # download_data.sh's local files
SQUAD_DEV = "squad/dev-v1.1.json"
# XTREME's QA windows (run_squad.py: --max_seq_length 384 --doc_stride 128, a step between
# window starts); max query 64, max answer 30 and n-best 20 are span_qa's defaults already.
XTREME_QA_OPTIONS = {"max_length": 384, "window_step": 128}


def _answers(raw) -> tuple[list[str], list[int]]:
    """Answers as parallel lists, from a dict of lists (hub Sequence) or a list of dicts."""
    if isinstance(raw, dict):
        return [str(t) for t in raw.get("text", [])], [int(s) for s in raw.get("answer_start", [])]
    return [str(a["text"]) for a in raw or []], [int(a["answer_start"]) for a in raw or []]


def realign(context: str, text: str, start: int) -> int:
    """The occurrence of `text` in `context` nearest to `start`."""
    # google/xtreme strips contexts and answer texts but keeps the original offsets, so an
    # answer can sit a character or two away from where answer_start says.
    if not text or context[start:start + len(text)] == text:
        return start
    found, at = [], context.find(text)
    while at != -1:
        found.append(at)
        at = context.find(text, at + 1)
    return min(found, key=lambda i: abs(i - start)) if found else start


def squad_row(row: dict, lang: str) -> dict:
    """One SQuAD/XQuAD/MLQA/TyDiQA hub row -> {"id", "title", "context", "question", "answers"}."""
    context = row["context"]
    texts, starts = _answers(row["answers"])
    starts = [realign(context, t, s) for t, s in zip(texts, starts, strict=True)]
    return {"id": str(row["id"]), "title": row.get("title", ""), "context": context,
            "question": row["question"], "answers": {"text": texts, "answer_start": starts}}


# XQuAD's and MLQA's training data and model selection (SQuAD v1.1's dev set, in English).
SQUAD_HUB = HubSource(dataset=SQUAD_DATASET, convert=squad_row,
                      splits={"train": "train", "selection": "validation"})
