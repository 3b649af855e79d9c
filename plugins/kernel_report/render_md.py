"""The Markdown renderer: every value is escaped with :mod:`kernel_report.escape`."""

from __future__ import annotations

from collections.abc import Sequence

from kernel_report.blocks import Block, Code, Image, Part, Raw, Table, Text, Tiles
from kernel_report.escape import fence, md, md_paragraph

IMAGE_DIR = "report-images"


def image_file(image: Image) -> str:
    return f"{IMAGE_DIR}/{image.name}.{image.format}"


def render_markdown(title: str, lead: Sequence[str], parts: Sequence[Part]) -> str:
    out = [f"# {md(title)}", ""]
    for line in lead:
        out += [md_paragraph(line), ""]
    for part in parts:
        out += [f"## {md(part.title)}", ""]
        for block in part.blocks:
            out += [*_block(block), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _block(block: Block) -> list[str]:
    if isinstance(block, Text):
        return [md_paragraph(block.text)]
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Tiles):
        notes = any(note for _, _, note in block.items)
        header = ("figure", "value", "note") if notes else ("figure", "value")
        rows = tuple((label, value, note) if notes else (label, value) for label, value, note in block.items)
        return _table(Table(header, rows))
    if isinstance(block, Code):
        marks = fence(block.text)
        return [f"{marks}{block.lang}", block.text.rstrip("\n"), marks]
    if isinstance(block, Image):
        return [f"![{md(block.alt)}]({image_file(block)})"]
    if isinstance(block, Raw):
        return [block.markdown.rstrip("\n")] if block.markdown else []
    raise TypeError(f"unknown block {block!r}")


def _table(table: Table) -> list[str]:
    lines = [md_paragraph(table.caption), ""] if table.caption else []
    lines.append("| " + " | ".join(md(h) for h in table.header) + " |")
    lines.append("|" + "|".join("---" for _ in table.header) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(md(cell) for cell in row) + " |")
    return lines
