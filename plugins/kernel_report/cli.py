"""``kernel report``: rebuild reports from run directories, or summarize many runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from kernel import KernelError, write_text_atomic


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--summary", is_flag=True, help="Write summary.md and summary.html over the runs found in PATHS.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Where --summary writes its files.",
)
def report_command(paths: Sequence[Path], summary: bool, out: Path) -> None:
    """Rebuild report.md and report.html of each run directory in PATHS from its files alone.

    With --summary, PATHS are run directories or directories holding them (at any depth), and
    one summary of all those runs is written instead.
    """
    from kernel_report.build import write_report  # here: listing commands must not import what reports need
    from kernel_report.summary import find_runs, summarize

    try:
        if summary:
            markdown, html = summarize(find_runs(paths))
            for name, text in (("summary.md", markdown), ("summary.html", html)):
                write_text_atomic(out / name, text)
                click.echo(f"wrote {out / name}")
            return
        for path in paths:
            for written in write_report(path):
                click.echo(f"wrote {written}")
    except KernelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
