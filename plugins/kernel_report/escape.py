"""Escaping and clipping: every value from data or files goes through here before it is shown.

Markdown: control characters and newlines become spaces, the characters that start Markdown
syntax, HTML or math (backslash, backtick, ``*``, ``_``, brackets, ``<``, ``>``, ``|``, ``#``, ``~``,
``&`` for entities, ``$`` for the ``$math$`` that GitHub and others render) are backslash-escaped,
and long values are clipped with a note. HTML escaping is MarkupSafe's ``escape`` as
the page is written (render_html); this module only clips and formats for it.
"""

from __future__ import annotations

import re

from kernel_report.blocks import Cell

DASH = "—"  # shown where the run did not measure a figure
CELL_LIMIT = 300
TEXT_LIMIT = 3000

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&$])")
_BLOCK_START = re.compile(r"^(\d*)([-+=.)])")


def clip(text: str, limit: int) -> str:
    """``text`` itself, or its first ``limit`` characters, an ellipsis and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (truncated: {len(text)} characters)"


def one_line(text: str) -> str:
    return _CONTROL.sub(" ", text)


def show(cell: Cell) -> str:
    """How a cell reads: a dash for a figure not measured, numbers as they are."""
    if cell is None:
        return DASH
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float):
        return repr(cell)  # the shortest text that reads back as the same number
    return str(cell)


def md(value: Cell, limit: int = CELL_LIMIT) -> str:
    """A value as inert inline Markdown: one line, clipped, its syntax characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clip(one_line(show(value)), limit))


def md_paragraph(text: str) -> str:
    """A paragraph that cannot turn into a list, quote or heading however it starts."""
    escaped = md(text.lstrip(), TEXT_LIMIT)
    return _BLOCK_START.sub(r"\1\\\2", escaped, count=1)


def fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``, so it cannot be closed early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def html_value(value: Cell, limit: int = CELL_LIMIT) -> str:
    """A value clipped for HTML (escaped when the page is written)."""
    return clip(show(value), limit)
