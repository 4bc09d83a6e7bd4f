"""Readers of benchmark layouts: SQuAD JSON (XQuAD, MLQA, TyDiQA), Tatoeba and BUCC."""

from __future__ import annotations

import json
from pathlib import Path

from xstilts.errors import located
from xstilts.tasks.reader_io import (
    Example,
    file_text,
    map_fields,
    numbered_lines,
)


def read_squad_json(path: Path, fields: dict, options: dict) -> list[Example]:
    """SQuAD v1.1/v2.0 JSON -> span_qa examples, in file order; every answer is checked.

    options: "articles": [start, end) keeps only articles whose index is in range(start, end)
    (end may be null for "to the last article"). Unanswerable v2.0 questions get empty answers.
    "require_answers": True fails on a question without a non-empty answer (a test file whose
    answers XTREME's preprocessing blanked would otherwise score as if it were gold).
    """
    require = options.get("require_answers", False)
    try:
        doc = json.loads(file_text(path))
    except json.JSONDecodeError as e:
        raise located(path, e.lineno, f"not valid JSON: {e.msg} (column {e.colno})",
                      fix="the file must be one complete JSON document (SQuAD v1.1/v2.0 "
                          "layout); re-download or re-export it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise located(path, None, 'expected SQuAD JSON: an object with a "data" list of articles',
                      fix="use SQuAD v1.1/v2.0 JSON: {\"version\": ..., \"data\": [articles]}")
    articles = list(enumerate(doc["data"]))
    if "articles" in options:
        span, n = options["articles"], len(articles)
        start, end = span if isinstance(span, (list, tuple)) and len(span) == 2 else (None, 0)
        end = n if end is None else end
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= n):
            raise located(path, None, f"options.articles = {span!r} is not a range of the "
                          f"file's {n} articles",
                          fix=f"give [start, end) with 0 <= start < end <= {n}")
        articles = articles[start:end]
    examples = []
    for a, article in articles:
        try:
            for p, para in enumerate(article["paragraphs"]):
                context = para["context"]
                for q, qa in enumerate(para["qas"]):
                    qid = str(qa.get("id", f"{path.stem}-{a}-{p}-{q}"))
                    answers = [] if qa.get("is_impossible") else qa["answers"]
                    texts = [ans["text"] for ans in answers]
                    starts = [int(ans["answer_start"]) for ans in answers]
                    if require and not any(texts):
                        raise located(path, None, f"question id {qid!r} has no answer text",
                                      fix="use the original file with its answers (XTREME's "
                                          "download_data.sh blanks test answers)")
                    for text, start in zip(texts, starts, strict=True):
                        found = context[start:start + len(text)]
                        if found != text:
                            raise located(path, None, f"question id {qid!r}: answer {text!r} "
                                          f"does not match the context at answer_start={start}, "
                                          f"which has {found!r}",
                                          fix="fix answer_start (character offset into context)")
                    ex = {"id": qid, "title": article.get("title", ""), "context": context,
                          "question": qa["question"],
                          "answers": {"text": texts, "answer_start": starts}}
                    examples.append(map_fields(ex, fields))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            what = f"missing key {e}" if isinstance(e, KeyError) else str(e)
            raise located(path, None, f"article {a} is not in SQuAD form: {what}",
                          fix="articles need paragraphs[{context, qas[{id, question, "
                              "answers[{text, answer_start}]}]}]") from None
    return examples


def read_tatoeba(path: Path, fields: dict, options: dict) -> list[Example]:
    """`path` is the non-English side (tatoeba.deu-eng.deu); the English side is the same
    path ending in ".eng". Line i of both -> {"id": str(i), "source", "target"} (i from 0)."""
    eng = path.with_suffix(".eng")
    if eng == path:
        raise located(path, None, "this is the English side of a Tatoeba pair",
                      fix="give the non-English file (e.g. tatoeba.deu-eng.deu)")
    source = [line for _, line in numbered_lines(path)]
    target = [line for _, line in numbered_lines(eng)]
    if len(source) != len(target):
        raise located(path, None, f"has {len(source)} lines but the English side {eng} has "
                      f"{len(target)}; Tatoeba files must be aligned line by line",
                      fix="use the unmodified pair of files")
    return [map_fields({"id": str(i), "source": s, "target": t}, fields)
            for i, (s, t) in enumerate(zip(source, target, strict=True))]


def _bucc_pairs(path: Path) -> list[tuple[str, str]]:
    """(first column, second column) of every line of a BUCC file ("id<TAB>text")."""
    out = []
    for no, line in numbered_lines(path):
        if not line.strip():
            continue
        parts = line.split("\t", 1)
        if len(parts) != 2 or not parts[0]:
            raise located(path, no, "expected 2 tab-separated columns (id and text)",
                          fix="use the unmodified BUCC 2018 file")
        out.append((parts[0], parts[1]))
    return out


def read_bucc(path: Path, fields: dict, options: dict) -> list[Example]:
    """BUCC 2018: `path` is the non-English side (de-en.test.de); the English side ends in
    ".en", the gold pairs in ".gold". -> sentences {"id", "side": "source"|"target", "text"};
    a source sentence carries "gold": [ids of its English translations]."""
    source = _bucc_pairs(path)
    gold_path = path.with_suffix(".gold")
    if not gold_path.is_file():
        raise located(gold_path, None, "file not found (the gold pairs of this BUCC file)",
                      fix="keep the .gold file of BUCC's training-gold archive (XTREME's "
                          "download_data.sh deletes *test.gold), or score the dev/sample data "
                          "with the paper's oracle protocol (task_options: {bucc2018: "
                          "{protocol: oracle}})")
    gold: dict[str, list[str]] = {}
    for src, tgt in _bucc_pairs(gold_path):
        gold.setdefault(src, []).append(tgt)
    out = [map_fields({"id": i, "side": "source", "text": t, "gold": gold.get(i, [])}, fields)
           for i, t in source]
    out += [map_fields({"id": i, "side": "target", "text": t}, fields)
            for i, t in _bucc_pairs(path.with_suffix(".en"))]
    return out
