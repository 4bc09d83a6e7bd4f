"""Readers: turn one benchmark file into a list of example dicts.

`read_examples(reader, path, fields, options)` dispatches to one function per file format in
`READERS` (adding a reader is one function plus one entry). Every reader takes
`(path, fields, options)`; `fields` maps our key -> key in the record the file gives
(e.g. {"text_a": "premise"}); keys not mentioned are kept as they are. Readers do not check
that a format's required keys are present; the formats do. Problems with the file itself
(missing, not UTF-8, empty, malformed) raise `XstiltsError` naming the file and, where there
is one, the line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from xstilts.errors import located

Example = dict
Reader = Callable[[Path, dict, dict], list[Example]]

_PATH_FIX = "check the task's base_dir and paths (templates with {split}/{lang}) in the config"
_SENT_ID = re.compile(r"^#\s*sent_id\s*=\s*(.*?)\s*$")
_LANG_PREFIX = re.compile(r"^[a-z]{2,3}:(?=.)")
_TAG_COLUMNS = {"upos": 3, "xpos": 4}
_CCG_LEAF = re.compile(r"<L (\S+) (\S+) (\S+) (\S+) (\S+)>")


def read_examples(reader: str, path: Path, fields: dict[str, str] | None = None,
                  options: dict | None = None) -> list[Example]:
    """Read all examples of one file with the named reader (see `READERS`)."""
    path = Path(path)
    if reader not in READERS:
        raise located(path, None, f"unknown reader {reader!r}",
                      fix=f"use one of: {', '.join(sorted(READERS))}")
    examples = READERS[reader](path, dict(fields or {}), dict(options or {}))
    if not examples:
        raise located(path, None, f"no examples found (reader {reader!r})",
                      fix="check that the file is the right one and in the reader's format")
    return examples


# --- shared helpers -------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    """The whole file as text (UTF-8, BOM tolerated); located errors for the usual problems."""
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "file not found"
        if not path.is_absolute():
            what += f" (looked for {path.resolve()})"
        raise located(path, None, what, fix=_PATH_FIX)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise located(path, line, f"not valid UTF-8 (byte 0x{data[e.start]:02x}): {e.reason}",
                      fix="re-encode the file as UTF-8") from None
    if not text.strip():
        raise located(path, None, "the file is empty", fix=_PATH_FIX)
    return text


def _lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, line without its newline) for every line of the file.

    Splits on "\\n" only (not on other Unicode line breaks, which may occur inside a
    sentence) and drops a trailing "\\r", so CRLF files read like LF files.
    """
    text = _read_text(path)
    parts = text.split("\n")
    if text.endswith("\n"):
        parts.pop()
    return [(i, line[:-1] if line.endswith("\r") else line) for i, line in enumerate(parts, 1)]


def _map_fields(record: dict, fields: dict[str, str]) -> Example:
    """Rename keys: our key <- the file's key; keys not mentioned are kept as-is."""
    if not fields:
        return dict(record)
    out = {ours: record[theirs] for ours, theirs in fields.items() if theirs in record}
    renamed = set(fields.values())
    for key, value in record.items():
        if key not in renamed:
            out.setdefault(key, value)
    return out


def _with_id(example: Example, default: str) -> Example:
    if "id" not in example:
        example["id"] = default
    return example


# --- readers --------------------------------------------------------------------------------

def read_jsonl(path: Path, fields: dict, options: dict) -> list[Example]:
    """One JSON object per line; blank lines skipped; id defaults to "<stem>-<line>"."""
    examples = []
    for no, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise located(path, no, f"not valid JSON: {e.msg} (column {e.colno})",
                          fix="each non-blank line must be one JSON object") from None
        if not isinstance(record, dict):
            raise located(path, no, f"expected a JSON object, found {type(record).__name__}",
                          fix="each non-blank line must be one JSON object ({...})")
        examples.append(_with_id(_map_fields(record, fields), f"{path.stem}-{no}"))
    return examples


def read_tsv(path: Path, fields: dict, options: dict) -> list[Example]:
    """Tab-separated rows, values kept as strings.

    options: "header" (default True: the first non-blank line names the columns);
    "columns": column names (required when header is False; overrides a header row);
    "skip_bad_rows": True skips rows with the wrong number of columns (machine-translated
    training sets such as PAWS-X's have a few) instead of failing.
    """
    header = options.get("header", True)
    columns = options.get("columns")
    lines = [(no, line) for no, line in _lines(path) if line.strip()]
    if header:
        no, first = lines.pop(0)
        columns = columns or first.split("\t")
    if not columns:
        raise located(path, None, "no column names for a headerless TSV file",
                      fix='give options {"header": false, "columns": [...]} in the task')
    if len(set(columns)) != len(columns):
        raise located(path, 1 if header else None, f"duplicate column names: {columns}")
    examples = []
    for no, line in lines:
        values = line.split("\t")
        if len(values) != len(columns):
            if options.get("skip_bad_rows"):
                continue
            raise located(path, no, f"expected {len(columns)} tab-separated columns "
                          f"{columns}, found {len(values)}",
                          fix="check for missing or extra tabs on this line")
        record = dict(zip(columns, values, strict=True))
        examples.append(_with_id(_map_fields(record, fields), f"{path.stem}-{no}"))
    return examples


def read_squad_json(path: Path, fields: dict, options: dict) -> list[Example]:
    """SQuAD v1.1/v2.0 JSON -> span_qa examples, in file order; every answer is checked.

    options: "articles": [start, end) keeps only articles whose index is in range(start, end)
    (end may be null for "to the last article"). Unanswerable v2.0 questions get empty answers.
    "require_answers": True fails on a question without a non-empty answer (a test file whose
    answers XTREME's preprocessing blanked would otherwise score as if it were gold).
    """
    require = options.get("require_answers", False)
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise located(path, e.lineno, f"not valid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise located(path, None, 'expected SQuAD JSON: an object with a "data" list of articles')
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
                    examples.append(_map_fields(ex, fields))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            what = f"missing key {e}" if isinstance(e, KeyError) else str(e)
            raise located(path, None, f"article {a} is not in SQuAD form: {what}",
                          fix="articles need paragraphs[{context, qas[{id, question, "
                              "answers[{text, answer_start}]}]}]") from None
    return examples


def read_conllu(path: Path, fields: dict, options: dict) -> list[Example]:
    """CoNLL-U -> tagging examples {"id", "tokens", "tags"}.

    Skips comments, multiword-token lines (ID "1-2") and empty nodes (ID "1.1").
    options: "tag_column": "upos" (column 4, default) or "xpos" (column 5).
    """
    tag_column = options.get("tag_column", "upos")
    if tag_column not in _TAG_COLUMNS:
        raise located(path, None, f"unknown options.tag_column {tag_column!r}",
                      fix=f"use one of {sorted(_TAG_COLUMNS)}")
    col = _TAG_COLUMNS[tag_column]
    examples: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []
    sent_id = None

    def flush():
        nonlocal tokens, tags, sent_id
        if tokens:
            ex = {"id": sent_id or f"{path.stem}-{len(examples) + 1}", "tokens": tokens,
                  "tags": tags}
            examples.append(_map_fields(ex, fields))
        tokens, tags, sent_id = [], [], None

    for no, line in _lines(path):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            m = _SENT_ID.match(line)
            if m and m.group(1):
                sent_id = m.group(1)
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise located(path, no, f"expected 10 tab-separated CoNLL-U columns, found "
                          f"{len(cols)}", fix="CoNLL-U token lines have exactly 10 columns "
                          "separated by tabs (not spaces)")
        if "-" in cols[0] or "." in cols[0]:
            continue
        if not cols[0].isdigit():
            raise located(path, no, f"token ID {cols[0]!r} is not a number, a range (1-2) "
                          "or an empty node (1.1)")
        tokens.append(cols[1])
        tags.append(cols[col])
    flush()
    return examples


def read_conll(path: Path, fields: dict, options: dict) -> list[Example]:
    """Two columns "token<TAB>tag" (or "token tag"), blank lines between sentences.

    options: "strip_lang_prefix": True removes a leading "xx:" from tokens (XTREME's
    "en:Paris"). "-DOCSTART-" lines end a sentence and are skipped.
    """
    strip = options.get("strip_lang_prefix", False)
    examples: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush():
        nonlocal tokens, tags
        if tokens:
            ex = {"id": f"{path.stem}-{len(examples) + 1}", "tokens": tokens, "tags": tags}
            examples.append(_map_fields(ex, fields))
        tokens, tags = [], []

    for no, line in _lines(path):
        if not line.strip() or line.startswith("-DOCSTART-"):
            flush()
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise located(path, no, f"expected 2 columns (token and tag), found "
                          f"{len(parts)}: {line!r}",
                          fix='each line is "token<TAB>tag"; sentences are separated by '
                              "blank lines")
        token, tag = parts
        tokens.append(_LANG_PREFIX.sub("", token) if strip else token)
        tags.append(tag)
    flush()
    return examples


def read_tatoeba(path: Path, fields: dict, options: dict) -> list[Example]:
    """`path` is the non-English side (tatoeba.deu-eng.deu); the English side is the same
    path ending in ".eng". Line i of both -> {"id": str(i), "source", "target"} (i from 0)."""
    eng = path.with_suffix(".eng")
    if eng == path:
        raise located(path, None, "this is the English side of a Tatoeba pair",
                      fix="give the non-English file (e.g. tatoeba.deu-eng.deu)")
    source = [line for _, line in _lines(path)]
    target = [line for _, line in _lines(eng)]
    if len(source) != len(target):
        raise located(path, None, f"has {len(source)} lines but the English side {eng} has "
                      f"{len(target)}; Tatoeba files must be aligned line by line",
                      fix="use the unmodified pair of files")
    return [_map_fields({"id": str(i), "source": s, "target": t}, fields)
            for i, (s, t) in enumerate(zip(source, target, strict=True))]


def _bucc_pairs(path: Path) -> list[tuple[str, str]]:
    """(first column, second column) of every line of a BUCC file ("id<TAB>text")."""
    out = []
    for no, line in _lines(path):
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
                          "download_data.sh deletes *test.gold)")
    gold: dict[str, list[str]] = {}
    for src, tgt in _bucc_pairs(gold_path):
        gold.setdefault(src, []).append(tgt)
    out = [_map_fields({"id": i, "side": "source", "text": t, "gold": gold.get(i, [])}, fields)
           for i, t in source]
    out += [_map_fields({"id": i, "side": "target", "text": t}, fields)
            for i, t in _bucc_pairs(path.with_suffix(".en"))]
    return out


def read_csv(path: Path, fields: dict, options: dict) -> list[Example]:
    """Comma-separated values with a header row and standard quoting (Cosmos QA's files)."""
    rows = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(rows)
    examples = []
    for record in rows:
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(header):
            raise located(path, rows.line_num, f"expected {len(header)} comma-separated "
                          f"columns {header}, found {len(record)}",
                          fix="check the quoting of this row")
        row = dict(zip(header, record, strict=True))
        examples.append(_with_id(_map_fields(row, fields), f"{path.stem}-{rows.line_num}"))
    return examples


CCG_HOWTO = (
    "CCGbank is licensed by the LDC (LDC2005T13, https://catalog.ldc.upenn.edu/LDC2005T13), "
    "so it cannot be downloaded for you. With a copy, write the standard split into the data "
    "folder's ccg/ (and set `data: {source: local, dir: DATA}`): "
    "cat ccgbank_1_1/data/AUTO/{02..21}/*.auto > DATA/ccg/train.auto; "
    "cat ccgbank_1_1/data/AUTO/00/*.auto > DATA/ccg/dev.auto; "
    "cat ccgbank_1_1/data/AUTO/23/*.auto > DATA/ccg/test.auto "
    "(C&C .stagged files, one sentence of word|POS|supertag tokens per line, work too)"
)


def read_ccg(path: Path, fields: dict, options: dict) -> list[Example]:
    """CCG supertags -> tagging examples {"id", "tokens", "tags"} (tags = lexical categories).

    Reads CCGbank's AUTO trees ("ID=wsj_0001.1 ..." lines, each followed by a tree whose
    leaves are "(<L category POS POS word pred-arg-category>)") or C&C's .stagged lines
    (word|POS|supertag tokens; "#" lines other than a "#|" token are comments).
    """
    if not path.exists():
        where = "" if path.is_absolute() else f" (looked for {path.resolve()})"
        raise located(path, None, f"file not found{where}", fix=f"{_PATH_FIX}. {CCG_HOWTO}")
    lines = _lines(path)
    auto = any(line.startswith("ID=") for _, line in lines)
    examples = []
    sent_id = None
    for no, line in lines:
        if not line.strip() or (line.startswith("#") and not line.startswith("#|")):
            continue
        if auto and line.startswith("ID="):
            sent_id = line.split()[0][3:]
            continue
        if auto:
            leaves = _CCG_LEAF.findall(line)
            if not leaves:
                raise located(path, no, "a CCGbank AUTO tree line without (<L ...>) leaves",
                              fix="use unmodified AUTO files")
            tags, tokens = [leaf[0] for leaf in leaves], [leaf[3] for leaf in leaves]
        else:
            triples = [tok.rsplit("|", 2) for tok in line.split()]
            if any(len(t) != 3 or not all(t) for t in triples):
                raise located(path, no, "expected word|POS|supertag tokens separated by spaces",
                              fix=CCG_HOWTO)
            tokens, tags = [t[0] for t in triples], [t[2] for t in triples]
        ex = {"id": sent_id or f"{path.stem}-{no}", "tokens": tokens, "tags": tags}
        examples.append(_map_fields(ex, fields))
        sent_id = None
    return examples


def read_text(path: Path, fields: dict, options: dict) -> list[Example]:
    """Plain text: one {"id": "<stem>-<line>", "text"} per non-blank line."""
    return [_map_fields({"id": f"{path.stem}-{no}", "text": line}, fields)
            for no, line in _lines(path) if line.strip()]


READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "tsv": read_tsv,
    "squad_json": read_squad_json,
    "conllu": read_conllu,
    "conll": read_conll,
    "tatoeba": read_tatoeba,
    "bucc": read_bucc,
    "text": read_text,
    "csv": read_csv,
    "ccg": read_ccg,
}
