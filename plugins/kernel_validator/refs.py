"""References to other steps' outputs in checks: ``step``, ``step.output``, and reconciliation terms.

A term of a reconciliation is ``STEP.OUTPUT`` (its row count), ``STEP.OUTPUT:COLUMN`` (the sum of a
column) or ``quarantine/STEP.OUTPUT`` (the rows the validator moved out of that output). ``STEP``
alone stands for the step's only output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_STEP = r"[A-Za-z_][A-Za-z0-9_\-]*"
_OUTPUT = r"[A-Za-z0-9_\-]+"
_REF = re.compile(rf"^(?P<step>{_STEP})(?:\.(?P<output>{_OUTPUT}))?$")
QUARANTINE_PREFIX = "quarantine/"


@dataclass(frozen=True, slots=True)
class Ref:
    """One output of one step, and what is taken from it: rows, a column's sum, or quarantined rows."""

    step: str
    output: str | None = None
    column: str | None = None
    quarantined: bool = False

    def resolved(self, output: str) -> Ref:
        return replace(self, output=output)

    @property
    def where(self) -> str:
        return f"{self.step}.{self.output}" if self.output else self.step

    def __str__(self) -> str:
        if self.quarantined:
            return QUARANTINE_PREFIX + self.where
        return f"{self.where}:{self.column}" if self.column is not None else self.where


def parse_ref(text: str) -> Ref:
    """``step`` or ``step.output``; raises ValueError with the expected form."""
    match = _REF.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a reference of the form 'step' or 'step.output'")
    return Ref(step=match["step"], output=match["output"])


def parse_term(text: str) -> Ref:
    """A reconciliation term: ``step.output``, ``step.output:column`` or ``quarantine/step.output``."""
    text = text.strip()
    if text.startswith(QUARANTINE_PREFIX):
        return replace(parse_ref(text[len(QUARANTINE_PREFIX) :]), quarantined=True)
    where, colon, column = text.partition(":")
    if colon and not column:
        raise ValueError(f"'{text}' names no column after ':'")
    try:
        ref = parse_ref(where)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a term of the form 'step.output', 'step.output:column' or 'quarantine/step.output'"
        ) from None
    return replace(ref, column=column or None)
