"""The stream's report: what its ledger says, as ``report.md`` and ``report.json`` in its state directory.

Every figure is read from ``ledger.jsonl`` (and ``alerts.jsonl``): batches, files, records, rows per sink
output, rejected files with their reasons, alerts, latency (a file landed -> its outputs in the sink) and
batch run time percentiles, and the period runs. Written when a stream stops, and by
``kernel stream ... --report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kernel import write_text_atomic
from kernel_stream.ledger import Ledger


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(state: Path) -> dict[str, Any]:
    entries = Ledger.open(state).entries
    done = [e for e in entries if e.get("event") == "done"]
    files = [e for e in done if e.get("file")]
    rejected = [e for e in entries if e.get("event") == "rejected"]
    started = {int(e["seq"]) for e in entries if e.get("event") == "start"}
    finished = {int(e["seq"]) for e in done + rejected}
    rows: dict[str, int] = {}
    for entry in done:
        for name, n in (entry.get("rows") or {}).items():
            rows[name] = rows.get(name, 0) + int(n)
    latency = [float(e["latency_s"]) for e in files if e.get("latency_s") is not None]
    seconds = [float(e["seconds"]) for e in done if e.get("seconds") is not None]
    alerts = state / "alerts.jsonl"
    periods = [e for e in entries if e.get("event") == "period"]
    return {
        "batches": len(done),
        "files": len(files),
        "records": sum(int(e.get("records") or 0) for e in files),
        "rejected": [{"file": e.get("file"), "reason": e.get("reason"), "moved_to": e.get("moved_to")}
                     for e in rejected],
        "unfinished": sorted(started - finished),
        "rows": rows,
        "alerts": len(alerts.read_text(encoding="utf-8").splitlines()) if alerts.exists() else 0,
        "latency_s": {"p50": _percentile(latency, 0.5), "p95": _percentile(latency, 0.95),
                      "p99": _percentile(latency, 0.99), "max": max(latency, default=None)},
        "batch_run_s": {"p50": _percentile(seconds, 0.5), "p99": _percentile(seconds, 0.99),
                        "total": round(sum(seconds), 6)},
        "first": entries[0].get("at") if entries else None,
        "last": entries[-1].get("at") if entries else None,
        "ended": any(e.get("final") for e in done),
        "periods": [{"at": e.get("at"), "ok": e.get("ok"), "error": e.get("error"), "run_id": e.get("run_id")}
                    for e in periods],
    }


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def render(summary: dict[str, Any], state: Path) -> str:
    lines = [f"# Stream report: {state}", "",
             f"From {summary['first'] or '-'} to {summary['last'] or '-'}; every figure from `ledger.jsonl`"
             f" and `alerts.jsonl`.{' The stream was ended (--final).' if summary['ended'] else ''}", "",
             "| figure | value |", "|---|---|",
             f"| batches | {summary['batches']:,} |", f"| files | {summary['files']:,} |",
             f"| records read | {summary['records']:,} |", f"| files rejected | {len(summary['rejected']):,} |",
             f"| alerts | {summary['alerts']:,} |"]
    lines += [f"| rows to `{name}` | {n:,} |" for name, n in summary["rows"].items()]
    lat, run = summary["latency_s"], summary["batch_run_s"]
    lines += ["", "| latency (file landed to its outputs in the sink) | value |", "|---|---|",
              f"| p50 | {_s(lat['p50'])} |", f"| p95 | {_s(lat['p95'])} |", f"| p99 | {_s(lat['p99'])} |",
              f"| max | {_s(lat['max'])} |", f"| batch run p50 | {_s(run['p50'])} |",
              f"| batch run p99 | {_s(run['p99'])} |"]
    if summary["unfinished"]:
        lines += ["", f"Started and not finished (the next start runs it again): batch "
                  f"{', '.join(str(s) for s in summary['unfinished'])}."]
    if summary["rejected"]:
        lines += ["", "| rejected file | reason |", "|---|---|"]
        lines += [f"| {r['file']} | {r['reason']} |" for r in summary["rejected"]]
    if summary["periods"]:
        lines += ["", "| period run | at | result |", "|---|---|---|"]
        lines += [f"| {p['run_id']} | {p['at']} | {'ok' if p['ok'] else p['error']} |" for p in summary["periods"]]
    return "\n".join(lines) + "\n"


def write_report(state: Path) -> Path:
    summary = summarize(state)
    write_text_atomic(state / "report.json", json.dumps(summary, indent=2) + "\n")
    path = state / "report.md"
    write_text_atomic(path, render(summary, state))
    return path
