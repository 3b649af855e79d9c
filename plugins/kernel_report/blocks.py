"""The report's document model: a report is a list of parts, each a title and blocks.

The built-in sections and the sections other plugins add are rendered by the same two renderers
(Markdown and HTML), so a value is escaped the same way wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Cell = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph of plain text; escaped in both formats."""

    text: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table; every cell is escaped and clipped. ``None`` shows as a dash: not measured."""

    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Tiles:
    """Headline figures, each a label, a value and an optional note: tiles in HTML, a table in Markdown."""

    items: tuple[tuple[str, Cell, str], ...]


@dataclass(frozen=True, slots=True)
class Code:
    """Preformatted text (the Mermaid source of the DAG): a fenced block, a ``<pre>`` in HTML (folded under
    ``summary`` when one is given)."""

    text: str
    lang: str = ""
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Image:
    """A chart, PNG or SVG bytes: a data: URI in HTML, a file under ``report-images/`` linked from Markdown."""

    data: bytes
    alt: str
    name: str = "chart"
    format: Literal["png", "svg"] = "png"

    @classmethod
    def svg(cls, text: str, alt: str, name: str = "chart") -> Image:
        return cls(text.encode("utf-8"), alt, name, "svg")


@dataclass(frozen=True, slots=True)
class Raw:
    """Markdown and HTML a plugin wrote itself (trusted: the plugin escapes its own values)."""

    markdown: str = ""
    html: str | None = None


Block = Text | Table | Tiles | Code | Image | Raw


@dataclass(frozen=True, slots=True)
class Part:
    """One section of the report, as rendered."""

    title: str
    blocks: tuple[Block, ...]
    source: str = "report"  # the plugin that wrote it
    details: bool = False  # detail after the answer: folded in HTML


@dataclass(frozen=True, slots=True)
class Section:
    """A section a plugin adds through ``report_sections`` (a mapping with these keys works too).

    ``text``, ``tables`` and ``images`` are escaped by the report writer; ``markdown`` and ``html``
    are inserted as they are, so a plugin that uses them escapes its own values. Without ``html``,
    the HTML report shows ``markdown`` as preformatted text.
    """

    title: str
    markdown: str = ""
    html: str | None = None
    images: Sequence[Image | bytes] = ()
    tables: Sequence[Table] = ()
    text: Sequence[str] = ()
    tiles: Sequence[tuple[str, Cell, str]] = ()
    details: bool = False

    def part(self, source: str, index: int) -> Part:
        blocks: list[Block] = [Tiles(tuple(self.tiles))] if self.tiles else []
        blocks += [Text(str(t)) for t in self.text]
        blocks += list(self.tables)
        for n, image in enumerate(self.images, start=1):
            blocks.append(image if isinstance(image, Image) else Image(image, self.title, f"chart-{n}"))
        if self.markdown or self.html:
            blocks.append(Raw(self.markdown, self.html))
        # Image names become file names: make them unique per plugin section.
        named = [
            Image(b.data, b.alt, f"{_slug(source)}-{index}-{n}-{_slug(b.name)}", b.format) if isinstance(b, Image)
            else b
            for n, b in enumerate(blocks, start=1)
        ]
        return Part(str(self.title), tuple(named), source, self.details)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())[:40].strip("-") or "x"


def as_section(item: object) -> Section:
    """A :class:`Section` from a Section or a mapping; ``TypeError``/``ValueError`` say what is wrong."""
    if isinstance(item, Section):
        return item
    if not isinstance(item, Mapping):
        raise TypeError(f"a section is a Section or a mapping, not {type(item).__name__}")
    known = {"title", "markdown", "html", "images", "tables", "text", "tiles", "details"}
    unknown = sorted(set(item) - known)
    if unknown:
        raise ValueError(f"unknown section field '{unknown[0]}' (fields: {', '.join(sorted(known))})")
    if not isinstance(item.get("title"), str):
        raise ValueError("a section needs a 'title' string")
    text = item.get("text", ())
    return Section(
        title=item["title"],
        markdown=str(item.get("markdown", "")),
        html=None if item.get("html") is None else str(item["html"]),
        images=tuple(_image(i) for i in item.get("images", ())),
        tables=tuple(_table(t) for t in item.get("tables", ())),
        text=(text,) if isinstance(text, str) else tuple(str(t) for t in text),
        tiles=tuple(_tile(t) for t in item.get("tiles", ())),
        details=bool(item.get("details", False)),
    )


def _tile(item: Any) -> tuple[str, Cell, str]:
    if isinstance(item, Mapping) and isinstance(item.get("label"), str):
        value = item.get("value")
        return item["label"], value if isinstance(value, str | int | float | bool) else None, str(item.get("note", ""))
    raise ValueError("a tile is a mapping {label: str, value: str or number, note: str}")


def _image(item: Any) -> Image:
    if isinstance(item, Image):
        return item
    if isinstance(item, bytes):
        return Image(item, "chart")
    if isinstance(item, Mapping) and isinstance(item.get("png"), bytes):
        return Image(item["png"], str(item.get("alt", "chart")), str(item.get("name", "chart")))
    if isinstance(item, Mapping) and isinstance(item.get("svg"), str):
        return Image.svg(item["svg"], str(item.get("alt", "chart")), str(item.get("name", "chart")))
    raise ValueError("an image is PNG bytes or a mapping {png: bytes, alt: str} or {svg: str, alt: str}")


def _table(item: Any) -> Table:
    if isinstance(item, Table):
        return item
    if isinstance(item, Mapping) and "header" in item and "rows" in item:
        header = tuple(str(h) for h in item["header"])
        rows = tuple(tuple(_cell(c) for c in row) for row in item["rows"])
        return Table(header, rows, str(item.get("caption", "")))
    raise ValueError("a table is a mapping {header: [...], rows: [[...], ...]}")


def _cell(value: Any) -> Cell:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
