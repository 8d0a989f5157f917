"""HTML building blocks of the report page: tiles, sections, tables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def tile(key: str, value: str) -> str:
    return (f'<div class="tile"><div class="k">{escape(key)}</div>'
            f'<div class="v">{escape(value)}</div></div>')


def section(title: str, note: str, body: str, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f"<section{cls}><h2>{escape(title)}</h2>{note_html}{body}</section>"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """Cells are text, escaped here, or a ready `<td …>` element."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell if cell.startswith("<td") else f"<td>{escape(cell)}</td>"
                                    for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
