"""The IoT showcase's data generator: reproducible bytes, declared schemas, every fault kind, honest counts."""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest
from kernel_iot.gen_avro import _string_table, encode, records
from kernel_iot.gen_params import GeneratorParams
from kernel_iot.generate import generate, main
from kernel_iot.schemas import DEVICE_EVENT, EVENT_TYPE_SYMBOLS, STATUS_SYMBOLS, TELEMETRY

SMALL: dict[str, Any] = {"devices": 20, "days": 2, "seed": 3}
START = pd.Timestamp("2026-01-05T00:00:00Z")
SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
FIVE_MIN, THREE_MIN = pd.Timedelta("5min"), pd.Timedelta("3min")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iot") / "data"
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def telemetry(data: Path) -> pd.DataFrame:
    """The small data set's telemetry, decoded once (tests take copies when they add columns)."""
    return _telemetry(data)


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _avro(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as fo:
        return list(fastavro.reader(fo))


def _telemetry(root: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((root / "telemetry").glob("*.avro")):
        frame = pd.DataFrame(_avro(path), columns=[f["name"] for f in TELEMETRY["fields"]])
        frames.append(frame.assign(file=path.relative_to(root).as_posix()))
    out = pd.concat(frames, ignore_index=True)
    for column in ("event_time", "ingest_time"):
        out[column] = pd.to_datetime(out[column], utc=True)
    return out


def _registry(root: Path) -> pd.DataFrame:
    rows = json.loads((root / "devices.json").read_text())
    frame = pd.DataFrame(rows)
    for column in ("installed_at", "decommissioned_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def test_same_seed_gives_the_same_bytes(data: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", **SMALL)
    assert _hashes(tmp_path / "again") == _hashes(data)


def test_another_seed_gives_other_data(data: Path, tmp_path: Path) -> None:
    generate(tmp_path / "other", **{**SMALL, "seed": 4})
    mine, other = _hashes(data), _hashes(tmp_path / "other")
    assert mine.keys() == other.keys()
    assert all(mine[k] != other[k] for k in mine)


def test_splitting_the_files_does_not_change_the_records(tmp_path: Path) -> None:
    def decoded(out: Path) -> list[dict[str, Any]]:
        return [r for p in sorted((out / "telemetry").glob("*.avro")) for r in _avro(p)]

    generate(tmp_path / "days", devices=4, days=2, seed=5)
    generate(tmp_path / "three", devices=4, days=2, seed=5, files=3)
    assert len(list((tmp_path / "three" / "telemetry").glob("*.avro"))) == 3
    assert decoded(tmp_path / "three") == decoded(tmp_path / "days")


def test_avro_files_carry_and_match_the_declared_schemas(data: Path, telemetry: pd.DataFrame) -> None:
    canonical = fastavro.schema.to_parsing_canonical_form
    for path, schema in [*((p, TELEMETRY) for p in sorted((data / "telemetry").glob("*.avro"))),
                         (data / "events" / "events.avro", DEVICE_EVENT)]:
        with path.open("rb") as fo:
            reader = fastavro.reader(fo)  # reads the header only
            assert canonical(reader.writer_schema) == canonical(fastavro.parse_schema(schema))
            header = json.dumps(json.loads(reader.metadata["avro.schema"]))
        assert header.count('"logicalType": "timestamp-millis"') == 2
        symbols = STATUS_SYMBOLS if schema is TELEMETRY else EVENT_TYPE_SYMBOLS
        assert json.dumps(list(symbols)) in header
    with (data / "events" / "events.avro").open("rb") as fo:
        events = list(fastavro.reader(fo, reader_schema=DEVICE_EVENT))  # decodes against the declared schema
    assert all(fastavro.validate(e, fastavro.parse_schema(DEVICE_EVENT), raise_errors=False) for e in events)
    assert {e["event_type"] for e in events} == set(EVENT_TYPE_SYMBOLS)
    assert all(isinstance(e["event_time"], datetime) and e["event_time"].tzinfo is not None for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    assert [e["ingest_time"] for e in events] == sorted(e["ingest_time"] for e in events)
    assert set(telemetry["status"]) == set(STATUS_SYMBOLS)
    assert isinstance(telemetry["ingest_time"].dtype, pd.DatetimeTZDtype)  # timestamp-millis: decoded as times
    assert telemetry["ingest_time"].is_monotonic_increasing  # each file is in arrival order, and so are they


def test_block_encoding_is_what_fastavro_writes() -> None:
    rng = np.random.default_rng(0)
    n = 3000

    def null() -> np.ndarray:
        return rng.random(n) < 0.2

    c = {"dev": rng.integers(0, 3, n), "seq": rng.integers(-(2**62), 2**62, n), "event_null": null(),
         "event": rng.integers(-(2**40), 2**45, n), "ingest": rng.integers(0, 2**45, n),
         "status": rng.integers(0, 3, n).astype(np.int8), "fw": rng.integers(0, 2, n),
         "temp": np.where(null(), np.nan, rng.normal(0, 100, n)),
         "battery": np.where(null(), np.nan, rng.normal(0, 1, n)),
         "rssi": rng.integers(-(2**31), 2**31, n), "rssi_null": null(), "copy": np.zeros(n, bool)}
    ids, versions = ["a", "dévice-ü" * 30, ""], ["1.2.3", "x" * 200]
    expected = io.BytesIO()
    for record in records(c, ids, versions):
        fastavro.schemaless_writer(expected, fastavro.parse_schema(TELEMETRY), record)
    assert encode(c, _string_table(ids), _string_table(versions)) == expected.getvalue()


def test_every_telemetry_fault_kind_is_present(data: Path, telemetry: pd.DataFrame) -> None:
    t, reg = telemetry, _registry(data)
    first = reg.drop_duplicates("device_id")
    known = set(first["device_id"])
    timed = t[t["event_time"].notna()]

    copies = t[t.duplicated(["device_id", "seq"], keep=False)].sort_values("ingest_time")
    assert len(copies) > 0
    assert (copies.groupby(["device_id", "seq"])["event_time"].nunique(dropna=False) == 1).all()
    unknown = t[~t["device_id"].isin(known)]
    assert unknown["device_id"].nunique() >= 2
    flood = unknown[unknown["device_id"] == "dev-00000"].drop_duplicates("seq")
    assert len(flood) == GeneratorParams().fleet.flood_records
    assert (timed["event_time"] > timed["ingest_time"] + FIVE_MIN).any()
    assert t["event_time"].isna().any()
    bad = t.loc[~t["firmware_version"].str.match(SEMVER), "firmware_version"]
    assert bad.str.startswith("v").any() and bad.str.endswith("-beta").any() and bad.str.count(r"\.").eq(1).any()
    assert (timed["ingest_time"] - timed["event_time"] > THREE_MIN).any()  # late beyond watermark + trigger
    assert t["temperature_c"].isna().any()
    assert ((t["battery_pct"] < 0) | (t["battery_pct"] > 100) | (t["rssi_dbm"] > 0)).any()
    assert {"DEGRADED", "OFFLINE"} <= set(t["status"])

    joined = timed.merge(first, on="device_id")
    assert (joined["event_time"] >= joined["decommissioned_at"]).any()
    pre = joined[joined["installed_at"] > START]
    assert (pre["event_time"] < pre["installed_at"]).any() and (pre["event_time"] >= pre["installed_at"]).any()
    in_service = first[(first["installed_at"] < START) & first["decommissioned_at"].isna()]
    assert set(in_service["device_id"]) - set(t["device_id"])  # a silent device
    retired = first[first["decommissioned_at"] < START]
    assert len(retired) and not set(retired["device_id"]) & set(t["device_id"])


def test_seq_counts_messages_in_event_time_order(data: Path, telemetry: pd.DataFrame) -> None:
    t = telemetry.drop_duplicates(["device_id", "seq"])
    clean = t[t["event_time"].notna() & (t["event_time"] <= t["ingest_time"] + FIVE_MIN)]
    ordered = clean.sort_values(["device_id", "seq"])
    assert ordered.groupby("device_id")["event_time"].apply(lambda s: s.is_monotonic_increasing).all()


def test_registry_has_offsets_naive_times_and_a_repeated_id(data: Path) -> None:
    rows = json.loads((data / "devices.json").read_text())
    stamps = [r["installed_at"] for r in rows]
    assert any(re.search(r"[+-]\d\d:\d\d$", s) and not s.endswith("+00:00") for s in stamps)
    assert any(not s.endswith("Z") and not re.search(r"[+-]\d\d:\d\d$", s) for s in stamps)
    ids = [r["device_id"] for r in rows]
    repeated = {i for i in ids if ids.count(i) > 1}
    assert len(repeated) == 1
    twins = [r for r in rows if r["device_id"] in repeated]
    assert twins[0] != twins[1]


def test_firmware_rollout_with_failures_and_the_switch_in_telemetry(data: Path, telemetry: pd.DataFrame) -> None:
    events = pd.DataFrame(_avro(data / "events" / "events.avro"))
    updates = events[events["event_type"] == "FIRMWARE_UPDATE"]
    assert (updates["success"] == False).any() and (updates["success"] == True).any()  # noqa: E712
    assert {"REBOOT", "ERROR", "CONNECT", "DISCONNECT"} <= set(events["event_type"])
    assert not set(events["device_id"]) <= set(_registry(data)["device_id"])  # events of unknown devices
    t = telemetry
    clock_ok = t["event_time"].notna() & (t["event_time"] <= t["ingest_time"] + FIVE_MIN)
    t = t[clock_ok & t["firmware_version"].str.match(SEMVER)]
    rolled = set(events.loc[events["detail"].fillna("").str.contains("rolled back"), "device_id"])
    switched = 0
    for update in updates[updates["success"] == True].itertuples():  # noqa: E712
        if update.device_id in rolled:
            continue
        mine = t[t["device_id"] == update.device_id]
        at = pd.Timestamp(update.event_time)
        assert set(mine.loc[mine["event_time"] >= at, "firmware_version"]) == {update.to_version}
        assert set(mine.loc[mine["event_time"] < at, "firmware_version"]) == {update.from_version}
        switched += 1
    assert switched
    for update in updates[updates["success"] == False].itertuples():  # noqa: E712
        later = t[(t["device_id"] == update.device_id) & (t["event_time"] >= pd.Timestamp(update.event_time))]
        retried = updates[(updates["device_id"] == update.device_id) & (updates["success"] == True)]  # noqa: E712
        if retried.empty:
            assert set(later["firmware_version"]) <= {update.from_version}


def test_ground_truth_lists_only_real_spikes(data: Path, telemetry: pd.DataFrame) -> None:
    truth = json.loads((data / "ground_truth" / "anomalies.json").read_text())
    assert truth
    t = telemetry.drop_duplicates(["device_id", "seq"])
    t = t[t["event_time"].notna()]
    typical = t.groupby("device_id")["temperature_c"].median()
    t["minute"] = t["event_time"].dt.floor("1min").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    by_key = t.set_index(["device_id", "minute"])["temperature_c"]
    for spike in truth:
        key = (spike["device_id"], spike["minute"])
        if spike["lost"]:
            assert key not in by_key.index
            continue
        assert by_key[key] - typical[spike["device_id"]] > 15
    # ... and nothing else is that far above its device's typical temperature.
    hot = t[t["temperature_c"] - t["device_id"].map(typical) > 15]
    assert set(zip(hot["device_id"], hot["minute"], strict=True)) <= {(s["device_id"], s["minute"]) for s in truth}


def test_manifest_counts_are_what_the_files_hold(data: Path, telemetry: pd.DataFrame) -> None:
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["parameters"] == {**SMALL, "start": "2026-01-05T00:00:00Z", "files": None, "codec": "null"}
    t, reg = telemetry, _registry(data)
    first = reg.drop_duplicates("device_id").set_index("device_id")
    timed = t["event_time"].notna()
    registered = t["device_id"].isin(first.index)
    installed = t["device_id"].map(first["installed_at"])
    decommissioned = t["device_id"].map(first["decommissioned_at"])
    t = t.assign(
        records=True,
        duplicate_deliveries=t.sort_values("ingest_time", kind="stable").duplicated(["device_id", "seq"]),
        null_event_time=~timed,
        future_event_time=timed & (t["event_time"] > t["ingest_time"] + FIVE_MIN),
        bad_firmware_version=~t["firmware_version"].str.match(SEMVER),
        unknown_device=~registered,
        after_decommissioned=timed & registered & (t["event_time"] >= decommissioned),
        before_installed=timed & registered & (t["event_time"] < installed),
        ingest_over_3min_after_event=timed & (t["ingest_time"] - t["event_time"] > THREE_MIN),
        offline_status=t["status"] == "OFFLINE",
        null_temperature=t["temperature_c"].isna(),
        battery_out_of_range=(t["battery_pct"] < 0) | (t["battery_pct"] > 100),
        rssi_out_of_range=(t["rssi_dbm"] > 0) | (t["rssi_dbm"] < -140),
    )
    for name, written in manifest["files"].items():
        if name.startswith("telemetry/"):
            counts = {k: v for k, v in written.items() if not k.startswith("ingest_")}
            mine = t[t["file"] == name]
            assert counts == {k: int(mine[k].sum()) for k in counts}, name
    totals = {k: v for k, v in manifest["telemetry"].items() if k != "files"}
    assert totals == {k: int(t[k].sum()) for k in totals}
    events = _avro(data / "events" / "events.avro")
    assert manifest["files"]["events/events.avro"]["records"] == len(events)
    assert manifest["events"]["firmware_updates_failed"] == sum(e["success"] is False for e in events)
    assert manifest["files"]["devices.json"]["records"] == len(reg)
    truth = json.loads((data / "ground_truth" / "anomalies.json").read_text())
    assert manifest["anomalies"]["injected"] == len(truth)


def test_command_line_writes_a_data_set(tmp_path: Path) -> None:
    plugins = str(Path(inspect.getfile(generate)).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [plugins, os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "kernel_iot.generate", "--devices", "3", "--days", "1", "--seed", "9",
                           "--out", str(out)], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "telemetry records" in done.stdout
    assert json.loads((out / "manifest.json").read_text())["parameters"]["devices"] == 3


def test_bad_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="UTC midnight"):
        generate(tmp_path, start="2026-01-05T06:00:00Z")
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path, devices=0)
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--days", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_start_may_be_a_datetime_in_any_zone(tmp_path: Path) -> None:
    summary = generate(tmp_path / "a", devices=2, days=1, start=datetime(2026, 3, 2, tzinfo=UTC))
    assert summary.telemetry_records > 0
    manifest = json.loads(summary.manifest.read_text())
    assert manifest["period"] == {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}


def test_the_generator_says_how_far_it_has_come(tmp_path: Path) -> None:
    said: list[tuple[int, int | None, str]] = []
    summary = generate(tmp_path / "d", devices=6, days=2, seed=5, progress=lambda *a: said.append(a))
    counts = [done for done, _, _ in said]
    assert len(said) >= 48  # after each hour of ingest time
    assert counts == sorted(counts) and counts[-1] == summary.telemetry_records
    assert {(total, unit) for _, total, unit in said} == {(None, "records")}


def test_the_live_mode_writes_the_same_records_a_file_a_second(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The records of the data set, in ingest order, `rate` a file, each renamed in once written; the
    # clock is the test's, so no time passes.
    whole = generate(tmp_path / "whole", devices=6, days=1, seed=3, files=1)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    from kernel_iot import gen_live

    original = gen_live.write_live

    def fake(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "clock": lambda: now[0], "sleep": sleep})

    monkeypatch.setattr(gen_live, "write_live", fake)
    live = generate(tmp_path / "live", devices=6, days=1, seed=3, stream=True, rate=1000, seconds=5)
    names = sorted(p.name for p in (tmp_path / "live" / "telemetry").iterdir())
    assert names == [f"live-{i:06d}.avro" for i in range(5)]
    assert waits == [1.0] * 5 and live.telemetry_records == 5000
    got = pd.concat([pd.DataFrame(fastavro.reader(p.open("rb"))) for p in sorted(live.telemetry_files)])
    expected = pd.DataFrame(fastavro.reader(whole.telemetry_files[0].open("rb"))).head(5000)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    assert got["ingest_time"].is_monotonic_increasing
    assert json.loads((tmp_path / "live" / "manifest.json").read_text())["live"]["files"] == 5


def test_the_live_mode_from_the_command_line_writes_into_the_directory_as_it_goes(tmp_path: Path) -> None:
    out = tmp_path / "live"
    process = subprocess.Popen([sys.executable, "-m", "kernel", "showcase", "data", "iot-windowed-kpi", "--out",
                                str(out), "--stream", "--rate", "300", "--seconds", "4", "--devices", "5",
                                "--days", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_while_running = False
    while process.poll() is None:
        if (out / "telemetry" / "live-000000.avro").exists():
            seen_while_running = True  # a stream can take the first file while the rest are to come
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert seen_while_running
    assert sorted(p.name for p in (out / "telemetry").iterdir()) == [f"live-{i:06d}.avro" for i in range(4)]
    assert "streamed (1,200 records)" in stdout
