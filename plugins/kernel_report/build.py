"""Build the report from a run directory, and write it there.

This is the one code path: the ``after_run`` hook at the end of a run and ``kernel report RUN_DIR``
both call :func:`write_report`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from pydantic import ValidationError

from kernel import atomic_path, write_text_atomic
from kernel_report import quality, sections_data, sections_run
from kernel_report.blocks import Image, Part, Tiles
from kernel_report.extra import plugin_sections
from kernel_report.figures import plain
from kernel_report.files import RunFiles, read_run
from kernel_report.render_html import render_html
from kernel_report.render_md import IMAGE_DIR, image_file, render_markdown
from kernel_report.settings import ReportSettings, parse_settings

LEGEND = (
    "Every figure in this report is read from the files of the run directory. "
    "A dash (—) marks a figure the run did not measure."
)


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    status: str
    lead: tuple[str, ...]
    parts: tuple[Part, ...]
    settings: ReportSettings

    def markdown(self) -> str:
        return render_markdown(self.title, self.lead, self.parts)

    def html(self) -> str:
        return render_html(self.title, self.status, self.lead, self.parts)

    @property
    def images(self) -> list[Image]:
        return [b for part in self.parts for b in part.blocks if isinstance(b, Image)]


def settings_of(files: RunFiles) -> ReportSettings:
    raw = (files.context or {}).get("settings")
    try:
        return parse_settings(raw if isinstance(raw, Mapping) else {})
    except ValidationError:
        return parse_settings({})


def build_report(
    run_dir: str | Path, record: Mapping[str, Any] | None = None, plugin_manager: pluggy.PluginManager | None = None
) -> Report:
    """The report of the run in ``run_dir`` (``record`` stands in for ``run.json``; ``plugin_manager`` is
    the run's, for the sections other plugins add)."""
    files = read_run(run_dir, record)
    settings = settings_of(files)
    charts = settings.charts
    added = plugin_sections(files, plugin_manager)
    # The answer first (how the run ended, the plugins' figures, what needs attention), then the details.
    figures = [p for p in added if not p.details and any(isinstance(b, Tiles) for b in p.blocks)]  # KPIs
    attention = [p for p in added if not p.details and p not in figures]
    answer = (sections_run.status(files), *figures, *attention, quality.data_quality(files))
    details = (
        sections_run.step_table(files, charts),
        sections_run.execution(files),
        sections_run.architecture(files, charts),
        sections_data.lineage(files),
        *[p for p in added if p.details],
        sections_run.business_context(files),
    )
    parts = (*answer, *(dataclasses.replace(p, details=True) for p in details))
    pipeline = plain(files.record.get("pipeline"))
    status = plain(files.record.get("status"))
    lead = (f"Run {plain(files.record.get('run_id'))} of pipeline {pipeline}: {status}.", LEGEND)
    return Report(f"Run report: {pipeline}", status, lead, parts, settings)


def write_report(
    run_dir: str | Path, record: Mapping[str, Any] | None = None, plugin_manager: pluggy.PluginManager | None = None
) -> list[Path]:
    """Build the report and write ``report.md`` (and its charts) and ``report.html``; return the paths."""
    run_dir = Path(run_dir)
    report = build_report(run_dir, record, plugin_manager)
    written: list[Path] = []
    if "md" in report.settings.formats:
        written += _write_images(run_dir, report.images)
        write_text_atomic(run_dir / "report.md", report.markdown())
        written.append(run_dir / "report.md")
    if "html" in report.settings.formats:
        write_text_atomic(run_dir / "report.html", report.html())
        written.append(run_dir / "report.html")
    return written


def _write_images(run_dir: Path, images: list[Image]) -> list[Path]:
    folder = run_dir / IMAGE_DIR
    wanted = {run_dir / image_file(image): image for image in images}
    if folder.is_dir():
        for stale in [*folder.glob("*.png"), *folder.glob("*.svg")]:
            if stale not in wanted:
                stale.unlink()
    for path, image in wanted.items():
        with atomic_path(path) as tmp:
            tmp.write_bytes(image.data)
    return list(wanted)
