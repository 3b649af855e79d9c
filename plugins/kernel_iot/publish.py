"""Publish (step 7 of the IoT showcase spec): step type ``iot.publish``.

The gold layer is one directory, replaced as a whole: every file is written into a new hidden sibling
directory, which then takes the place of the old one by two renames (old out of the way, new in). A run
that fails or is stopped while writing leaves the previous gold untouched, and a reader finds either the
whole previous gold or the whole new one, never a mix. A run stopped between the two renames leaves the
previous gold beside its place; the next publish puts it back before anything else. One publisher per
directory at a time.

Every figure of ``kpis.json`` is read or counted from the step's inputs; a figure the run did not
measure (precision and recall without ground truth) is left out, not guessed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kernel_io import write_frame

from kernel import DataError, Inputs, Outputs, StepContext, step, write_text_atomic

RE_EMITTED = ("upsert", "update")
# gold file name -> the input it is written from
TABLES = {
    "device_uptime_daily": "device_uptime_daily",
    "firmware_adoption_daily": "firmware_adoption_daily",
    "telemetry_1min": "telemetry_1min",
    "anomalies": "anomalies",
    "late": "late",
    "quarantine_telemetry": "quarantine_telemetry",
    "quarantine_events": "quarantine_events",
}
WITH_RUN_ID = ("late", "quarantine_telemetry", "quarantine_events")
ROWS = ("fleet", "anomaly_scores", "counts", "window_counts", "summary", "period")
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
    return tables


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


def recover(out_dir: Path) -> None:
    """Undo what a stopped publish left: the previous gold set aside, and half-written new directories."""
    parent, name = out_dir.parent, out_dir.name
    aside = sorted(parent.glob(f".{name}.*.old"), key=lambda p: p.stat().st_mtime)
    if aside and not out_dir.exists():
        os.rename(aside.pop(), out_dir)  # stopped between the two renames: the previous gold goes back
    for leftover in [*aside, *parent.glob(f".{name}.*.new")]:
        shutil.rmtree(leftover, ignore_errors=True)


def replace_directory(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(staging)`` into a new sibling directory, then swap it in for ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError("the gold directory is a file", file=out_dir)
    recover(out_dir)
    # os.mkdir, not mkdtemp: the gold directory gets the usual permissions (umask), not 0700.
    stage = out_dir.parent / f".{out_dir.name}.{secrets.token_hex(6)}.new"
    os.mkdir(stage)
    try:
        write(stage)
        if out_dir.exists():
            aside = stage.with_suffix(".old")
            os.rename(out_dir, aside)
            try:
                os.rename(stage, out_dir)
            except BaseException:
                os.rename(aside, out_dir)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def file_hash(path: Path) -> str:
    with path.open("rb") as fo:
        return "sha256:" + hashlib.file_digest(fo, "sha256").hexdigest()


@step("iot.publish", inputs=(*TABLES.values(), "targets", *ROWS), outputs=())
def publish(inputs: Inputs, *, out_dir: str, ctx: StepContext | None = None) -> Outputs:
    """Write the gold tables (Parquet) and kpis.json into out_dir, replacing the previous gold as a whole."""
    run_id = ctx.run_id if ctx is not None else None
    tables = gold_tables(inputs, run_id)
    figures = json.dumps(kpis(inputs, run_id), indent=2, allow_nan=False) + "\n"
    target = Path(out_dir)

    def write(stage: Path) -> None:
        for name, frame in tables.items():
            write_frame(frame, stage / f"{name}.parquet", "parquet")
        (stage / "kpis.json").write_text(figures, encoding="utf-8")

    replace_directory(target, write)
    if ctx is not None:
        # The report is rebuilt from the run directory alone: keep this run's figures there too.
        write_text_atomic(ctx.run_dir / REPORT_FILE, json.dumps(report_figures(inputs, figures), indent=2) + "\n")
    if ctx is not None:  # reported once published: what a reader of out_dir now finds
        for name, frame in tables.items():
            path = target / f"{name}.parquet"
            ctx.wrote(path, "parquet", rows=len(frame), columns={str(c): str(t) for c, t in frame.dtypes.items()},
                      content_hash=file_hash(path))
        ctx.wrote(target / "kpis.json", "json", rows=1, content_hash=file_hash(target / "kpis.json"))
    return {}
