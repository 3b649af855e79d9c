"""The IoT showcase's sections of the run report, read from ``iot-kpis.json`` in the run directory."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

REPORT_FILE = "iot-kpis.json"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.2f}%"


def _chart(title: str, labels: list[str], series: dict[str, list[float | None]], ylabel: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for name, values in series.items():
        ax.plot(labels, [float("nan") if v is None else 100 * v for v in values], marker="o", label=name)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="lower right")
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def sections(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    if not any(str(step.get("uses", "")).startswith("iot.") for step in record.get("steps", {}).values()):
        return []  # not a run of this plugin's steps
    path = run_dir / REPORT_FILE
    if not path.is_file():
        return [{"title": "IoT KPIs", "text": [
            "Nothing was published in this run (the publish step did not run), so no KPI is shown."]}]
    data = json.loads(path.read_text(encoding="utf-8"))
    k = data["kpis"]
    days = [row["day"][:10] for row in data["uptime_per_day"]]
    headline = [
        ["period", f"{k['period_start']} to {k['period_end']}"],
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
    images = [
        {"png": _chart("Fleet uptime per day", days, {"uptime": [r["uptime"] for r in data["uptime_per_day"]]}, "%"),
         "alt": "fleet uptime per day", "name": "iot-uptime"},
        {"png": _chart("Firmware adoption per day", days, adoption_series, "%"),
         "alt": "firmware adoption per day and model", "name": "iot-adoption"},
    ]
    return [
        {"title": "IoT KPIs", "tables": [{"header": ["figure", "value"], "rows": headline}], "images": images},
        {"title": "Uptime per day", "tables": [{"header": ["day", "in-service windows", "up windows", "uptime"],
                                                "rows": uptime_rows}]},
        {"title": "Firmware adoption per day and model", "tables": [
            {"header": ["day", "model", "target", "active devices", "adopted devices", "adoption"],
             "rows": adoption_rows},
            {"header": ["model", "target", "chosen from"], "rows": targets, "caption": "firmware targets"}]},
        {"title": "Quarantine, late records and conservation", "text": [equation], "tables": [
            {"header": ["reason", "rows"], "rows": quarantine, "caption": "quarantined by reason"},
            {"header": ["reason", "rows"], "rows": late, "caption": "late records by reason"},
            {"header": ["figure", "value"], "rows": [
                ["silent devices", k["silent_devices"]], ["events for unknown devices", k["unknown_device_events"]],
                ["firmware mismatches (windows)", k["firmware_mismatches"]]], "caption": "reconciliation"}]},
    ]
