"""The ``validator`` plugin: checks declared on step outputs, quarantine, and a quality gate.

A pipeline step declares ``checks:``; :mod:`kernel_validator.plugin` validates them with the plan, runs
them after the step (``after_step_run``), moves failing rows to a quarantine table when asked, blocks
the step on an error-severity failure, and writes ``validation.json``. Other plugins add check types
through the ``register_checks`` hook with a :class:`CheckType`. See ``docs/validator.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_validator.checktype import CheckType, FrameResult
    from kernel_validator.results import CheckResult

__all__ = ["CheckResult", "CheckType", "FrameResult"]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "CheckType": "kernel_validator.checktype",
    "FrameResult": "kernel_validator.checktype",
    "CheckResult": "kernel_validator.results",
})
