"""iot.ingest: Avro files read one by one against the declared schemas, the registry and the ground truth."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pytest
from kernel_iot.ingest import ingest, read_registry, read_truth
from kernel_iot.schemas import DEVICE_EVENT, TELEMETRY

from kernel import DataError, StepContext

T0 = pd.Timestamp("2024-03-01T10:00:00Z")


def ms(minutes: float) -> int:
    return int((T0 + pd.Timedelta(minutes=minutes)).value // 1_000_000)


def reading(device: str, seq: int, minute: float | None, **extra: Any) -> dict[str, Any]:
    record = {"device_id": device, "seq": seq, "event_time": None if minute is None else ms(minute),
              "ingest_time": ms((minute or 0) + 0.1), "status": "ONLINE", "firmware_version": "1.2.3",
              "temperature_c": 20.5, "battery_pct": None, "rssi_dbm": -70}
    return {**record, **extra}


def write_avro(path: Path, records: list[dict[str, Any]], schema: dict[str, Any] = TELEMETRY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(copy.deepcopy(schema)), records)
    return path


def event(event_id: str, device: str, minute: float, kind: str = "FIRMWARE_UPDATE", **extra: Any) -> dict[str, Any]:
    record = {"event_id": event_id, "device_id": device, "event_time": ms(minute), "ingest_time": ms(minute + 1),
              "event_type": kind, "from_version": None, "to_version": None, "success": None, "detail": None}
    return {**record, **extra}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    write_avro(tmp_path / "telemetry" / "b.avro", [reading("d2", 1, 1), reading("d1", 2, 2)])
    write_avro(tmp_path / "telemetry" / "a.avro", [reading("d1", 1, 0, battery_pct=50.0, rssi_dbm=None)])
    write_avro(tmp_path / "events.avro", [event("e1", "d1", 3, to_version="1.2.4", success=True),
                                          event("e2", "d9", 4, "REBOOT")], DEVICE_EVENT)
    (tmp_path / "devices.json").write_text(json.dumps([
        {"device_id": "d1", "model": "M", "site": "S", "installed_at": "2024-01-01T00:00:00Z",
         "decommissioned_at": None},
        {"device_id": "d2", "model": "M", "site": "S", "installed_at": "2024-01-01T02:00:00+02:00",
         "decommissioned_at": "2024-06-01T00:00:00"},
    ]))
    return tmp_path


def run(root: Path, **settings: Any) -> dict[str, pd.DataFrame]:
    args = {"telemetry": str(root / "telemetry"), "events": str(root / "events.avro"),
            "devices": str(root / "devices.json"), **settings}
    return dict(ingest({}, **args))


def test_reads_files_in_name_order_with_origin_and_declared_dtypes(dataset: Path) -> None:
    out = run(dataset)
    tele = out["telemetry"]
    assert tele["device_id"].astype(str).tolist() == ["d1", "d2", "d1"]
    assert tele["source_file"].astype(str).tolist() == ["a.avro", "b.avro", "b.avro"]
    assert tele["row"].tolist() == [0, 0, 1]
    assert list(tele["source_file"].cat.categories) == ["a.avro", "b.avro"]
    assert isinstance(tele["device_id"].dtype, pd.CategoricalDtype)
    assert list(tele["status"].cat.categories) == ["ONLINE", "DEGRADED", "OFFLINE"]
    assert str(tele["event_time"].dtype) == str(tele["ingest_time"].dtype) == "datetime64[ms, UTC]"
    assert str(tele["seq"].dtype) == "int64" and str(tele["rssi_dbm"].dtype) == "Int64"
    assert tele["rssi_dbm"].isna().tolist() == [True, False, False]
    assert tele["battery_pct"].tolist()[0] == 50.0 and tele["battery_pct"].isna().tolist()[1:] == [True, True]
    assert tele["event_time"].iloc[0] == T0


def test_events_keep_declared_types(dataset: Path) -> None:
    events = run(dataset)["events"]
    assert list(events["event_type"].cat.categories) == ["FIRMWARE_UPDATE", "REBOOT", "ERROR", "CONNECT",
                                                         "DISCONNECT"]
    assert str(events["success"].dtype) == "boolean"
    assert events["success"].iloc[0] and events["success"].isna().iloc[1]
    assert events["to_version"].tolist() == ["1.2.4", None]


def test_detail8_registry_offsets_converted_no_offset_is_utc_repeated_id_keeps_first(tmp_path: Path) -> None:
    lines = [
        {"device_id": "d1", "model": "A", "site": "S", "installed_at": "2024-01-01T02:00:00+02:00"},
        {"device_id": "d2", "model": "B", "site": "S", "installed_at": "2024-01-01T00:00:00",
         "decommissioned_at": "2024-02-01T00:00:00-05:00"},
        {"device_id": "d1", "model": "C", "site": "T", "installed_at": "2023-01-01T00:00:00Z"},
    ]
    path = tmp_path / "devices.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    reg = read_registry(path)
    assert reg["device_id"].tolist() == ["d1", "d2"]
    assert reg["model"].tolist() == ["A", "B"]  # the first row of d1
    assert reg["installed_at"].tolist() == [pd.Timestamp("2024-01-01T00:00Z")] * 2
    assert reg["decommissioned_at"].iloc[1] == pd.Timestamp("2024-02-01T05:00Z")
    assert pd.isna(reg["decommissioned_at"].iloc[0])
    assert str(reg["installed_at"].dtype) == "datetime64[ms, UTC]"


def test_registry_bad_date_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps([{"device_id": "d1", "model": "A", "site": "S", "installed_at": "yesterday"}]))
    with pytest.raises(DataError, match="installed_at") as info:
        read_registry(path)
    assert info.value.file == str(path)


def test_registry_bad_date_names_the_record_and_the_value(tmp_path: Path) -> None:
    good = {"device_id": "d1", "model": "A", "site": "S", "installed_at": "2024-01-01T00:00:00Z"}
    path = tmp_path / "devices.json"
    path.write_text(json.dumps([good, good, {**good, "device_id": "d3", "installed_at": "01/02/2024 7pm"}]))
    with pytest.raises(DataError) as info:
        read_registry(path)
    assert info.value.message == "record 3: field 'installed_at' is not an ISO-8601 date-time: '01/02/2024 7pm'"


@pytest.mark.parametrize("text", ['{"devices": [{"device_id": "d1"}]}', '{\n  "device_id": "d1",\n  "model": "A"\n}'])
def test_a_registry_that_is_a_json_object_says_so(tmp_path: Path, text: str) -> None:
    path = tmp_path / "devices.json"
    path.write_text(text)
    with pytest.raises(DataError, match="the registry is a JSON object; expected an array of devices"):
        read_registry(path)


def test_truth_absent_is_an_empty_frame_and_present_is_parsed(tmp_path: Path) -> None:
    empty = read_truth(tmp_path / "ground_truth" / "anomalies.json")
    assert list(empty.columns) == ["device_id", "minute"] and len(empty) == 0
    assert str(empty["minute"].dtype) == "datetime64[ms, UTC]"
    path = tmp_path / "anomalies.json"
    path.write_text(json.dumps([{"device_id": "d1", "minute": "2024-03-01T10:02:00Z", "seq": 5}]))
    truth = read_truth(path)
    assert truth["device_id"].tolist() == ["d1"] and truth["minute"].tolist() == [T0 + pd.Timedelta("2min")]


def test_telemetry_null_reads_the_reference_data_alone(dataset: Path) -> None:
    # A stream's period reads its telemetry from the sink: the registry and events only, no telemetry file.
    (dataset / "telemetry" / "a.avro").write_bytes(b"not avro")  # not even opened
    out = run(dataset, telemetry=None)
    assert out["telemetry"].empty
    assert out["events"]["event_id"].tolist() == ["e1", "e2"] and out["devices"]["device_id"].tolist() == ["d1", "d2"]


def test_corrupt_avro_among_good_ones_names_that_file(dataset: Path) -> None:
    good = (dataset / "telemetry" / "a.avro").read_bytes()
    bad = dataset / "telemetry" / "c.avro"
    bad.write_bytes(good[: len(good) - 20] + b"\x00" * 7)  # a damaged last block
    with pytest.raises(DataError) as info:
        run(dataset)
    assert info.value.file == str(bad) and "c.avro" in str(info.value)


def test_not_avro_among_good_ones_names_that_file(dataset: Path) -> None:
    bad = dataset / "telemetry" / "c.avro"
    bad.write_bytes(b"this is not avro at all")
    with pytest.raises(DataError) as info:
        run(dataset)
    assert info.value.file == str(bad)


def test_empty_telemetry_directory_stops_the_run_naming_it(dataset: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "README.txt").write_text("no data here")
    with pytest.raises(DataError, match="no telemetry") as info:
        run(dataset, telemetry=str(empty))
    assert info.value.file == str(empty)
    assert "\n" not in str(info.value)


def _schema(**changes: Any) -> dict[str, Any]:
    schema = copy.deepcopy(TELEMETRY)
    fields = [f for f in schema["fields"] if changes.get(f["name"], ...) is not None]
    schema["fields"] = [{**f, "type": changes[f["name"]]} if f["name"] in changes else f for f in fields]
    return schema


def test_writer_field_of_another_type_names_file_and_field(tmp_path: Path) -> None:
    path = write_avro(tmp_path / "telemetry" / "x.avro", [{**reading("d1", 1, 0), "seq": "1"}],
                      _schema(seq="string"))
    with pytest.raises(DataError, match="field 'seq' is string") as info:
        ingest_only(tmp_path)
    assert info.value.file == str(path)


def test_missing_required_field_is_refused_and_missing_nullable_field_is_null(tmp_path: Path) -> None:
    record = reading("d1", 1, 0)
    write_avro(tmp_path / "telemetry" / "x.avro", [record], _schema(firmware_version=None))
    with pytest.raises(DataError, match="field 'firmware_version'"):
        ingest_only(tmp_path)
    write_avro(tmp_path / "telemetry" / "x.avro", [record], _schema(rssi_dbm=None, battery_pct=None))
    tele = ingest_only(tmp_path)
    assert tele["rssi_dbm"].isna().all() and str(tele["rssi_dbm"].dtype) == "Int64"
    assert tele["battery_pct"].isna().all()


def test_enum_symbol_not_declared_is_refused(tmp_path: Path) -> None:
    status = {"type": "enum", "name": "Status", "symbols": ["ONLINE", "DEGRADED", "OFFLINE", "SLEEPING"]}
    write_avro(tmp_path / "telemetry" / "x.avro", [reading("d1", 1, 0, status="SLEEPING")], _schema(status=status))
    with pytest.raises(DataError, match="SLEEPING"):
        ingest_only(tmp_path)


def test_int_seq_is_promoted_and_a_nullable_writer_field_needs_values(tmp_path: Path) -> None:
    write_avro(tmp_path / "telemetry" / "x.avro", [reading("d1", 7, 0)], _schema(seq="int"))
    assert ingest_only(tmp_path)["seq"].tolist() == [7]
    write_avro(tmp_path / "telemetry" / "x.avro", [reading("d1", 7, 0, firmware_version=None)],
               _schema(firmware_version=["null", "string"]))
    with pytest.raises(DataError, match="'firmware_version' has 1 null"):
        ingest_only(tmp_path)


def ingest_only(root: Path) -> pd.DataFrame:
    write_avro(root / "events.avro", [], DEVICE_EVENT)
    (root / "devices.json").write_text("[]")
    return run(root)["telemetry"]


def test_every_file_read_is_reported_with_rows_and_content_hash(dataset: Path) -> None:
    ctx = StepContext(run_id="r1", step="ingest", run_dir=dataset)
    truth = dataset / "truth.json"
    truth.write_text("[]")
    run(dataset, truth=str(truth), ctx=ctx)
    reads = {Path(d.path).name: d for d in ctx.datasets}
    assert set(reads) == {"a.avro", "b.avro", "events.avro", "devices.json", "truth.json"}
    assert reads["b.avro"].rows == 2 and reads["devices.json"].rows == 2 and reads["a.avro"].format == "avro"
    digest = hashlib.sha256((dataset / "telemetry" / "b.avro").read_bytes()).hexdigest()
    assert reads["b.avro"].content_hash == f"sha256:{digest}"
    assert reads["a.avro"].columns is not None and reads["a.avro"].columns["event_time"] == "datetime64[ms, UTC]"


def test_files_read_side_by_side_come_out_in_name_order_and_the_first_bad_one_is_named(tmp_path: Path) -> None:
    # Twelve files read on the cores' threads: rows and reports in file-name order, whichever finishes first.
    for n in range(12):
        records = [reading(f"d{n}", seq, seq) for seq in range(1 + (11 - n) * 40)]  # the first files are the largest
        write_avro(tmp_path / "telemetry" / f"f{n:02d}.avro", records)
    ctx = StepContext(run_id="r1", step="ingest", run_dir=tmp_path)
    write_avro(tmp_path / "events.avro", [], DEVICE_EVENT)
    (tmp_path / "devices.json").write_text("[]")
    tele = run(tmp_path, ctx=ctx)["telemetry"]
    expected = [f"f{n:02d}.avro" for n in range(12) for _ in range(1 + (11 - n) * 40)]
    assert tele["source_file"].astype(str).tolist() == expected
    assert tele["device_id"].astype(str).tolist() == [f"d{int(name[1:3])}" for name in expected]
    assert [Path(d.path).name for d in ctx.datasets][:12] == [f"f{n:02d}.avro" for n in range(12)]
    for n in (9, 4):  # two damaged files: the first in order is the one named
        (tmp_path / "telemetry" / f"f{n:02d}.avro").write_bytes(b"not avro")
    with pytest.raises(DataError) as info:
        run(tmp_path)
    assert info.value.file == str(tmp_path / "telemetry" / "f04.avro")
