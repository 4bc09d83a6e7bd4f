"""Clauses to text: fill a template with the names of its values in one language, keeping
track of which characters and tokens are names (for span answers and tags).
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

from xstilts.tasks.demo import lexicon as lx
from xstilts.tasks.demo import world as w
from xstilts.tasks.demo.templates import TEMPLATES, group_templates

# {slot} / {slot:form}, [masculine|feminine], English word/TAG
_PIECE = re.compile(r"\{(\w+)(?::(\w+))?\}|\[([^\]|]*)\|([^\]]*)\]|([\w'’-]+)/([A-Z]+)\b")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")


@dataclass(frozen=True)
class Seg:
    """A piece of rendered text: literal, or the value of a slot (tag PER/LOC/ORG for names)."""

    text: str
    tag: str | None = None
    slot: str | None = None
    value: object = None
    pos: str | None = None  # a part of speech fixed by the template (English)


def _cell(row, lang: str) -> str:
    return row[lx.LANGS.index(lang)]


def _gendered(cell: str, female: bool) -> str:
    forms = cell.split("|")
    return forms[-1] if female else forms[0]


def _case(cell: str, lang: str, kind: str, form: str) -> str:
    if lang != "ru":
        return cell
    names = lx.FORMS[kind]
    if form not in names:
        raise ValueError(f"no Russian form {form!r} for a {kind}; have {names}")
    return cell.split("|")[names.index(form)]


def surface(value, lang: str, form: str = "nom") -> str:
    """The name of a value in a language (Russian: in the case `form`)."""
    if isinstance(value, w.Person):
        given = _cell((lx.GIVEN_F if value.female else lx.GIVEN_M)[value.given], lang)
        family = _gendered(_cell(lx.SURNAMES[value.family], lang), value.female)
        return f"{given}·{family}" if lang == "zh" else f"{given} {family}"
    if isinstance(value, w.City):
        return _case(_cell(lx.CITIES[value.idx], lang), lang, "place", form)
    if isinstance(value, w.Country):
        return _case(_cell(lx.COUNTRIES[value.idx], lang), lang, "place", form)
    if isinstance(value, w.Org):
        return _cell(lx.ORGS[value.idx], lang)
    if isinstance(value, w.Club):
        return _cell(lx.CLUBS[value.idx], lang)
    if isinstance(value, w.Role):
        word = _gendered(_cell(lx.ROLES[value.idx], lang), value.female)
        if lang == "ru":
            return word.split("/")[1 if form == "ins" else 0]
        return word
    if isinstance(value, w.Term):
        return _case(_cell(lx.TERMS[value.table][value.idx], lang), lang, value.table, form)
    if isinstance(value, (w.Year, w.Number)):
        return str(value.value)
    raise TypeError(value)


@functools.cache
def _parse(template: str) -> tuple[tuple, ...]:
    """A template as pieces: ("text", s), ("slot", name, form), ("gender", m, f), ("pos", w, t)."""
    pieces: list[tuple] = []
    pos = 0
    for m in _PIECE.finditer(template):
        if m.start() > pos:
            pieces.append(("text", template[pos:m.start()]))
        if m.group(1):
            pieces.append(("slot", m.group(1), m.group(2) or "nom"))
        elif m.group(5):
            pieces.append(("pos", m.group(5), m.group(6)))
        else:
            pieces.append(("gender", m.group(3), m.group(4)))
        pos = m.end()
    if pos < len(template):
        pieces.append(("text", template[pos:]))
    return tuple(pieces)


def fill(template: str, bindings: dict, lang: str) -> list[Seg]:
    """One template filled with values: its pieces in order."""
    female = bindings["per"].female if "per" in bindings else False
    segs: list[Seg] = []
    for kind, a, *rest in _parse(template):
        if kind == "text":
            segs.append(Seg(a))
        elif kind == "gender":
            segs.append(Seg(rest[0] if female else a))
        elif kind == "pos":
            segs.append(Seg(a, pos=rest[0]))
        else:
            value, form = bindings[a], rest[0]
            if form == "a" and lang == "en":
                segs.append(Seg("an " if surface(value, lang) in lx.EN_AN else "a "))
            segs.append(Seg(surface(value, lang, form), w.ENTITY_TAGS.get(type(value)), a,
                            value))
    return segs


def render(clause: w.Clause, lang: str, rng: random.Random) -> list[Seg]:
    """A clause in a language; the template is drawn with rng (events: their variant)."""
    options = group_templates(lang, clause.group)
    template = options[clause.variant] if clause.variant >= 0 else rng.choice(options)
    return fill(template, dict(clause.bindings), lang)


def layout(pieces: list[list[Seg]], lang: str) -> tuple[str, list[list[tuple[int, int, Seg]]]]:
    """Sentences joined into one text, with the character span of every piece."""
    parts: list[str] = []
    spans: list[list[tuple[int, int, Seg]]] = []
    offset = 0
    for i, segs in enumerate(pieces):
        if i and lang != "zh":
            parts.append(" ")
            offset += 1
        row = []
        for s in segs:
            text = s.text.replace(" ", "") if lang == "zh" else s.text
            row.append((offset, offset + len(text), s))
            parts.append(text)
            offset += len(text)
        spans.append(row)
    return "".join(parts), spans


def text_of(pieces: list[list[Seg]], lang: str) -> str:
    return layout(pieces, lang)[0]


def tokenize(text: str, lang: str) -> list[str]:
    """Words and punctuation; Chinese templates and names mark words with spaces."""
    return text.split() if lang == "zh" else _WORD.findall(text)


def entity_tags(pieces: list[list[Seg]], lang: str) -> tuple[list[str], list[str]]:
    """Tokens and IOB2 entity tags."""
    tokens, tags = [], []
    for s in (s for segs in pieces for s in segs):
        words = tokenize(s.text, lang)
        tokens.extend(words)
        if s.tag:
            tags.extend([f"B-{s.tag}"] + [f"I-{s.tag}"] * (len(words) - 1))
        else:
            tags.extend(["O"] * len(words))
    return tokens, tags


def pos_tags(pieces: list[list[Seg]]) -> tuple[list[str], list[str]]:
    """English tokens and coarse (UD) part-of-speech tags."""
    lexicon = TEMPLATES["en"].POS
    tokens, tags = [], []
    for s in (s for segs in pieces for s in segs):
        for word in tokenize(s.text, "en"):
            tokens.append(word)
            if s.pos:
                tags.append(s.pos)
            elif s.tag:
                tags.append("PROPN")
            elif isinstance(s.value, (w.Year, w.Number)):
                tags.append("NUM")
            elif isinstance(s.value, w.Role):
                tags.append("NOUN")
            elif not (word[0].isalnum() or word[0] == "_"):
                tags.append("PUNCT")
            else:
                tags.append(lexicon[word.lower()])
    return tokens, tags
