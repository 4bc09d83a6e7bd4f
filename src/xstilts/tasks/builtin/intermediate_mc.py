"""Intermediate multiple-choice tasks: HellaSwag, Cosmos QA, CommonsenseQA.

Examples are {"id", "prompt", "choices", "label"}; each choice is encoded with the prompt.
Local files, as each dataset's repository publishes them, in the data folder:
hellaswag/hellaswag_{train,val}.jsonl, cosmosqa/{train,valid}.csv,
commonsenseqa/{train,dev}_rand_split.jsonl.

On the hub, Rowan/hellaswag and allenai/cosmos_qa still ship loading scripts, which
`datasets` >= 4 refuses to run: both are read from the hub's parquet conversion of them
(revision refs/convert/parquet: one config, "default", with default/{split}/0000.parquet).
"""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task


def _index(value) -> int | None:
    """A gold index; hub test rows carry "" (HellaSwag) or -1 (Cosmos QA) -> None."""
    try:
        i = int(value)
    except (TypeError, ValueError):
        return None
    return i if i >= 0 else None


def hellaswag_row(row: dict, lang: str) -> dict | None:
    """Hub or jsonl row: ctx + 4 endings; the hub's label is a string ("2"), the file's an int."""
    label = _index(row.get("label"))
    if label is None:
        return None
    return {"id": str(row.get("ind", row.get("id"))), "prompt": row["ctx"],
            "choices": list(row["endings"]), "label": label}


def cosmosqa_row(row: dict, lang: str) -> dict | None:
    """Hub or CSV row: context and question form the prompt; answer0..answer3 the choices."""
    label = _index(row.get("label"))
    if label is None:
        return None
    return {"id": str(row["id"]), "prompt": f"{row['context']} {row['question']}",
            "choices": [row[f"answer{i}"] for i in range(4)], "label": label}


def commonsenseqa_row(row: dict, lang: str) -> dict | None:
    """Hub row (question, choices {label, text}) or the release's jsonl (question {stem,
    choices [{label, text}]}); answerKey is a letter, the label its position among choices."""
    question = row["question"]
    if isinstance(question, dict):  # the original jsonl nests the choices in the question
        letters = [c["label"] for c in question["choices"]]
        texts = [c["text"] for c in question["choices"]]
        question = question["stem"]
    else:
        letters, texts = list(row["choices"]["label"]), list(row["choices"]["text"])
    key = row.get("answerKey") or ""
    if key not in letters:
        return None  # the unlabelled test split
    return {"id": str(row["id"]), "prompt": question, "choices": texts,
            "label": letters.index(key)}


PARQUET_EXPORT = "refs/convert/parquet"  # the hub's parquet conversion of a dataset


def mc_task(name: str, dataset: str, convert, reader: str, paths: dict, description: str,
            config: str | None = None, revision: str | None = None) -> Task:
    hub = HubSource(dataset, convert, config=config, revision=revision,
                    splits={"train": "train", "dev": "validation"})
    local = FileSource(reader, paths, convert=convert)
    return Task(name=name, format="multiple_choice", languages=["en"], source=hub,
                description=description, alternatives={"hub": hub, "local": local})


register(mc_task("hellaswag", "Rowan/hellaswag", hellaswag_row, "jsonl",
                 {"train": "hellaswag/hellaswag_train.jsonl",
                  "dev": "hellaswag/hellaswag_val.jsonl"},
                 "HellaSwag: pick the most plausible of 4 endings for a video/WikiHow context.",
                 config="default", revision=PARQUET_EXPORT))
register(mc_task("cosmosqa", "allenai/cosmos_qa", cosmosqa_row, "csv",
                 {"train": "cosmosqa/train.csv", "dev": "cosmosqa/valid.csv"},
                 "Cosmos QA: commonsense reading comprehension, 4 answers per question.",
                 config="default", revision=PARQUET_EXPORT))
register(mc_task("commonsenseqa", "tau/commonsense_qa", commonsenseqa_row, "jsonl",
                 {"train": "commonsenseqa/train_rand_split.jsonl",
                  "dev": "commonsenseqa/dev_rand_split.jsonl"},
                 "CommonsenseQA: 5-way questions about ConceptNet concepts."))
