"""The settings of the IoT showcase's step types: read when a pipeline is checked, before (and without)
importing the steps themselves. Each model has exactly the keyword parameters of its step's function
(tests/test_iot_plugin_types.py holds them to it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Settings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


class IngestSettings(_Settings):
    telemetry: str | None  # null: no telemetry, the reference data alone
    events: str
    devices: str
    truth: str | None = None
    telemetry_files: list[str] | None = None
    telemetry_only: bool = False


class ConformSettings(_Settings):
    period_end: datetime | None = None
    refresh: str | None = "7d"  # None: no period (a stream's batch; its period runs over the whole sink)


class WindowSizeSettings(_Settings):
    window: str = "1min"


class AdoptionSettings(_Settings):
    firmware_targets: dict[str, str] | None = None
    anomaly_history: int = 60
    anomaly_min_history: int = 30
    anomaly_threshold: float = 4.0


class AnomalySettings(_Settings):
    history: int = 60
    min_history: int = 30
    threshold: float = 4.0
    state_dir: str | None = None


class GoldSettings(_Settings):
    pass
