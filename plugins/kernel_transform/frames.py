"""Small checks every transform step makes of its inputs, with errors that name the setting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError, Inputs, StepSettingsError


def only_input(inputs: Inputs, step_type: str) -> pd.DataFrame:
    """The step's one input."""
    if len(inputs) != 1:
        names = ", ".join(inputs) or "none"
        raise StepSettingsError(f"{step_type} takes exactly one input, got {len(inputs)} ({names})", field="needs")
    (frame,) = inputs.values()
    return frame


def named_input(inputs: Inputs, name: str, step_type: str) -> pd.DataFrame:
    try:
        return inputs[name]
    except KeyError:
        got = ", ".join(inputs) or "none"
        raise StepSettingsError(f"{step_type} needs an input named '{name}' (got {got}): "
                                f"write needs: {{{name}: STEP}}", field="needs") from None


def missing_columns(frame: pd.DataFrame, names: Iterable[str], field: str, what: str = "the input") -> None:
    """Refuse a column name ``frame`` lacks, suggesting the closest one."""
    for name in names:
        if name not in frame.columns:
            raise DataError(f"{what} has no column '{name}'{_closest(name, frame.columns)}", field=field)


def _closest(name: str, columns: Iterable[object]) -> str:
    import difflib

    found = difflib.get_close_matches(name, [str(c) for c in columns], n=1)
    return f": did you mean '{found[0]}'?" if found else ""


def reset(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows numbered 0..n-1, as every step output is."""
    return frame.reset_index(drop=True)


def describe_key(frame: pd.DataFrame, keys: list[str], rows: np.ndarray[Any, np.dtype[np.bool_]]) -> str:
    """The key of the first of ``rows``, as a user writes it: ``(id=3, region='n')``."""
    first = frame[keys].iloc[int(np.flatnonzero(rows)[0])]
    parts = []
    for name in keys:
        value = first[name]
        if pd.isna(value):
            parts.append(f"{name}=null")
        else:
            value = value.item() if isinstance(value, np.generic) else value  # 3, not np.int64(3)
            parts.append(f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}")
    return "(" + ", ".join(parts) + ")"
