"""The report's blocks, rendered to Markdown and to one self-contained HTML page.

Every string in a block is plain text (task names and settings come from configs and data):
both renderers escape it, so markup in a name shows as text and never becomes markup.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass, field

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1020px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}
.box{border:1px solid #999;background:#fafafa;padding:.6em 1em;margin:1em 0}
.box h2{margin-top:.2em}.box dt{font-weight:600}.box dd{margin:0 0 .4em 1.2em}
.note{border-left:4px solid #d9822b;background:#fff6ec;padding:.4em .8em}
"""
# Nothing outside the page may load: images are data: URLs, the style is inline.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
NUMBER = re.compile(r"^[-+−]?(\d[\d,]*\.?\d*|n/a|–)(\s*\[.*\])?%?$")


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    note: bool = False  # a caveat, set apart


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    file: str  # written next to the report; embedded in the HTML
    png: bytes
    alt: str
    caption: str


@dataclass
class Box:
    title: str
    items: list[tuple[str, str]] = field(default_factory=list)


def num(value, digits: int = 2, sign: bool = False) -> str:
    """A number for a table: fixed digits, '–' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = round(float(value), digits) + 0.0  # no "-0.00"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def interval(low, high, digits: int = 2) -> str:
    """[low, high], or '–' where there is none."""
    if any(v is None or math.isnan(v) for v in (low, high)):
        return "–"
    return f"[{num(low, digits)}, {num(high, digits)}]"


def regression_table(terms) -> Table:
    """A fitted regression's terms (study/stats.py's frame): estimate, 95% CI, p."""
    return Table(["term", "estimate (points)", "95% CI", "p"],
                 [[r.term, num(r.estimate, sign=True), interval(r.ci_low, r.ci_high),
                   num(r.p, 3)] for r in terms.itertuples()])


# ---------------------------------------------------------------- Markdown

# Characters that start Markdown syntax anywhere; `_` only at a word's edge (intraword
# underscores are literal), `[` and `#` only where they could open a link or a heading.
_MD_SPECIAL = re.compile(r"[\\`*|]|(?<!\w)_|_(?!\w)|\[(?=[^\]]*\][(:\[])|^#")


def md(text: str) -> str:
    """Plain text for Markdown: HTML characters as entities, Markdown syntax escaped."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), html.escape(str(text), quote=False))


def markdown(title: str, blocks: list) -> str:
    """The report as Markdown (figures as links to the PNG files beside it)."""
    out = [f"# {md(title)}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + md(b.text), ""]
        elif isinstance(b, Para):
            out += [("> **Caveat.** " if b.note else "") + md(b.text), ""]
        elif isinstance(b, Bullets):
            out += [f"- {md(item)}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(md(c) for c in b.columns) + " |")
            out.append("|" + "|".join("---:" if _numeric(b, i) else "---"
                                      for i in range(len(b.columns))) + "|")
            out += ["| " + " | ".join(md(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{md(b.alt)}]({b.file})", "", f"*{md(b.caption)}*", ""]
        elif isinstance(b, Box):
            out += [f"**{md(b.title)}**", ""]
            out += [f"- **{md(k)}:** {md(v)}" for k, v in b.items] + [""]
    return "\n".join(out)


def _numeric(table: Table, i: int) -> bool:
    return bool(table.rows) and all(NUMBER.match(row[i].strip()) for row in table.rows)


# ---------------------------------------------------------------- HTML


def e(text) -> str:
    """HTML-escaped text (quotes too)."""
    return html.escape(str(text), quote=True)


def page(title: str, blocks: list) -> str:
    """The report as one HTML page: inline style, figures as base64 PNG data URLs."""
    body = [f"<h1>{e(title)}</h1>"]
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f'<p class="note"><strong>Caveat.</strong> {e(b.text)}</p>' if b.note
                        else f"<p>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            numeric = [_numeric(b, i) for i in range(len(b.columns))]
            head = "".join(f"<th>{e(c)}</th>" for c in b.columns)
            rows = "".join("<tr>" + "".join(
                f'<td class="n">{e(c)}</td>' if numeric[i] else f"<td>{e(c)}</td>"
                for i, c in enumerate(row)) + "</tr>" for row in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Figure):
            data = base64.b64encode(b.png).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(b.alt)}">'
                        f"<figcaption>{e(b.caption)}</figcaption></figure>")
        elif isinstance(b, Box):
            items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in b.items)
            body.append(f'<section class="box"><h2>{e(b.title)}</h2><dl>{items}</dl></section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
