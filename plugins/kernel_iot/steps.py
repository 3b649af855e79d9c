"""The IoT showcase's step types, declared by reference: listing them imports none of the modules that compute
them (and so neither pandas nor numpy) nor their settings models; checking a pipeline imports the models, and a
run imports each step's module when it needs it."""

from __future__ import annotations

from kernel import StepType

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
ROWS = ("fleet", "anomaly_scores", "counts", "window_counts", "summary", "period")

STEP_TYPES = (
    StepType(
        "iot.ingest", "kernel_iot.ingest:ingest", inputs=(), outputs=("telemetry", "events", "devices", "truth"),
        settings="kernel_iot.settings:IngestSettings", split="kernel_iot.ingest:split_by_files",
        combine="kernel_iot.ingest:combine_files",
        description="Read telemetry and events (Avro) and the registry and ground truth (JSON) with their declared "
        "schemas.",
    ),
    StepType(
        "iot.conform", "kernel_iot.conform:conform", inputs=("telemetry", "events", "devices"),
        outputs=("telemetry", "events", "devices", "quarantine_telemetry", "quarantine_events", "duplicates",
                 "period", "heard", "counts"),
        settings="kernel_iot.settings:ConformSettings",
        description="Deduplicate and quarantine telemetry, check events against the registry, and fix the period.",
    ),
    StepType(
        "iot.reconcile", "kernel_iot.reconcile:reconcile",
        inputs=("devices", "events", "heard", "windows", "period", "quarantine_events"),
        outputs=("silent_devices", "unknown_device_events", "firmware_mismatches", "summary"),
        settings="kernel_iot.settings:WindowSizeSettings",
        description="Silent devices, events of unknown devices and firmware mismatches, as tables and one row of "
        "counts.",
    ),
    StepType(
        "iot.device_uptime", "kernel_iot.uptime:device_uptime", inputs=("windows", "devices", "period"),
        outputs=("daily", "devices", "fleet"), settings="kernel_iot.settings:WindowSizeSettings",
        partitions=("device_id",),
        combine="kernel_iot.uptime:combine_parts",
        description="Uptime per device and day, per device over the period, and for the fleet (pooled and mean of "
        "devices).",
    ),
    StepType(
        "iot.firmware_adoption", "kernel_iot.adoption:firmware_adoption",
        inputs=("windows", "events", "devices", "period", "daily", "heard", "late", "truth"),
        outputs=("adoption", "targets", "anomalies", "anomaly_scores"), settings="kernel_iot.settings:AdoptionSettings",
        description="Firmware adoption per day and model against each model's target; temperature anomalies beside "
        "it.",
    ),
    StepType(
        "iot.anomalies", "kernel_iot.anomalies:anomalies", inputs=("windows",), outputs=("anomalies", "counts"),
        settings="kernel_iot.settings:AnomalySettings", claims=("state_dir",),
        description="Temperature anomalies of windows against each device's previous windows; with state_dir, "
        "the last ones of earlier runs too (a stream).",
    ),
    StepType(
        "iot.gold", "kernel_iot.gold:gold", inputs=(*TABLES.values(), "targets", *ROWS), outputs=(*TABLES, "kpis"),
        settings="kernel_iot.settings:GoldSettings",
        description="The gold tables (run ids on the side tables, a re-emitted window once) and the headline "
        "figures, kpis.",
    ),
)
