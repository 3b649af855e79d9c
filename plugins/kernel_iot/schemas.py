"""The declared schemas of the showcase's three sources, as Avro schemas in Python dicts.

Telemetry and device events are Avro files written with these schemas. The device registry is JSON;
:data:`DEVICE` declares the record its rows become: the file holds its two times as ISO-8601 text (with
an offset, or none, which means UTC), and reading converts them to UTC ``timestamp-millis``.

``event_time`` of telemetry is nullable: a device with a broken clock sends records without one, and the
pipeline quarantines them (``bad_event_time``). Every other timestamp is required.
"""

from __future__ import annotations

from typing import Any

STATUS_SYMBOLS = ("ONLINE", "DEGRADED", "OFFLINE")
EVENT_TYPE_SYMBOLS = ("FIRMWARE_UPDATE", "REBOOT", "ERROR", "CONNECT", "DISCONNECT")

_MILLIS: dict[str, Any] = {"type": "long", "logicalType": "timestamp-millis"}

TELEMETRY: dict[str, Any] = {
    "type": "record",
    "name": "Telemetry",
    "namespace": "iot",
    "fields": [
        {"name": "device_id", "type": "string"},
        {"name": "seq", "type": "long"},
        {"name": "event_time", "type": ["null", _MILLIS]},
        {"name": "ingest_time", "type": _MILLIS},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": list(STATUS_SYMBOLS)}},
        {"name": "firmware_version", "type": "string"},
        {"name": "temperature_c", "type": ["null", "double"]},
        {"name": "battery_pct", "type": ["null", "double"]},
        {"name": "rssi_dbm", "type": ["null", "int"]},
    ],
}

DEVICE_EVENT: dict[str, Any] = {
    "type": "record",
    "name": "DeviceEvent",
    "namespace": "iot",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "device_id", "type": "string"},
        {"name": "event_time", "type": _MILLIS},
        {"name": "ingest_time", "type": _MILLIS},
        {"name": "event_type", "type": {"type": "enum", "name": "EventType", "symbols": list(EVENT_TYPE_SYMBOLS)}},
        {"name": "from_version", "type": ["null", "string"]},
        {"name": "to_version", "type": ["null", "string"]},
        {"name": "success", "type": ["null", "boolean"]},
        {"name": "detail", "type": ["null", "string"]},
    ],
}

DEVICE: dict[str, Any] = {
    "type": "record",
    "name": "Device",
    "namespace": "iot",
    "fields": [
        {"name": "device_id", "type": "string"},
        {"name": "model", "type": "string"},
        {"name": "site", "type": "string"},
        {"name": "installed_at", "type": _MILLIS},
        {"name": "decommissioned_at", "type": ["null", _MILLIS]},
    ],
}
