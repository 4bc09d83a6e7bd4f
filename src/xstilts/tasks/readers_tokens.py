"""Readers of token-level files: CoNLL-U (UD), CoNLL (PAN-X) and CCGbank AUTO."""

from __future__ import annotations

import re
from pathlib import Path

from xstilts.errors import located
from xstilts.tasks.reader_io import (
    PATH_FIX,
    Example,
    map_fields,
    numbered_lines,
)

_SENT_ID = re.compile(r"^#\s*sent_id\s*=\s*(.*?)\s*$")
_LANG_PREFIX = re.compile(r"^[a-z]{2,3}:(?=.)")
_TAG_COLUMNS = {"upos": 3, "xpos": 4}
_CCG_LEAF = re.compile(r"<L (\S+) (\S+) (\S+) (\S+) (\S+)>")


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
            examples.append(map_fields(ex, fields))
        tokens, tags, sent_id = [], [], None

    for no, line in numbered_lines(path):
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
                          "or an empty node (1.1)", fix="the first column of a CoNLL-U token "
                          "line is its index in the sentence")
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
            examples.append(map_fields(ex, fields))
        tokens, tags = [], []

    for no, line in numbered_lines(path):
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
        raise located(path, None, f"file not found{where}", fix=f"{PATH_FIX}. {CCG_HOWTO}")
    lines = numbered_lines(path)
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
        examples.append(map_fields(ex, fields))
        sent_id = None
    return examples
