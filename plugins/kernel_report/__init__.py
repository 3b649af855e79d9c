"""The report writer: report.md and report.html for every run, built from the run directory alone."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_report.blocks import Image, Section, Table
    from kernel_report.build import Report, build_report, write_report
    from kernel_report.summary import find_runs, summarize

__all__ = ["Image", "Report", "Section", "Table", "build_report", "find_runs", "summarize", "write_report"]

# Imported when first used: loading the plugin must not import what its steps need.
_LAZY = {
    "Image": "kernel_report.blocks",
    "Section": "kernel_report.blocks",
    "Table": "kernel_report.blocks",
    "Report": "kernel_report.build",
    "build_report": "kernel_report.build",
    "write_report": "kernel_report.build",
    "find_runs": "kernel_report.summary",
    "summarize": "kernel_report.summary",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'kernel_report' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
