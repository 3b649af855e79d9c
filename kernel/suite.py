"""A suite of showcase runs and its summary: one line per run, every figure read from the run's own record
(``run.json``) and what plugins say of it (``summary_facts``); failed runs first."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.atomic import write_text_atomic

SUCCEEDED = "succeeded"


@dataclass(frozen=True, slots=True)
class SuiteLine:
    """One showcase's run, as its record tells it (``status`` "error" with no record: it never started)."""

    showcase: str
    status: str
    wall_s: float | None = None
    steps: int = 0
    steps_ok: int = 0
    rows_in: int = 0
    rows_out: int = 0
    cache_hits: int = 0
    report: str | None = None
    run_dir: str | None = None
    error: str | None = None
    facts: Mapping[str, int | float | str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED


def line_from_record(showcase: str, record: Mapping[str, Any], facts: Mapping[str, int | float | str]) -> SuiteLine:
    """A summary line from a run's ``run.json``: rows in are what its first steps (no inputs) gave, rows out
    what its last steps (nothing downstream reads them) were given."""
    steps: Mapping[str, Mapping[str, Any]] = record.get("steps") or {}
    read_from = {ref.split(".")[0] for step in steps.values() for ref in (step.get("needs") or {}).values()}
    rows_in = sum(sum((s.get("rows_out") or {}).values()) for s in steps.values() if not s.get("needs"))
    rows_out = sum(sum((s.get("rows_in") or {}).values()) for name, s in steps.items() if name not in read_from)
    artifacts: Mapping[str, str] = record.get("artifacts") or {}
    return SuiteLine(
        showcase=showcase,
        status=str(record.get("status")),
        wall_s=record.get("duration_s"),
        steps=len(steps),
        steps_ok=sum(1 for s in steps.values() if s.get("status") == SUCCEEDED),
        rows_in=rows_in,
        rows_out=rows_out,
        cache_hits=sum(1 for s in steps.values() if s.get("cache") == "hit"),
        report=artifacts.get("report (html)") or artifacts.get("report (md)"),
        run_dir=record.get("run_dir"),
        error=record.get("error"),
        facts=dict(facts),
    )


def ordered(lines: Sequence[SuiteLine]) -> list[SuiteLine]:
    """Failed runs first (in suite order), then the others (in suite order)."""
    return [line for line in lines if not line.ok] + [line for line in lines if line.ok]


def _fact_names(lines: Sequence[SuiteLine]) -> list[str]:
    names: list[str] = []
    for line in lines:
        names.extend(name for name in line.facts if name not in names)
    return names


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _wall(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def table(lines: Sequence[SuiteLine], base: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """The summary's header, rows (failed first) and totals, as text."""
    facts = _fact_names(lines)
    header = ["showcase", "status", "wall", "steps", "rows in", "rows out", "cache hits", *facts, "report"]
    rows = []
    for line in ordered(lines):
        report = os.path.relpath(line.report, base) if line.report else ""
        rows.append([line.showcase, line.status if line.ok else f"{line.status}: {line.error or ''}".strip(),
                     _wall(line.wall_s), f"{line.steps_ok}/{line.steps}", _number(line.rows_in),
                     _number(line.rows_out), _number(line.cache_hits),
                     *(_number(line.facts[name]) if name in line.facts else "" for name in facts), report])
    passed = sum(1 for line in lines if line.ok)
    walls = [line.wall_s for line in lines if line.wall_s is not None]
    totals = [f"{passed} of {len(lines)} succeeded", "", _wall(sum(walls)) if walls else "",
              f"{sum(x.steps_ok for x in lines)}/{sum(x.steps for x in lines)}",
              _number(sum(x.rows_in for x in lines)), _number(sum(x.rows_out for x in lines)),
              _number(sum(x.cache_hits for x in lines))]
    for name in facts:
        values = [line.facts[name] for line in lines if name in line.facts]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        totals.append(_number(sum(v for v in values if not isinstance(v, str))) if numeric and values else "")
    totals.append("")
    return header, rows, totals


def markdown(lines: Sequence[SuiteLine], base: Path, wall_s: float) -> str:
    header, rows, totals = table(lines, base)
    failed = sum(1 for line in lines if not line.ok)
    out = ["# Showcase suite", "",
           f"{_count(len(lines), 'showcase')}: {len(lines) - failed} succeeded, {failed} failed; the suite took "
           f"{wall_s:.1f} s. Every figure is read from the run's own record (run.json) and what its plugins "
           "wrote; failed runs first.", "",
           "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in row]
        if cells[-1]:
            cells[-1] = f"[report]({cells[-1]})"
        out.append("| " + " | ".join(cells) + " |")
    out.append("| " + " | ".join(f"**{c}**" if c else "" for c in totals) + " |")
    return "\n".join(out) + "\n"


def page(lines: Sequence[SuiteLine], base: Path, wall_s: float) -> str:
    header, rows, totals = table(lines, base)
    failed = sum(1 for line in lines if not line.ok)
    e = html.escape
    body = ["<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>"]
    for row, line in zip(rows, ordered(lines), strict=True):
        cells = [f"<td>{e(c)}</td>" for c in row[:-1]]
        cells.append(f'<td><a href="{e(row[-1])}">report</a></td>' if row[-1] else "<td></td>")
        body.append(f'<tr class="{"ok" if line.ok else "failed"}">' + "".join(cells) + "</tr>")
    body.append('<tr class="totals">' + "".join(f"<td>{e(c)}</td>" for c in totals) + "</tr>")
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Showcase suite</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3rem .6rem;white-space:nowrap}td{text-align:right}"
        "td:first-child,td:nth-child(2){text-align:left}tr.failed td{background:#fde8e8}"
        "tr.totals td{font-weight:bold}div.scroll{overflow-x:auto}</style></head><body>"
        f"<h1>Showcase suite</h1><p>{_count(len(lines), 'showcase')}: {len(lines) - failed} succeeded, "
        f"{failed} failed; "
        f"the suite took {wall_s:.1f} s. Every figure is read from the run's own record and what its plugins "
        "wrote; failed runs first.</p><div class=\"scroll\"><table>" + "".join(body) + "</table></div></body></html>\n"
    )


def write_summary(lines: Sequence[SuiteLine], directory: Path, wall_s: float) -> tuple[Path, Path]:
    """``summary.md``, ``summary.html`` and ``summary.json`` in ``directory``, each written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory.resolve()
    md, page_path = directory / "summary.md", directory / "summary.html"
    write_text_atomic(md, markdown(lines, base, wall_s))
    write_text_atomic(page_path, page(lines, base, wall_s))
    data = {"schema_version": 1, "wall_s": wall_s,
            "showcases": [{**{k: getattr(line, k) for k in SuiteLine.__slots__}, "facts": dict(line.facts)}
                          for line in ordered(lines)]}
    write_text_atomic(directory / "summary.json", json.dumps(data, indent=1, default=str) + "\n")
    return md, page_path
