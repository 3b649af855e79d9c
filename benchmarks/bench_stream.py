"""How fast ``kernel stream`` turns a landed file into its sink parts and alerts.

    python benchmarks/bench_stream.py                       # 10,000 records/s in one-second files, 60 s
    python benchmarks/bench_stream.py --rate 10000 --seconds 30 --capacity 10000,50000,100000,200000
    python benchmarks/bench_stream.py --flagship            # the flagship's own streamed form instead
    python benchmarks/bench_stream.py --sink                # reading a sink of 3,000 parts, merged or not

(1) Latency. A writer thread writes one Avro file a second (``--rate`` records, IoT-like readings whose
arrival time is now, a few seconds of network delay, 1% minutes late) under a temporary name and renames it
into the landing directory, noting the moment of each rename. ``kernel stream`` runs in a process of its
own (``--clock wall``, inotify) on a pipeline that reads the file (io.read), windows it (window.tumbling,
10-second windows per device over one-second arrival batches, 5-second watermark, ``hold: newest``) and
raises an alert for every window with a spike (transform.filter on its peak); sink: windows and late records.
Latency of a file = the ledger's ``done`` time (its sink parts and alerts written) minus its rename. p50
and p99 over the files after the first five (the first pay the process's imports and DuckDB's start).

With ``--flagship``: the flagship's data set written in real time (``kernel showcase data iot-windowed-kpi
--stream --rate R --seconds N``, 300 devices) while ``kernel showcase stream iot-windowed-kpi --clock data
--final`` streams it: each file read with the registry and events, copies set aside across files,
quarantine, windows, the anomaly rule against each device's last 60 windows (alerts); at the end, the period
steps (weekly KPIs and gold) over the sink. Latency from the ledger (a file's modified time to its batch
done), over the files after the first ten (the stream starts once the generator has made the directory).

With ``--sink``: 3,000 batches of 100 rows written as sink parts, read back (``read_sink``) as 3,000 parts,
and again merged as the stream merges them (16 at a time after each batch), with the merges' cost.

(2) Capacity. Files of N records are streamed back to back (``--clock data``); each batch's run time from
the ledger gives the records per second one stream process sustains (its work is one thread: per core).
Beside it, in the same process and on the same files: a plain loop that only decodes them
(``polars.read_avro``, and fastavro record by record).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA: dict[str, Any] = {
    "type": "record", "name": "Reading", "namespace": "bench",
    "fields": [
        {"name": "seq", "type": "long"},
        {"name": "device_id", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ingest_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "value", "type": "double"},
    ],
}
PIPELINE: dict[str, Any] = {
    "name": "bench-stream",
    "params": {"file": {"default": None, "required": True}, "hold": None, "state_dir": None, "final": True},
    "stream": {"source": "read", "sink": ["window.windows", "window.late"],
               "alerts": {"output": "alerts.out", "time_column": "window_start"}},
    "steps": [
        {"name": "read", "uses": "io.read", "settings": {"path": "${params.file}", "format": "avro"}},
        {"name": "window", "uses": "window.tumbling", "needs": {"records": "read"},
         "settings": {"time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"],
                      "size": "10s", "watermark": "5s", "trigger": "1s", "order_by": ["seq"],
                      "final": "${params.final}", "state_dir": "${params.state_dir}", "hold": "${params.hold}",
                      "aggregations": {"records": "count", "mean": "mean(value)", "peak": "max(value)"}}},
        {"name": "alerts", "uses": "transform.filter", "needs": ["window.windows"],
         "settings": {"where": "peak > 40"}},
    ],
}


def write_file(landing: Path, index: int, records: int, now_ms: int, rng: np.random.Generator,
               seq0: int) -> Path:
    import fastavro

    arrival = np.sort(now_ms - rng.integers(1, 1001, records))  # the second before the file is written
    delay = rng.integers(0, 3000, records)
    late = rng.random(records) < 0.01
    delay[late] += rng.integers(30_000, 120_000, int(late.sum()))
    devices = rng.integers(0, 1000, records)
    values = rng.normal(20, 3, records)
    values[rng.random(records) < 1e-4] = 60.0  # a spike now and then: its window's peak raises an alert
    rows = [{"seq": seq0 + i, "device_id": f"dev-{int(d):04d}", "event_time": int(a - dl), "ingest_time": int(a),
             "value": float(v)} for i, (d, a, dl, v) in enumerate(zip(devices, arrival, delay, values, strict=True))]
    target = landing / f"readings-{index:06d}.avro"
    tmp = landing / f".{target.name}.tmp"
    with tmp.open("wb") as out:
        fastavro.writer(out, fastavro.parse_schema(SCHEMA), rows)
    os.replace(tmp, target)
    return target


def ledger(state: Path) -> list[dict[str, Any]]:
    path = state / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def kernel_stream(pipeline: Path, landing: Path, state: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "kernel", "stream", str(pipeline), "--landing", str(landing),
               "--state", str(state), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def latency(work: Path, rate: int, seconds: int) -> dict[str, Any]:
    pipeline = work / "pipeline.yaml"
    landing, state = work / "landing", work / "state"
    landing.mkdir()
    process = kernel_stream(pipeline, landing, state, "--clock", "wall", "--until-idle", "5")
    time.sleep(3)  # the process's imports, before the first file
    renamed: dict[str, float] = {}
    rng = np.random.default_rng(1)

    def writer() -> None:
        start = time.time()
        for i in range(seconds):
            delay = start + i + 1 - time.time()
            if delay > 0:
                time.sleep(delay)
            path = write_file(landing, i, rate, int(time.time() * 1000), rng, i * rate)
            renamed[path.name] = time.time()

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    out, err = process.communicate(timeout=seconds + 120)
    if process.returncode != 0:
        raise SystemExit(err)
    done = {e["file"]: e for e in ledger(state) if e["event"] == "done" and e.get("file")}
    lat = [datetime.fromisoformat(done[name]["at"]).timestamp() - renamed[name]
           for name in sorted(renamed)[5:] if name in done]
    run_s = [done[name]["seconds"] for name in sorted(renamed)[5:] if name in done]
    lat.sort()
    alerts = (state / "alerts.jsonl").read_text().splitlines() if (state / "alerts.jsonl").exists() else []
    return {"files": len(done), "alerts": len(alerts),
            "p50_s": statistics.median(lat), "p99_s": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "max_s": lat[-1], "batch_run_s_median": statistics.median(run_s), "summary": out.strip()}


def flagship(work: Path, rate: int, seconds: int) -> dict[str, Any]:
    data, state = work / "live", work / "live-state"
    generator = subprocess.Popen([sys.executable, "-m", "kernel", "showcase", "data", "iot-windowed-kpi", "--stream",
                                  "--rate", str(rate), "--seconds", str(seconds), "--out", str(data)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (data / "telemetry").is_dir():
        if generator.poll() is not None:
            raise SystemExit(generator.communicate()[1])
        time.sleep(0.05)
    stream = subprocess.Popen([sys.executable, "-m", "kernel", "showcase", "stream", "iot-windowed-kpi", "--data",
                               str(data), "--state", str(state), "--clock", "data", "--until-idle", "5", "--final",
                               "--param", f"gold={work / 'live-gold'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = generator.communicate(timeout=seconds + 600)
    if generator.returncode != 0:
        raise SystemExit(err)
    out, err = stream.communicate(timeout=seconds + 600)
    if stream.returncode != 0:
        raise SystemExit(err)
    entries = ledger(state)
    done = sorted((e for e in entries if e["event"] == "done" and e.get("file")), key=lambda e: e["file"])
    lat = sorted(e["latency_s"] for e in done[10:])
    runs = [e["seconds"] for e in done[10:]]
    period = [e for e in entries if e["event"] == "period"]
    alerts = (state / "alerts.jsonl").read_text().splitlines() if (state / "alerts.jsonl").exists() else []
    kpis = json.loads((work / "live-gold" / "kpis.json").read_text())
    return {"files": len(done), "records": sum(e["records"] for e in done), "alerts": len(alerts),
            "p50_s": statistics.median(lat), "p99_s": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "max_s": lat[-1], "batch_run_s_median": statistics.median(runs),
            "period_runs": [{"ok": e["ok"], "seconds": e["seconds"]} for e in period],
            "gold_anomalies": kpis["anomalies"], "summary": out.strip()}


def sink_reads(work: Path, batches: int = 3000, rows: int = 100) -> dict[str, Any]:
    import pandas as pd
    from kernel_stream.sink import merge, parts, read_sink

    frame = pd.DataFrame({"device_id": ["dev-1"] * rows, "v": np.arange(rows, dtype=np.float64),
                          "window_start": pd.date_range("2024-01-01", periods=rows, freq="min", tz="UTC")})
    found: dict[str, Any] = {}
    for label, fanout in (("unmerged", 0), ("merged", 16)):
        directory = work / label / "out"
        directory.mkdir(parents=True)
        merging = 0.0
        for i in range(batches):
            frame.to_parquet(directory / f"part-{i:08d}.parquet", index=False)
            started = time.perf_counter()
            merge(directory, fanout, 1_000_000)
            merging += time.perf_counter() - started
        started = time.perf_counter()
        assert len(read_sink(work / label, "out")) == batches * rows
        found[label] = {"parts": len(parts(directory)), "read_s": time.perf_counter() - started,
                        "merge_ms_per_batch": merging / batches * 1e3}
    return found


def capacity(work: Path, sizes: list[int], files: int) -> list[dict[str, Any]]:
    import fastavro
    import polars as pl

    pipeline = work / "pipeline.yaml"
    found = []
    for size in sizes:
        landing, state = work / f"landing-{size}", work / f"state-{size}"
        landing.mkdir()
        rng = np.random.default_rng(size)
        base = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1000)
        paths = [write_file(landing, i, size, base + (i + 1) * 1000, rng, i * size) for i in range(files)]
        process = kernel_stream(pipeline, landing, state, "--clock", "data", "--until-idle", "0", "--poll")
        _, err = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise SystemExit(err)
        runs = [e["seconds"] for e in ledger(state) if e["event"] == "done" and e.get("file")][2:]
        t0 = time.perf_counter()
        for path in paths[2:]:
            pl.read_avro(path)
        polars_s = (time.perf_counter() - t0) / len(paths[2:])
        t0 = time.perf_counter()
        for path in paths[2:4]:
            with path.open("rb") as stream:
                list(fastavro.reader(stream))
        fastavro_s = (time.perf_counter() - t0) / 2
        run = statistics.median(runs)
        found.append({"records_per_file": size, "batch_run_s": run, "stream_records_per_s": size / run,
                      "polars_decode_s": polars_s, "polars_records_per_s": size / polars_s,
                      "fastavro_decode_s": fastavro_s, "fastavro_records_per_s": size / fastavro_s})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=10_000, help="records per one-second file")
    parser.add_argument("--seconds", type=int, default=60, help="how long the writer writes")
    parser.add_argument("--capacity", default="10000,50000,100000,200000",
                        help="records per file for the capacity runs ('' to skip)")
    parser.add_argument("--files", type=int, default=8, help="files per capacity run")
    parser.add_argument("--flagship", action="store_true", help="stream the flagship's live data set instead")
    parser.add_argument("--sink", action="store_true", help="time reading a sink of many parts, merged or not")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.sink:
            print(json.dumps({"sink": sink_reads(work)}, indent=2), flush=True)
            return
        if args.flagship:
            print(json.dumps({"flagship": flagship(work, args.rate, args.seconds)}, indent=2), flush=True)
            return
        (work / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
        print(json.dumps({"latency": latency(work, args.rate, args.seconds)}, indent=2), flush=True)
        if args.capacity:
            sizes = [int(s) for s in args.capacity.split(",")]
            print(json.dumps({"capacity": capacity(work, sizes, args.files)}, indent=2))


if __name__ == "__main__":
    main()
