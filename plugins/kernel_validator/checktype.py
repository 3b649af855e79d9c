"""What another plugin gives the validator to add a kind of check: a :class:`CheckType`.

A check type is a name (what pipeline files write after ``check:``), a pydantic model of its own
fields, and a function of the output frame and those settings. A row check returns a boolean Series
(True: the row passes, False: it fails, NA: the row is not checked, for example a null value); a
whole-frame check returns a :class:`FrameResult`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

from kernel import load_reference

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CHECKS = "checks"  # the steps' field of the pipeline file this plugin adds
CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

CheckFunction = Callable[["pd.DataFrame", Any], Any]


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The result of a check on a whole frame rather than row by row (``row_count``, ``freshness``).

    ``observed`` holds the figures the check measured (JSON-safe values), ``message`` says in words
    what it saw, ``failing_values`` a few offending values; ``rows_checked`` is the number of rows it
    looked at, when that means something.
    """

    passed: bool
    message: str = ""
    observed: Mapping[str, Any] = field(default_factory=dict)
    failing_values: tuple[Any, ...] = ()
    rows_checked: int | None = None


@dataclass(frozen=True, slots=True)
class RowMask:
    """A row check's outcome as numpy arrays, the fast alternative to a boolean Series.

    ``passed[i]`` is whether row i passes; ``checked[i]`` whether it was checked at all (None: every
    row was). A row that was not checked counts as neither checked nor failed.
    """

    passed: np.ndarray[Any, np.dtype[np.bool_]]
    checked: np.ndarray[Any, np.dtype[np.bool_]] | None = None


@dataclass(frozen=True, slots=True)
class CheckType:
    """A kind of check that pipeline files can declare as ``check: NAME``.

    ``settings`` validates the check's own fields (the common fields ``check``, ``id``, ``output``,
    ``severity``, ``mostly`` and ``on_fail`` belong to the validator and are removed first); give it
    ``model_config = ConfigDict(extra="forbid")`` so a misspelt field is an error when the pipeline is
    planned. A field ``column`` or ``columns`` names the columns whose values are reported as failing
    values. ``func(frame, settings)`` returns, when ``per_row`` (the default), a boolean Series aligned
    with the frame (True: passes, False: fails, NA: not checked) or a :class:`RowMask`; else a
    :class:`FrameResult`. ``reason(settings)`` phrases a failure for people
    ("temperature_c below -40"); it becomes the quarantine reason. ``func`` may be a reference,
    ``"module:function"``, imported where the check first runs: declaring checks then needs no pandas.
    """

    name: str
    settings: type[BaseModel]
    func: CheckFunction | str
    per_row: bool = True
    reason: Callable[[Any], str] | None = None
    description: str = ""

    @property
    def function(self) -> CheckFunction:
        """``func``, imported if it is a reference."""
        if not isinstance(self.func, str):
            return self.func
        return cast(CheckFunction, load_reference(self.func))

    def describe(self, settings: BaseModel) -> str:
        return self.reason(settings) if self.reason is not None else f"failed {self.name}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Shipped to where a step runs without ``reason`` (often a lambda): reasons are phrased where declared.
        return (CheckType, (self.name, self.settings, self.func, self.per_row, None, self.description))


def checked_columns(settings: BaseModel) -> tuple[str, ...]:
    """The columns a check reads, from its ``columns`` or ``column`` field (used for failing values)."""
    fields = type(settings).model_fields
    columns = getattr(settings, "columns", None) if "columns" in fields else None
    if isinstance(columns, list | tuple) and all(isinstance(c, str) for c in columns):
        return tuple(columns)
    column = getattr(settings, "column", None) if "column" in fields else None
    return (column,) if isinstance(column, str) else ()
