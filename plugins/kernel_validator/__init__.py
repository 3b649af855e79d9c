"""The ``validator`` plugin: checks declared on step outputs, quarantine, and a quality gate.

A pipeline step declares ``checks:``; :mod:`kernel_validator.plugin` validates them with the plan, runs
them after the step (``after_step_run``), moves failing rows to a quarantine table when asked, blocks
the step on an error-severity failure, and writes ``validation.json``. Other plugins add check types
through the ``register_checks`` hook with a :class:`CheckType`. See ``docs/validator.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_validator.checktype import CheckType, FrameResult
    from kernel_validator.results import CheckResult

__all__ = ["CheckResult", "CheckType", "FrameResult"]

# Imported when first used: loading the plugin must not import what its steps need.
_LAZY = {
    "CheckType": "kernel_validator.checktype",
    "FrameResult": "kernel_validator.checktype",
    "CheckResult": "kernel_validator.results",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'kernel_validator' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
