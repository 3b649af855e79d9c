"""Small helpers that turn recorded values into table cells, never inventing one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kernel_report.blocks import Cell, Table
from kernel_report.files import as_dict, as_float, as_int


def facts(rows: Sequence[tuple[str, Cell]]) -> Table:
    return Table(("figure", "value"), tuple(rows))


def seconds(value: Any) -> float | None:
    number = as_float(value)
    return None if number is None else round(number, 3)


def rows_text(value: Any) -> str | None:
    """``{"x": 3, "y": 4}`` as ``x=3, y=4``; ``None`` when nothing was counted."""
    counts = {str(k): as_int(v) for k, v in as_dict(value).items()}
    if not counts:
        return None
    return ", ".join(f"{k}={'?' if v is None else v}" for k, v in counts.items())


def rows_total(value: Any) -> int | None:
    counts = [as_int(v) for v in as_dict(value).values()]
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


def plain(value: Any) -> str:
    """Any JSON value as one line of text (strings as they are)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
