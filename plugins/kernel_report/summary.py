"""A summary across many runs: one row per run, and totals (``kernel report --summary``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kernel import KernelError
from kernel_report import charts
from kernel_report.blocks import Block, Cell, Image, Part, Table, Text
from kernel_report.dag import step_graph
from kernel_report.figures import plain, rows_total, seconds
from kernel_report.files import RunFiles, as_dict, read_run
from kernel_report.render_html import render_html
from kernel_report.render_md import render_markdown

HEADER = (
    "pipeline",
    "run id",
    "status",
    "steps",
    "steps succeeded",
    "wall time (s)",
    "steps failed",
    "steps blocked",
    "rows in (final steps)",
    "rows out (final steps)",
)
NOTE = (
    "Final steps are those no other step reads from. Totals add the runs that measured a figure; "
    "a dash (—) in a run's row is a figure that run did not measure, and is not counted."
)


@dataclass(frozen=True, slots=True)
class RunRow:
    pipeline: str
    run_id: str
    status: str
    steps: int
    succeeded: int
    wall_s: float | None
    failed: int
    blocked: int
    rows_in: int | None
    rows_out: int | None

    def cells(self) -> tuple[Cell, ...]:
        return (
            self.pipeline,
            self.run_id,
            self.status,
            self.steps,
            self.succeeded,
            self.wall_s,
            self.failed,
            self.blocked,
            self.rows_in,
            self.rows_out,
        )


def run_row(files: RunFiles) -> RunRow:
    record = files.record
    steps = {str(k): as_dict(v) for k, v in as_dict(record.get("steps")).items()}
    graph = step_graph(files)
    finals = [steps[name] for name in graph.sinks if name in steps]
    return RunRow(
        pipeline=plain(record.get("pipeline")),
        run_id=plain(record.get("run_id")),
        status=plain(record.get("status")),
        steps=len(steps),
        succeeded=sum(1 for s in steps.values() if s.get("status") == "succeeded"),
        wall_s=seconds(record.get("duration_s")),
        failed=sum(1 for s in steps.values() if s.get("status") == "failed"),
        blocked=sum(1 for s in steps.values() if s.get("status") == "blocked"),
        rows_in=_sum(rows_total(s.get("rows_in")) for s in finals),
        rows_out=_sum(rows_total(s.get("rows_out")) for s in finals),
    )


def _sum(values: Iterable[int | float | None]) -> int | None:
    known = [v for v in values if v is not None]
    return int(sum(known)) if known else None


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run directories: each path is one (it has ``run.json``) or holds some, at any depth."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / "run.json").is_file():
            found.append(path)
        elif path.is_dir():
            runs = sorted(p.parent for p in path.rglob("run.json"))
            if not runs:
                raise KernelError("no run directory (no run.json) in this directory", file=path)
            found += runs
        else:
            raise KernelError("no such directory", file=path)
    return list(dict.fromkeys(found))


def summarize(run_dirs: Iterable[str | Path]) -> tuple[str, str]:
    """The summary of the runs in ``run_dirs``, as Markdown and as self-contained HTML."""
    rows = sorted((run_row(read_run(d)) for d in run_dirs), key=lambda r: (r.run_id, r.pipeline))
    if not rows:
        raise KernelError("no runs to summarize")
    statuses = Counter(r.status for r in rows)
    wall = [r.wall_s for r in rows if r.wall_s is not None]
    total: tuple[Cell, ...] = (
        "total",
        f"{len(rows)} runs",
        ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        sum(r.steps for r in rows),
        sum(r.succeeded for r in rows),
        round(sum(wall), 3) if wall else None,
        sum(r.failed for r in rows),
        sum(r.blocked for r in rows),
        _sum(r.rows_in for r in rows),
        _sum(r.rows_out for r in rows),
    )
    table = Table(HEADER, (*(r.cells() for r in rows), total))
    text = f"{len(rows)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + "."
    blocks: list[Block] = [table, Text(NOTE)]
    title = "Summary of runs"
    markdown = render_markdown(title, (text,), (Part("Runs", tuple(blocks)),))
    timed = [r for r in rows if r.wall_s is not None][-charts.MAX_BARS :]
    if timed:
        svg = charts.bars(
            [f"{r.pipeline} {r.run_id}" for r in timed],
            {"seconds": [r.wall_s or 0.0 for r in timed]},
            "seconds",
            "Wall time per run",
        )
        blocks.append(Image.svg(svg, "Wall time per run, in seconds", "summary-wall-time"))
    counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    html = render_html(title, counts, (text,), (Part("Runs", tuple(blocks)),))
    return markdown, html
