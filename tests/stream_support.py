"""A small streamed pipeline (CSV files of device readings, one-minute windows over arrival batches) and
its data, for the stream tests: the stream's sink is compared with one batch run over the same records."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

T0 = pd.Timestamp("2024-03-01T00:00:00Z")

PIPELINE = {
    "name": "readings",
    "params": {
        "file": {"default": None, "required": True, "description": "one CSV file of readings"},
        "hold": None,
        "state_dir": None,
        "final": True,
        "results": {"default": "results", "description": "where the period's answers are published"},
    },
    "stream": {"source": "read", "sink": ["window.windows", "window.late", "window.quarantine",
                                          "unique.duplicates"],
               "alerts": {"output": "hot.out", "time_column": "window_start"},
               "period": ["per_device", "publish"]},
    "steps": [
        {"name": "read", "uses": "io.read",
         "settings": {"path": "${params.file}", "format": "csv"}},
        {"name": "unique", "uses": "transform.dedupe", "needs": ["read"],
         "settings": {"keys": ["seq"], "state_dir": "${params.state_dir}/seen", "time_column": "ingest_time",
                      "remember": "1h"}},
        {"name": "window", "uses": "window.tumbling", "needs": {"records": "unique"},
         "settings": {"time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"],
                      "size": "1min", "watermark": "2min", "trigger": "1min", "order_by": ["seq"],
                      "final": "${params.final}", "state_dir": "${params.state_dir}/window", "hold": "${params.hold}",
                      "aggregations": {"records": "count", "total": "sum(value)", "last_value": "last(value)"}}},
        {"name": "hot", "uses": "transform.filter", "needs": ["window.windows"],
         "settings": {"where": "total / records > 26"}},
        # The period's answer: every window of the period, per device.
        {"name": "per_device", "uses": "transform.aggregate", "needs": ["window.windows"],
         "settings": {"by": ["device_id"], "aggregations": {"windows": "count(*)", "records": "sum(records)",
                                                           "total": "round(sum(total), 6)"}}},
        {"name": "publish", "uses": "io.publish", "needs": {"per_device": "per_device"},
         "settings": {"path": "${params.results}", "format": "csv"}},
    ],
}


def write_pipeline(directory: Path, **changes: object) -> Path:
    path = directory / "readings.yaml"
    path.write_text(yaml.safe_dump({**PIPELINE, **changes}, sort_keys=False))
    return path


def readings(n: int, seed: int, *, devices: int = 4, minutes: int = 20) -> pd.DataFrame:
    """Readings in arrival order: a few seconds of network delay, some records minutes late, some with an
    unparseable event time."""
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.integers(0, minutes * 60_000, n))
    delay = rng.integers(0, 5_000, n)
    late = rng.random(n) < 0.08
    delay[late] += rng.integers(120_000, 600_000, int(late.sum()))
    event = T0 + pd.to_timedelta(arrival - delay, unit="ms")
    frame = pd.DataFrame({
        "seq": np.arange(n),
        "device_id": [f"d{i}" for i in rng.integers(0, devices, n)],
        "event_time": event.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "ingest_time": (T0 + pd.to_timedelta(arrival, unit="ms")).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "value": np.round(rng.normal(20, 5, n), 3),
    })
    bad = rng.random(n) < 0.02
    frame.loc[bad, "event_time"] = "not a time"
    # Re-sent readings: the same reading again, arriving up to a few minutes later (maybe in a later file).
    again = frame.sample(frac=0.05, random_state=seed).copy()
    again["ingest_time"] = (pd.to_datetime(again["ingest_time"]) + pd.to_timedelta(
        rng.integers(1_000, 240_000, len(again)), unit="ms")).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return pd.concat([frame, again]).sort_values("ingest_time", kind="stable", ignore_index=True)


def cut(frame: pd.DataFrame, pieces: int, seed: int) -> list[pd.DataFrame]:
    """The readings cut into files at random places (not at arrival-minute boundaries)."""
    rng = np.random.default_rng(seed)
    cuts = sorted(rng.choice(np.arange(1, len(frame)), size=pieces - 1, replace=False).tolist())
    bounds = [0, *cuts, len(frame)]
    return [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def land(landing: Path, files: list[pd.DataFrame], start: int = 0) -> list[Path]:
    """Write each file under a temporary name and rename it into the landing directory, in order."""
    landing.mkdir(parents=True, exist_ok=True)
    written = []
    for i, frame in enumerate(files, start):
        target = landing / f"readings-{i:04d}.csv"
        tmp = landing / f".{target.name}.tmp"
        frame.to_csv(tmp, index=False)
        tmp.rename(target)
        written.append(target)
    return written
