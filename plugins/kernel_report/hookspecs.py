"""The hook the report writer offers to other plugins (added through ``add_hookspecs``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kernel import hookspec


@hookspec
def report_sections(run_dir: Path, record: dict[str, Any]) -> Iterable[Mapping[str, Any] | Any] | None:
    """Return extra sections for the report of the run in ``run_dir``.

    Called each time a report is built: at the end of a run (``pipeline_complete`` or
    ``pipeline_error``) and by ``kernel report RUN_DIR``, for the installed plugins that took part
    in the run (``record["plugins"]``). ``record`` is the run record as in ``run.json``. Read every
    figure from files in ``run_dir`` (a rebuilt report has nothing else), and leave out a figure
    the run did not measure.

    Each item is a mapping (or a ``kernel_report.Section``) with ``title`` and any of ``text`` (paragraphs),
    ``tables`` (``{header: [...], rows: [[...]], caption}``), ``images`` (PNG bytes, ``{png, alt}`` or ``{svg,
    alt}`` with SVG text), ``tiles`` (``{label, value, note}``: headline figures) — all escaped by the report
    writer —, ``details`` (true: the section goes with the details, folded in HTML) and ``markdown`` / ``html``,
    inserted as they are (escape your own values). Sections come after the report's Status section: those with
    tiles first, then the others, then the report's Data quality; sections marked ``details`` with the details;
    each group in the order pluggy calls the plugins. An implementation that raises or returns something else
    becomes a section naming the plugin and the error. Mark implementations ``@hookimpl(optionalhook=True)`` so
    the kernel starts when the report writer is disabled.
    Default: none.
    """
