"""A small document model for the reports, rendered both as Markdown and as one standalone HTML page.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Image`). Markdown
refers to images by file name (the PNGs sit next to it); the HTML page embeds them as base64 ``data:`` URIs
and styles itself inline, so it can be mailed or attached as one file. Paragraph and cell text may use
``**bold**``, ```code``` and Markdown's backslash escapes (``\\*`` is a literal ``*``) and nothing else; text from
the data (labels, file names) goes through :func:`literal` first, so that a label such as ``a|b`` or ``**x**``
renders as itself in both formats. Everything else is escaped in HTML.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

_INLINE = re.compile(r"\\(.)|\*\*((?:\\.|.)+?)\*\*|`([^`]+)`")
_SPECIAL = re.compile(r"[\\`*_\[\]<>|~]")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")


def literal(text: object) -> str:
    """``text`` (a label, a name from the data) as paragraph or cell text that renders as itself: every character
    Markdown or this module would read as markup is backslash-escaped, newlines become spaces."""
    return _SPECIAL.sub(r"\\\g<0>", str(text)).replace("\n", " ")

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
code { background: #f6f8fa; padding: 1px 4px; border-radius: 4px; font-size: 90%; }
img { max-width: 100%; border: 1px solid #eaeef2; margin: .5em 0; }
"""


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    """``header`` names the columns; ``numeric[j]`` right-aligns column j (default: every column but the first)."""

    header: list[str]
    rows: list[list[str]]
    numeric: list[bool] | None = None

    @classmethod
    def from_markdown(cls, text: str) -> "Table":
        """Parse a pipe table such as ``imbalance_xfmr.metrics.report_to_markdown`` writes (header, rule, rows)."""
        lines = [line.strip() for line in text.strip().splitlines()]
        if len(lines) < 2 or not all(line.startswith("|") and line.endswith("|") for line in lines):
            raise ValueError(f"not a Markdown pipe table: {text[:80]!r}")

        def cells(line: str) -> list[str]:
            # Split on the pipes that are not backslash-escaped; escaped ones stay in the cell's text.
            return [cell.strip() for cell in _UNESCAPED_PIPE.sub(lambda m: m.group(1) + "\0", line[1:-1]).split("\0")]
        return cls(cells(lines[0]), [cells(line) for line in lines[2:]])

    def is_numeric(self, column: int) -> bool:
        return self.numeric[column] if self.numeric is not None else column > 0


@dataclass(frozen=True)
class Image:
    """A PNG shown under ``file_name`` (written next to the Markdown file) with ``alt`` text."""

    file_name: str
    alt: str
    png: bytes


Block = Heading | Paragraph | Table | Image


def _markdown_cell(text: str) -> str:
    return _UNESCAPED_PIPE.sub(lambda m: m.group(1) + "\\|", text).replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown, blocks separated by blank lines, ending in one newline."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Table):
            align = ["---:" if block.is_numeric(j) else "---" for j in range(len(block.header))]
            lines = ["| " + " | ".join(map(_markdown_cell, block.header)) + " |", "|" + "|".join(align) + "|"]
            lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        else:
            parts.append(f"![{block.alt}]({block.file_name})")
    return "\n\n".join(parts) + "\n"


def _inline_html(text: str) -> str:
    """Escape ``text`` for HTML, turning ``**bold**`` into <strong>, ```code``` into <code> and a backslash-escaped
    character into itself."""
    out, position = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        escaped, bold, code = match.groups()
        if escaped is not None:
            out.append(html.escape(escaped))
        elif bold is not None:
            out.append(f"<strong>{_inline_html(bold)}</strong>")
        else:
            out.append(f"<code>{html.escape(code)}</code>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def to_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML5 page: inline CSS, images as data URIs, no external reference of any kind."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline_html(cell)}</th>" for cell in block.header)
            opening = ['<td class="num">' if block.is_numeric(j) else "<td>" for j in range(len(block.header))]
            rows = "\n".join("<tr>" + "".join(f"{opening[j]}{_inline_html(cell)}</td>" for j, cell in enumerate(row))
                             + "</tr>" for row in block.rows)
            body.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>")
        else:
            data = base64.b64encode(block.png).decode("ascii")
            body.append(f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
