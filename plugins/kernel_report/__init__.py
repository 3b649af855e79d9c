"""The report writer: report.md and report.html for every run, built from the run directory alone."""

from __future__ import annotations

from kernel_report.blocks import Image, Section, Table
from kernel_report.build import Report, build_report, write_report
from kernel_report.summary import find_runs, summarize

__all__ = ["Image", "Report", "Section", "Table", "build_report", "find_runs", "summarize", "write_report"]
