"""Schema diffs: how a step's output differs in columns from the input it is compared with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def schema_diff(against: str | None, before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
    """Columns ``added``, ``removed`` and ``retyped`` ([old, new] dtype) from ``before`` to ``after``."""
    if before == after:  # the common case, compared without a loop in Python
        return unchanged(against)
    return {
        "against": against,
        "added": {name: dtype for name, dtype in after.items() if name not in before},
        "removed": {name: dtype for name, dtype in before.items() if name not in after},
        "retyped": {
            name: [before[name], dtype] for name, dtype in after.items() if name in before and before[name] != dtype
        },
    }


def unchanged(against: str | None) -> dict[str, Any]:
    """The diff of a schema that did not change."""
    return {"against": against, "added": {}, "removed": {}, "retyped": {}}


def baseline(output: str, inputs: Mapping[str, Any]) -> str | None:
    """The input an output is compared with: the one of the same name, else the first by name; None for a source."""
    if output in inputs:
        return output
    return min(inputs) if inputs else None
