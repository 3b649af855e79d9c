"""The report writer: report.md and report.html for every run, built from the run directory alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_report.blocks import Image, Section, Table
    from kernel_report.build import Report, build_report, write_report
    from kernel_report.summary import find_runs, summarize

__all__ = ["Image", "Report", "Section", "Table", "build_report", "find_runs", "summarize", "write_report"]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "Image": "kernel_report.blocks",
    "Section": "kernel_report.blocks",
    "Table": "kernel_report.blocks",
    "Report": "kernel_report.build",
    "build_report": "kernel_report.build",
    "write_report": "kernel_report.build",
    "find_runs": "kernel_report.summary",
    "summarize": "kernel_report.summary",
})
