"""HTML building blocks of the report page: tiles, sections, tables.

Every `str` is text: a service, feature, plan or tenant name from the exports, escaped where
it is placed. HTML this package builds itself is a `Markup`, a type of its own, so a string
can never pass for markup (whatever it starts with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Markup:
    """HTML or SVG built by this package, any text in it already escaped."""

    html: str

    def __add__(self, other: Markup) -> Markup:
        return Markup(self.html + other.html)


def html(value: str | Markup) -> str:
    """The last moment: text is escaped, markup is kept."""
    return value.html if isinstance(value, Markup) else escape(value)


def join(parts: Iterable[str | Markup], sep: str = "") -> Markup:
    return Markup(sep.join(html(p) for p in parts))


def element(tag: str, content: str | Markup, cls: str = "") -> Markup:
    attrs = f' class="{escape(cls)}"' if cls else ""
    return Markup(f"<{tag}{attrs}>{html(content)}</{tag}>")


@dataclass(frozen=True)
class Cell:
    """A table cell with a class (e.g. a chart beside the numbers); a plain `str` cell is
    text in an unstyled one."""

    content: str | Markup
    cls: str = ""


def tile(key: str, value: str) -> Markup:
    return element("div", element("div", key, "k") + element("div", value, "v"), "tile")


def section(title: str, note: str | Markup, body: Markup | None = None,
            wide: bool = False) -> Markup:
    parts = [element("h2", title)]
    if note:
        parts.append(element("p", note, "note"))
    if body is not None:
        parts.append(body)
    return element("section", join(parts), "wide" if wide else "")


def table(header: Sequence[str], rows: Sequence[Sequence[str | Cell]], cls: str = "") -> Markup:
    head = join(element("th", h) for h in header)
    body = join(element("tr", join(
        element("td", c.content, c.cls) if isinstance(c, Cell) else element("td", c)
        for c in row)) for row in rows)
    return Markup(f'<table class="{escape(cls)}"><thead><tr>{head.html}</tr></thead>'
                  f"<tbody>{body.html}</tbody></table>")
