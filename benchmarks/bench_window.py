"""Benchmark of ``window.tumbling`` against a plain pandas groupby over the same windows.

The data is IoT telemetry: ``--keys`` devices, one record per device per minute for ``--days`` days
(default 1,000 x 7 days = 10,080,000 records), arriving in ingest-time order after a short network delay,
with ``--late-share`` of the records (default 1%) delayed by 3 to 30 minutes, beyond the 2-minute
watermark. The step computes the IoT pipeline's window (1-minute windows and trigger, 2-minute watermark,
the seven aggregations of step 4, "last" by (event_time, ingest_time, seq)). The baseline is what one
would write without a watermark: sort for "last", then one groupby on (device, floor(event_time, 1min))
with the same aggregations, every record counted.

Time is the median of ``--repeat`` runs of each, in the same process, twice: with all seven
aggregations, and with only the five that need no order (count, sum, mean, max, min), where the plain
groupby needs no sort. Memory is the peak resident set
size while the step runs, above what the process held just before (freed memory is first handed back to
the system with ``malloc_trim``), divided by the input frame's own size (``memory_usage(deep=True)``).

    PYTHONPATH=.:plugins python benchmarks/bench_window.py                # the full 10M-record run
    PYTHONPATH=.:plugins python benchmarks/bench_window.py --keys 100 --days 1
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import gc
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from kernel_window.steps import tumbling

T0 = np.datetime64("2024-01-01T00:00:00", "ns")
SETTINGS: dict[str, Any] = {
    "time_column": "event_time",
    "arrival_column": "ingest_time",
    "keys": ["device_id"],
    "size": "1min",
    "watermark": "2min",
    "trigger": "1min",
    "order_by": ["ingest_time", "seq"],
    "aggregations": {
        "records": "count",
        "online_records": "sum(online)",
        "temperature_mean": "mean(temperature_c)",
        "temperature_max": "max(temperature_c)",
        "battery_min": "min(battery_pct)",
        "last_firmware_version": "last(firmware_version)",
        "last_status": "last(status)",
    },
}


def telemetry(keys: int, days: int, late_share: float, seed: int = 7) -> pd.DataFrame:
    """One record per device per minute, in arrival order; ``late_share`` of them delayed 3-30 minutes."""
    rng = np.random.default_rng(seed)
    minutes = days * 24 * 60
    n = keys * minutes
    minute = np.repeat(np.arange(minutes, dtype=np.int64), keys)
    device = np.tile(np.arange(keys, dtype=np.int64), minutes)
    second = np.int64(1_000_000_000)
    event = T0.astype(np.int64) + minute * 60 * second + rng.integers(0, 60_000, n) * 1_000_000
    delay = (rng.exponential(3.0, n) * second).astype(np.int64)  # network delay, seconds
    delayed = rng.random(n) < late_share
    delay[delayed] = rng.integers(3 * 60, 30 * 60, int(delayed.sum())) * second
    ingest = event + delay
    order = np.argsort(ingest, kind="stable")  # a landing file is in arrival order
    names = np.array([f"dev-{i:05d}" for i in range(keys)], dtype=object)
    status = np.array(["ONLINE", "DEGRADED", "OFFLINE"], dtype=object)
    firmware = np.array(["1.9.0", "1.10.0", "2.0.1"], dtype=object)
    status_code = rng.choice(3, n, p=[0.9, 0.07, 0.03])[order]
    temperature = rng.normal(35.0, 4.0, n)[order]
    temperature[rng.random(n) < 0.01] = np.nan
    battery = rng.uniform(5.0, 100.0, n)[order]
    battery[rng.random(n) < 0.01] = np.nan
    return pd.DataFrame({
        "device_id": pd.array(names[device[order]], dtype="str"),
        "seq": minute[order],
        "event_time": pd.array(event[order].view("M8[ns]"), dtype="datetime64[ns, UTC]"),
        "ingest_time": pd.array(ingest[order].view("M8[ns]"), dtype="datetime64[ns, UTC]"),
        "status": pd.array(status[status_code], dtype="str"),
        "online": status_code < 2,
        "firmware_version": pd.array(firmware[(device[order] * 7 + minute[order] // 1440) % 3], dtype="str"),
        "temperature_c": temperature,
        "battery_pct": battery,
    })


ORDER_FREE = ("records", "online_records", "temperature_mean", "temperature_max", "battery_min")
GROUPBY_SPEC = {
    "records": ("seq", "size"),
    "online_records": ("online", "sum"),
    "temperature_mean": ("temperature_c", "mean"),
    "temperature_max": ("temperature_c", "max"),
    "battery_min": ("battery_pct", "min"),
    "last_firmware_version": ("firmware_version", "last"),
    "last_status": ("status", "last"),
}


def window_step(frame: pd.DataFrame, names: tuple[str, ...] | None = None) -> Any:
    aggregations = {k: v for k, v in SETTINGS["aggregations"].items() if names is None or k in names}
    return tumbling({"records": frame}, **{**SETTINGS, "aggregations": aggregations})


def plain_groupby(frame: pd.DataFrame, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One groupby over (device, floor(event_time, 1min)); a sort first when "last" is asked for."""
    spec = {k: v for k, v in GROUPBY_SPEC.items() if names is None or k in names}
    if any(fn == "last" for _, fn in spec.values()):
        frame = frame.sort_values(["event_time", "ingest_time", "seq"])
    keys = [frame["device_id"], frame["event_time"].dt.floor("1min").rename("window_start")]
    return frame.groupby(keys, sort=True).agg(**spec)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _trim() -> None:
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: the figure may then be a little low
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_memory(fn: Callable[[pd.DataFrame], Any], frame: pd.DataFrame) -> int:
    """Peak RSS above the starting RSS while ``fn(frame)`` runs (sampled every 2 ms), result included."""
    _trim()
    start, peak, running = _rss(), [0], [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = fn(frame)
    peak[0] = max(peak[0], _rss())
    running[0] = False
    sampler.join()
    del result
    return peak[0] - start


def timed(fn: Callable[[pd.DataFrame], Any], frame: pd.DataFrame) -> float:
    _trim()
    t0 = time.perf_counter()
    fn(frame)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1000, help="devices (default 1000)")
    parser.add_argument("--days", type=int, default=7, help="days of one record per device per minute (default 7)")
    parser.add_argument("--late-share", type=float, default=0.01, help="share delayed 3-30 min (default 0.01)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the median is reported")
    args = parser.parse_args()

    t0 = time.perf_counter()
    frame = telemetry(args.keys, args.days, args.late_share)
    input_bytes = int(frame.memory_usage(deep=True).sum())
    print(f"records: {len(frame):,}  input frame: {input_bytes / 2**20:,.0f} MiB  "
          f"(generated in {time.perf_counter() - t0:.1f} s)")
    counts = window_step(frame)["counts"].iloc[0]
    print("counts: " + ", ".join(f"{k}={int(v):,}" for k, v in counts.items()))

    step_peak = peak_memory(window_step, frame)
    plain_peak = peak_memory(plain_groupby, frame)
    print(f"peak memory, window.tumbling: {step_peak / 2**20:,.0f} MiB = {step_peak / input_bytes:.2f}x the input "
          f"(target <= 3x); plain groupby: {plain_peak / 2**20:,.0f} MiB = {plain_peak / input_bytes:.2f}x")
    variants = [("all seven aggregations (plain: sort, then groupby with 'last')", None),
                ("the five order-free aggregations (plain: groupby only)", ORDER_FREE)]
    for title, names in variants:
        step_times, plain_times = [], []
        for _ in range(args.repeat):
            step_times.append(timed(functools.partial(window_step, names=names), frame))
            plain_times.append(timed(functools.partial(plain_groupby, names=names), frame))
        step_s, plain_s = statistics.median(step_times), statistics.median(plain_times)
        print(f"{title}:")
        print(f"  window.tumbling: {step_s:.2f} s (runs: {', '.join(f'{t:.2f}' for t in step_times)})")
        print(f"  plain groupby:   {plain_s:.2f} s (runs: {', '.join(f'{t:.2f}' for t in plain_times)})")
        print(f"  time ratio: {step_s / plain_s:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
