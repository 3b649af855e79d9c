"""The generator's knobs: small frozen dataclasses, one per concern, with the defaults of the showcase.

Shares (``*_share``) are exact: a share ``s`` of ``n`` candidates is ``round(s * n)`` of them, and at
least one when ``s > 0``, so every fault kind shows up even in a tiny data set. Rates per day
(``*_per_day``) are means of Poisson counts per device. See ``docs/showcases/iot-data.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A device model: the firmware its devices run at the start, and the version rolled out, if any."""

    name: str
    versions: tuple[tuple[str, float], ...]  # (version, share of the model's devices) at the start
    target: str | None  # rolled out during the period; None: no rollout (the pipeline's last fallback)
    battery: bool = True  # mains-powered models report no battery level


@dataclass(frozen=True, slots=True)
class SiteSpec:
    name: str
    temperature_c: float  # typical temperature of the site's devices


MODELS = (
    ModelSpec("TH-100", (("2.3.1", 0.8), ("2.2.0", 0.2)), "2.4.0"),
    # 3.10.0 > 3.9.4 only when versions compare numerically (resolved detail 3)
    ModelSpec("TH-200", (("3.9.4", 1.0),), "3.10.0"),
    ModelSpec("AQ-300", (("1.7.2", 0.7), ("1.8.0", 0.3)), "1.8.1"),
    ModelSpec("GW-400", (("5.0.3", 0.9), ("5.1.0", 0.1)), None, battery=False),
)
SITES = (
    SiteSpec("AMS-1", 19.0),
    SiteSpec("BER-2", 17.5),
    SiteSpec("LIS-1", 23.0),
    SiteSpec("OSL-3", 15.0),
    SiteSpec("WAW-1", 18.0),
    SiteSpec("MAD-2", 25.0),
)


@dataclass(frozen=True, slots=True)
class FleetKnobs:
    models: tuple[ModelSpec, ...] = MODELS
    sites: tuple[SiteSpec, ...] = SITES
    pre_install_share: float = 0.02  # installed mid-period, reporting (not in service) from the start
    decommissioned_share: float = 0.01  # decommissioned mid-period, still reporting for hours after
    silent_share: float = 0.01  # in service all period, never reporting
    retired_share: float = 0.005  # decommissioned before the period: no in-service window
    offset_share: float = 0.02  # registry times written with a non-UTC offset such as +02:00
    naive_share: float = 0.02  # registry times written without an offset (meaning UTC)
    repeated_ids: int = 1  # registry ids given a second, different row later in the file
    unknown_devices: int = 3  # devices that report but are not in the registry
    unknown_hours: float = 6.0  # each reports for 1 hour up to this long
    flood_records: int = 600  # a misconfigured device with the factory id dev-00000 floods ...
    flood_minutes: float = 10.0  # ... this many records over this many minutes


@dataclass(frozen=True, slots=True)
class AvailabilityKnobs:
    offline_per_day: float = 0.5  # connection losses per device and day
    offline_median_min: float = 15.0  # their length: log-normal, minutes to hours
    offline_sigma: float = 1.2
    offline_max_min: float = 16 * 60.0
    offline_reported_share: float = 0.4  # losses sent as OFFLINE records; the others are silent gaps
    degraded_per_day: float = 0.8  # DEGRADED spells (weak signal) per device and day
    degraded_median_min: float = 30.0
    reboot_per_day: float = 0.1  # watchdog reboots: a REBOOT event and a silent minute or two
    error_per_day: float = 0.2  # ERROR events


@dataclass(frozen=True, slots=True)
class FirmwareKnobs:
    rollout_start: float = 0.15  # the rollout runs over this part of the period (shares of it)
    rollout_end: float = 0.85
    rollout_share: float = 0.9  # devices of a model offered the update; the rest keep the old version
    wave_shares: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)  # staged: each wave's share of the offered
    failure_share: float = 0.1  # failed attempts (the device keeps its version)
    retry_share: float = 0.5  # failed devices that try again 2 to 12 hours later
    rollback_share: float = 0.03  # reported successful, but the device boots the old version again


@dataclass(frozen=True, slots=True)
class NetworkKnobs:
    delay_median_s: float = 1.5  # ingest_time - event_time: log-normal seconds for most records
    delay_sigma: float = 0.8
    slow_share: float = 0.02  # 20 s to 150 s: still on time
    tail_share: float = 0.004  # 3 min to tail_max_min: beyond the 2-minute watermark, late
    tail_max_min: float = 45.0
    backlogs: int = 1  # a site's gateway buffers this many times ...
    backlog_min: float = 60.0  # ... for this long, then flushes (a burst of late records)
    duplicate_share: float = 0.003  # delivered twice: same device_id and seq, later ingest_time
    lost_share: float = 0.0005  # never delivered (a gap in seq)


@dataclass(frozen=True, slots=True)
class MalformedKnobs:
    """Shares of the registered devices' ONLINE/DEGRADED records, disjoint, never on a spiked record."""

    future_share: float = 0.0002  # event_time 6 minutes to 3 days after ingest_time
    null_event_time_share: float = 0.0002
    bad_firmware_share: float = 0.0003  # "v2.3.1", "2.3", "2.3.1-beta"
    null_temperature_share: float = 0.001
    out_of_range_share: float = 0.0002  # battery_pct or rssi_dbm outside its physical range


@dataclass(frozen=True, slots=True)
class TemperatureKnobs:
    noise_c: float = 0.3  # standard deviation of a bounded (Irwin-Hall) noise: no 4-sigma outliers
    diurnal_c: float = 0.3  # amplitude of the daily cycle, small beside a spike
    spikes_per_day: float = 0.5  # injected anomalies per device and day
    spike_c: float = 25.0  # a spike adds 0.8 to 1.2 times this, for one record


@dataclass(frozen=True, slots=True)
class GeneratorParams:
    """All knobs; ``GeneratorParams()`` is the showcase's data set."""

    fleet: FleetKnobs = field(default_factory=FleetKnobs)
    availability: AvailabilityKnobs = field(default_factory=AvailabilityKnobs)
    firmware: FirmwareKnobs = field(default_factory=FirmwareKnobs)
    network: NetworkKnobs = field(default_factory=NetworkKnobs)
    malformed: MalformedKnobs = field(default_factory=MalformedKnobs)
    temperature: TemperatureKnobs = field(default_factory=TemperatureKnobs)


def share_count(share: float, n: int) -> int:
    """How many of ``n`` candidates a share picks: exact, and at least one when the share is positive."""
    if share <= 0 or n <= 0:
        return 0
    return min(n, max(1, round(share * n)))
