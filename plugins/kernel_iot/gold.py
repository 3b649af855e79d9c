"""The gold tables and headline figures (step 7 of the IoT showcase spec, first half): step type ``iot.gold``.

``iot.gold`` assembles what the gold layer holds: the seven tables (a re-emitted window once, run ids on
the side tables) and ``kpis``, a one-row frame of the headline figures. The pipeline's next step, the
shared ``io.publish``, writes them into the gold directory (``kpis`` as ``kpis.json``) and replaces the
previous gold as a whole, once the whole run has succeeded.

Every figure of ``kpis`` is read or counted from the step's inputs; a figure the run did not measure
(precision and recall without ground truth) is left out, not guessed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from kernel import DataError, Inputs, Outputs, StepContext, write_text_atomic
from kernel_iot.steps import TABLES

RE_EMITTED = ("upsert", "update")
# Text in the spec that the steps keep categorical in memory (kernel_iot.ingest): written as text, as read.
TEXT_COLUMNS = ("firmware_version", "last_firmware_version")
WITH_RUN_ID = ("late", "quarantine_telemetry", "quarantine_events")
REPORT_FILE = "iot-kpis.json"  # in the run directory, for the report's KPI sections


def one_row(inputs: Inputs, name: str) -> dict[str, Any]:
    """The single row of a one-row input, as plain Python values (NA -> None)."""
    frame = inputs[name]
    if len(frame) != 1:
        raise DataError(f"input '{name}' has {len(frame)} rows; expected one")
    return {str(k): plain(v) for k, v in frame.iloc[0].items()}


def plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars to Python, missing to None, timestamps to ISO-8601."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def by_reason(frame: pd.DataFrame, name: str) -> dict[str, int]:
    """Rows per reason; every declared reason (the categories) appears, with 0 when none had it."""
    if "reason" not in frame.columns:
        raise DataError(f"input '{name}' has no column 'reason'")
    counts = frame["reason"].value_counts(sort=False)
    return {str(reason): int(n) for reason, n in counts.items()}


def gold_tables(inputs: Inputs, run_id: str | None) -> dict[str, pd.DataFrame]:
    """The gold tables: a re-emitted window once (its last emission), run ids on the side tables."""
    tables = {name: inputs[source] for name, source in TABLES.items()}
    windows = tables["telemetry_1min"]
    if "emit_kind" in windows.columns and windows["emit_kind"].isin(RE_EMITTED).any():
        tables["telemetry_1min"] = windows.drop_duplicates(["device_id", "window_start"], keep="last")
    for name in WITH_RUN_ID:
        tables[name] = tables[name].assign(run_id=pd.Series(run_id, index=tables[name].index, dtype="str"))
    for name, table in tables.items():
        text = [c for c in TEXT_COLUMNS if c in table.columns and isinstance(table[c].dtype, pd.CategoricalDtype)]
        if text:
            tables[name] = table.assign(**{c: as_text(table[c]) for c in text})
    return tables


def as_text(column: pd.Series) -> pd.Series:
    """A categorical column as pandas text: the categories' text taken at the codes (``astype("str")`` took
    1.2-2.7 s on ten million rows against 0.08 s).

    The text is allocated by the C library's malloc, not Arrow's own pool: a command-line run keeps the memory
    its steps freed (``kernel/memory.py``), and this column, made near the end of the run, fits there; from
    Arrow's pool it took fresh pages and raised the flagship's peak by its size (130 MB at 1,000 devices)."""
    categories = pa.array(list(column.cat.categories), type=pa.large_string())
    codes = column.cat.codes.to_numpy()
    taken = pc.take(categories, pa.array(codes, mask=codes < 0), memory_pool=pa.system_memory_pool())
    return pd.Series(pd.array(taken, dtype="str"), index=column.index, name=column.name)


def kpis(inputs: Inputs, run_id: str | None) -> dict[str, Any]:
    """The headline figures of ``kpis.json``, each read or counted from the inputs."""
    fleet, scores, counts = one_row(inputs, "fleet"), one_row(inputs, "anomaly_scores"), one_row(inputs, "counts")
    window, summary, period = one_row(inputs, "window_counts"), one_row(inputs, "summary"), inputs["period"]
    end = pd.Timestamp(period["period_end"].iloc[0])
    last_day = (end - pd.Timedelta(milliseconds=1)).floor("D")  # the period's last day (the headline)
    adoption = inputs["firmware_adoption_daily"]
    today = adoption[(adoption["day"] == last_day).to_numpy(dtype=bool)]
    fleet_row = today[(today["model"] == "ALL").to_numpy(dtype=bool)]
    models = today[(today["model"] != "ALL").to_numpy(dtype=bool)]
    targets = inputs["targets"]
    quarantined = by_reason(inputs["quarantine_telemetry"], "quarantine_telemetry")
    quarantined_total = sum(quarantined.values()) + int(window.get("quarantined") or 0)
    late, windowed = len(inputs["late"]), int(window["aggregated"])
    out: dict[str, Any] = {
        "run_id": run_id,
        "period_start": plain(pd.Timestamp(period["period_start"].iloc[0])),
        "period_end": plain(end),
        "fleet_uptime_pooled": fleet["fleet_uptime_pooled"],
        "fleet_uptime_mean_of_devices": fleet["fleet_uptime_mean_of_devices"],
        "adoption_last_day": plain(last_day),
        "fleet_adoption_last_day": plain(fleet_row["adoption"].iloc[0]) if len(fleet_row) else None,
        "adoption_last_day_per_model": {str(m): plain(a) for m, a in zip(models["model"], models["adoption"],
                                                                          strict=True)},
        "firmware_targets": {str(m): plain(t) for m, t in zip(targets["model"], targets["target"], strict=True)},
        "firmware_target_sources": {str(m): plain(s) for m, s in zip(targets["model"], targets["source"],
                                                                     strict=True)},
        "anomalies": len(inputs["anomalies"]),
    }
    if int(scores.get("truth_minutes") or 0) > 0:  # only a data set with ground truth has these
        out["anomaly_precision"] = scores["precision"]
        out["anomaly_recall"] = scores["recall"]
    out.update({
        "telemetry_in": int(counts["telemetry_in"]),
        "duplicates": int(counts["duplicates"]),
        "quarantined": quarantined,
        "quarantined_total": quarantined_total,
        "late": late,
        "windowed_records": windowed,
        "records_conserved": int(counts["telemetry_in"]) == windowed + late + quarantined_total
        + int(counts["duplicates"]),
        "quarantined_events": by_reason(inputs["quarantine_events"], "quarantine_events"),
        "windows": len(inputs["telemetry_1min"]),
        "silent_devices": int(summary["silent_devices"]),
        "unknown_device_events": int(summary["unknown_device_events"]),
        "firmware_mismatches": int(summary["firmware_mismatches"]),
    })
    return out


def report_figures(inputs: Inputs, figures: str) -> dict[str, Any]:
    """What the report shows beside kpis.json: uptime and adoption per day, late records by reason."""
    daily = inputs["device_uptime_daily"]
    per_day = daily.groupby("day", sort=True)[["in_service_windows", "up_windows"]].sum()
    uptime = [{"day": plain(day), "in_service_windows": int(row.in_service_windows),
               "up_windows": int(row.up_windows),
               "uptime": row.up_windows / row.in_service_windows if row.in_service_windows else None}
              for day, row in per_day.iterrows()]
    adoption = inputs["firmware_adoption_daily"]
    rows = [{"day": plain(d), "model": str(m), "target": plain(t), "active_devices": int(a),
             "adopted_devices": int(n), "adoption": plain(x)}
            for d, m, t, a, n, x in zip(adoption["day"], adoption["model"], adoption["target"],
                                        adoption["active_devices"], adoption["adopted_devices"],
                                        adoption["adoption"], strict=True)]
    late = inputs["late"]
    late_by_reason = {str(k): int(v) for k, v in late["reason"].value_counts().items()} if "reason" in late else {}
    return {"kpis": json.loads(figures), "uptime_per_day": uptime, "adoption": rows, "late_by_reason": late_by_reason}


def gold(inputs: Inputs, *, ctx: StepContext | None = None) -> Outputs:
    """The gold tables (run ids on the side tables, a re-emitted window once) and the headline figures, kpis."""
    run_id = ctx.run_id if ctx is not None else None
    tables = gold_tables(inputs, run_id)
    figures = kpis(inputs, run_id)
    json.dumps(figures, allow_nan=False)  # every figure is JSON as it is: refused here, not when published
    return {**tables, "kpis": pd.DataFrame([figures])}


class GoldFigures(dict[str, Any]):
    """The report's figures of one gold step, as they come back from next to it."""


def gold_figures(outputs: Mapping[str, pd.DataFrame], ctx: StepContext | None = None) -> GoldFigures:
    """The figures the report shows (``iot-kpis.json``), from the gold step's outputs: computed next to the
    step (``summarize_step``), so that the gold tables need not travel."""
    figures = {str(k): plain(v) for k, v in outputs["kpis"].iloc[0].items()}
    text = json.dumps(figures, indent=2, allow_nan=False) + "\n"
    return GoldFigures(report_figures(outputs, text))


def keep_figures(run_dir: Path, figures: Mapping[str, Any]) -> None:
    """Write the gold step's figures into the run directory: the report is rebuilt from it alone. A listener
    calls it after the gold step, whether it ran or its outputs were reused."""
    write_text_atomic(run_dir / REPORT_FILE, json.dumps(figures, indent=2) + "\n")
