"""The IoT showcase's sections of the run report, read from files in the run directory.

``iot-kpis.json`` is written by the publish step. When a gate stops the run before publish, the
figures the steps did measure are read from ``report-outputs.json``, which the report writer writes
from the step outputs as the run goes (docs/report.md): the conform step's and the window step's
``counts``, their quarantine by reason and the late records by reason. A figure of a step that did
not run is left out, never shown as 0.
"""

from __future__ import annotations

import json
import math
from html import escape as _escape
from pathlib import Path
from typing import Any

REPORT_FILE = "iot-kpis.json"
OUTPUTS_FILE = "report-outputs.json"  # the report writer's counts of step outputs
QUARANTINE_TITLE = "Quarantine, late records and conservation"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.2f}%"


def escape(text: str) -> str:
    """``text`` as XML character data (what ``xml.sax.saxutils.escape`` does, without its imports)."""
    return _escape(text, quote=False)


_COLORS = ("#0969da", "#bf8700", "#1a7f37", "#8250df", "#cf222e", "#57606a", "#0a3069", "#953800")
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'


def _chart(title: str, labels: list[str], series: dict[str, list[float | None]], ylabel: str) -> str:
    """A line chart of percentages (0 to 1 drawn as 0 to 100) per label, as SVG text.

    Written directly: matplotlib cost the flagship's report 0.9 s a run (importing it, then drawing two
    charts) for a few lines and labels. A missing value breaks its line. The same data gives the same
    text, and every label is escaped as XML text, so a model's name is drawn as it is.
    """
    left, right, top, bottom = 56.0, 16.0, 34.0, 70.0
    legend = 18.0 * len(series) if len(series) > 1 else 0.0
    width, plot_h = 700.0, 220.0
    height = top + plot_h + bottom + legend
    plot_w = width - left - right
    step = plot_w / max(len(labels), 1)

    def x(i: int) -> float:  # the middle of the label's band: a rotated first label stays inside
        return left + step * (i + 0.5)

    def y(value: float) -> float:
        return top + plot_h * (1 - min(max(value, 0.0), 1.05) / 1.05)

    def text(tx: float, ty: float, body: str, extra: str = "") -> str:
        return f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="12" fill="#1f2328" {extra}>{escape(body)}</text>'

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" {_FONT} role="img"><title>{escape(title)}</title>',
           text(width / 2, 20, title, 'text-anchor="middle" font-weight="bold"')]
    for tick in range(0, 101, 20):
        ty = y(tick / 100)
        out.append(f'<line x1="{left:.1f}" y1="{ty:.1f}" x2="{width - right:.1f}" y2="{ty:.1f}" stroke="#d0d7de"/>')
        out.append(text(left - 6, ty + 4, str(tick), 'text-anchor="end"'))
    middle = top + plot_h / 2
    out.append(text(14, middle, ylabel, f'text-anchor="middle" transform="rotate(-90 14 {middle:.1f})"'))
    for i, label in enumerate(labels):
        lx, ly = x(i), top + plot_h + 14
        out.append(text(lx, ly, label, f'text-anchor="end" transform="rotate(-30 {lx:.1f} {ly:.1f})"'))
    for n, (name, values) in enumerate(series.items()):
        color = _COLORS[n % len(_COLORS)]
        runs: list[list[tuple[float, float]]] = [[]]  # a missing value ends a line
        for i, v in enumerate(values):
            if v is None or not math.isfinite(float(v)):
                runs.append([])
            else:
                runs[-1].append((x(i), y(float(v))))
        out += [f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in r)}" fill="none" '
                f'stroke="{color}" stroke-width="2"/>' for r in runs if len(r) > 1]
        out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>' for r in runs for px, py in r]
        if legend:
            ly = top + plot_h + bottom + 18.0 * n + 4
            out.append(f'<rect x="{left:.1f}" y="{ly:.1f}" width="12" height="12" fill="{color}"/>')
            out.append(text(left + 18, ly + 10, name))
    return "".join(out) + "</svg>\n"


def sections(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    if not any(str(step.get("uses", "")).startswith("iot.") for step in record.get("steps", {}).values()):
        return []  # not a run of this plugin's steps
    path = run_dir / REPORT_FILE
    if not path.is_file():
        return [{"title": "IoT KPIs", "text": [
            "Nothing was published in this run (the publish step did not run), so no KPI is shown."]},
            measured_section(run_dir, record)]
    data = json.loads(path.read_text(encoding="utf-8"))
    k = data["kpis"]
    days = [row["day"][:10] for row in data["uptime_per_day"]]
    headline = [
        ["period", f"{str(k['period_start'])[:10]} to {str(k['period_end'])[:10]}, end excluded"],
        ["fleet uptime (pooled)", _pct(k["fleet_uptime_pooled"])],
        ["fleet uptime (mean of devices)", _pct(k["fleet_uptime_mean_of_devices"])],
        [f"fleet firmware adoption on {str(k['adoption_last_day'])[:10]}", _pct(k["fleet_adoption_last_day"])],
        ["anomalies found", k["anomalies"]],
    ]
    if "anomaly_precision" in k:
        headline += [["anomaly precision", _pct(k["anomaly_precision"])], ["anomaly recall", _pct(k["anomaly_recall"])]]
    uptime_rows = [[r["day"][:10], r["in_service_windows"], r["up_windows"], _pct(r["uptime"])]
                   for r in data["uptime_per_day"]]
    adoption = data["adoption"]
    models = sorted({r["model"] for r in adoption} - {"ALL"})
    adoption_rows = [[r["day"][:10], r["model"], r["target"] or "-", r["active_devices"], r["adopted_devices"],
                      _pct(r["adoption"])] for r in adoption]
    targets = [[m, t or "-", k["firmware_target_sources"].get(m) or "-"] for m, t in k["firmware_targets"].items()]
    quarantine = [[reason, n] for reason, n in k["quarantined"].items()]
    quarantine += [[f"events: {reason}", n] for reason, n in k["quarantined_events"].items()]
    late = [[reason, n] for reason, n in data["late_by_reason"].items()]
    conserved = k["windowed_records"] + k["late"] + k["quarantined_total"] + k["duplicates"]
    equation = (f"telemetry in {k['telemetry_in']} = windowed {k['windowed_records']} + late {k['late']} + "
                f"quarantined {k['quarantined_total']} + duplicates {k['duplicates']} = {conserved}: "
                + ("holds" if conserved == k["telemetry_in"] else "DOES NOT HOLD"))
    adoption_series = {m: [next((r["adoption"] for r in adoption if r["day"][:10] == d and r["model"] == m), None)
                           for d in days] for m in ["ALL", *models]}
    notes: list[str] = []
    try:
        images = [
            {"svg": _chart("Fleet uptime per day", days, {"uptime": [r["uptime"] for r in data["uptime_per_day"]]},
                           "%"), "alt": "fleet uptime per day", "name": "iot-uptime"},
            {"svg": _chart("Firmware adoption per day", days, adoption_series, "%"),
             "alt": "firmware adoption per day and model", "name": "iot-adoption"},
        ]
    except Exception as exc:  # a chart that cannot be drawn must not take the tables with it
        images, notes = [], [f"The charts could not be drawn: {type(exc).__name__}: {exc}"]
    return [
        {"title": "IoT KPIs", "text": notes, "tiles": [{"label": label, "value": value} for label, value in headline],
         "images": images},
        {"title": "Uptime per day", "details": True,
         "tables": [{"header": ["day", "in-service windows", "up windows", "uptime"], "rows": uptime_rows}]},
        {"title": "Firmware adoption per day and model", "details": True, "tables": [
            {"header": ["day", "model", "target", "active devices", "adopted devices", "adoption"],
             "rows": adoption_rows},
            {"header": ["model", "target", "chosen from"], "rows": targets, "caption": "firmware targets"}]},
        {"title": QUARANTINE_TITLE, "text": [equation], "tables": [
            {"header": ["reason", "rows"], "rows": quarantine, "caption": "quarantined by reason"},
            {"header": ["reason", "rows"], "rows": late, "caption": "late records by reason"},
            {"header": ["figure", "value"], "rows": [
                ["silent devices", k["silent_devices"]], ["events for unknown devices", k["unknown_device_events"]],
                ["firmware mismatches (windows)", k["firmware_mismatches"]]], "caption": "reconciliation"}]},
    ]


def _step_using(record: dict[str, Any], uses: str) -> str | None:
    """The first step of the run of step type ``uses``."""
    return next((str(n) for n, s in record.get("steps", {}).items() if s.get("uses") == uses), None)


def _reasons(entry: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    found = entry.get("by_reason") or {}
    rows: list[list[Any]] = [[prefix + ("-" if r["reason"] is None else str(r["reason"])), r["rows"]]
                             for r in found.get("reasons", [])]
    if found.get("other"):
        rows.append([f"{prefix}({found['other']['reasons']} other reasons)", found["other"]["rows"]])
    return rows


def measured_section(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Quarantine, late records and the balance of records as far as the steps that ran measured them."""
    path = run_dir / OUTPUTS_FILE
    if not path.is_file():
        return {"title": QUARANTINE_TITLE, "text": [
            f"{OUTPUTS_FILE} is absent, so the figures the steps measured before the run stopped are not known."]}
    steps = json.loads(path.read_text(encoding="utf-8")).get("steps", {})
    conform_name, window_name = _step_using(record, "iot.conform"), _step_using(record, "window.tumbling")
    conform = steps.get(conform_name, {}).get("outputs", {}) if conform_name else {}
    window = steps.get(window_name, {}).get("outputs", {}) if window_name else {}
    counted = conform.get("counts", {}).get("counts", {})
    windowed = window.get("counts", {}).get("counts", {})
    named = [("telemetry in", counted.get("telemetry_in")), ("duplicates", counted.get("duplicates")),
             ("quarantined (telemetry)", counted.get("quarantined")), ("conformed", counted.get("conformed")),
             ("events in", counted.get("events_in")), ("events quarantined", counted.get("events_quarantined")),
             ("windowed records", windowed.get("aggregated")), ("late", windowed.get("late")),
             ("quarantined by the window step", windowed.get("quarantined"))]
    named.append(("anomalies found", _rows_out(record, "iot.firmware_adoption").get("anomalies")))
    figures = [[name, value] for name, value in named if value is not None]
    text = ["The publish step did not run, so nothing was published; these are the figures the steps measured "
            f"before the run stopped ({OUTPUTS_FILE})."]
    terms = [counted.get("telemetry_in"), windowed.get("aggregated"), windowed.get("late"),
             counted.get("quarantined"), windowed.get("quarantined"), counted.get("duplicates")]
    if all(isinstance(t, int) for t in terms):
        total_in, aggregated, late, quarantined, window_quarantined, duplicates = (int(t) for t in terms)
        quarantined += window_quarantined
        conserved = aggregated + late + quarantined + duplicates
        verdict = "holds" if conserved == total_in else "DOES NOT HOLD"
        text.append(f"telemetry in {total_in} = windowed {aggregated} + late {late} + quarantined {quarantined} + "
                    f"duplicates {duplicates} = {conserved}: {verdict}")
    else:
        missing = [f"step '{n}' {record['steps'][n].get('status')}" for n in (conform_name, window_name)
                   if n is not None and n not in steps]
        text.append("The balance of records is not shown: some of its terms were not measured"
                    + (f" ({', '.join(missing)})." if missing else "."))
    tables: list[dict[str, Any]] = []
    if figures:
        tables.append({"header": ["figure", "value"], "rows": figures, "caption": "measured counts"})
    quarantine = [*_reasons(conform.get("quarantine_telemetry", {})),
                  *_reasons(conform.get("quarantine_events", {}), "events: "),
                  *_reasons(window.get("quarantine", {}), "window: ")]
    if quarantine:
        tables.append({"header": ["reason", "rows"], "rows": quarantine, "caption": "quarantined by reason"})
    if "late" in window:
        tables.append({"header": ["reason", "rows"], "rows": _reasons(window["late"]),
                       "caption": "late records by reason"})
    # The reconcile step's tables are its findings, one row each: their rows, as run.json counted them.
    found = _rows_out(record, "iot.reconcile")
    reconciliation = [[label, found[key]] for key, label in RECONCILIATION if key in found]
    if reconciliation:
        tables.append({"header": ["figure", "value"], "rows": reconciliation, "caption": "reconciliation"})
    return {"title": QUARANTINE_TITLE, "text": text, "tables": tables}


RECONCILIATION = (("silent_devices", "silent devices"), ("unknown_device_events", "events for unknown devices"),
                  ("firmware_mismatches", "firmware mismatches (windows)"))


def _rows_out(record: dict[str, Any], uses: str) -> dict[str, Any]:
    """The rows of each output of the step of type ``uses``, if it succeeded (none otherwise: not measured)."""
    name = _step_using(record, uses)
    step = record["steps"][name] if name is not None else {}
    return dict(step.get("rows_out") or {}) if step.get("status") == "succeeded" else {}
