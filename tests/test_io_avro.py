"""Avro through io's read_frame and write_frame: the dtypes a user gets, and what survives a round trip."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import Any, cast

import fastavro
import pandas as pd
import pytest
from kernel_io import derive_schema, read_frame, write_frame

from kernel import DataError

UTC = dt.UTC
STATUS = {"type": "enum", "name": "Status", "symbols": ["ONLINE", "DEGRADED", "OFFLINE"]}
TELEMETRY: dict[str, Any] = {
    "type": "record",
    "name": "Telemetry",
    "namespace": "iot",
    "fields": [
        {"name": "device_id", "type": "string"},
        {"name": "seq", "type": "long"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ingest_time", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "status", "type": STATUS},
        {"name": "firmware_version", "type": ["null", "string"]},
        {"name": "temperature_c", "type": ["null", "double"]},
        {"name": "rssi_dbm", "type": ["null", "int"]},
        {"name": "charging", "type": ["null", "boolean"]},
    ],
}
T0 = dt.datetime(2024, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def _record(seq: int, **changes: Any) -> dict[str, Any]:
    record = {"device_id": f"d{seq}", "seq": seq, "event_time": T0,
              "ingest_time": T0 + dt.timedelta(microseconds=7), "status": "DEGRADED",
              "firmware_version": "1.2.3", "temperature_c": 21.5, "rssi_dbm": -70, "charging": True}
    return {**record, **changes}


def _write(path: Path, schema: dict[str, Any], records: list[dict[str, Any]]) -> Path:
    with path.open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(schema), records)
    return path


def test_timestamps_become_utc_datetimes_in_their_unit(tmp_path: Path) -> None:
    frame = read_frame(_write(tmp_path / "t.avro", TELEMETRY, [_record(1), _record(2, ingest_time=None)]))

    assert frame["event_time"].dtype == "datetime64[ms, UTC]"
    assert frame["ingest_time"].dtype == "datetime64[us, UTC]"
    assert frame["event_time"][0] == pd.Timestamp(T0)
    assert frame["ingest_time"][0] == pd.Timestamp(T0) + pd.Timedelta(microseconds=7)
    assert pd.isna(frame["ingest_time"][1])


def test_local_timestamps_stay_naive(tmp_path: Path) -> None:
    schema = {"type": "record", "name": "R",
              "fields": [{"name": "at", "type": {"type": "long", "logicalType": "local-timestamp-millis"}}]}
    frame = read_frame(_write(tmp_path / "t.avro", schema, [{"at": dt.datetime(2024, 1, 2, 3, 4, 5)}]))

    assert frame["at"].dtype == "datetime64[ms]"
    assert frame["at"][0] == pd.Timestamp("2024-01-02 03:04:05")


def test_enum_becomes_categorical_with_every_symbol_in_schema_order(tmp_path: Path) -> None:
    frame = read_frame(_write(tmp_path / "t.avro", TELEMETRY, [_record(1, status="OFFLINE"), _record(2)]))

    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert list(frame["status"].cat.categories) == ["ONLINE", "DEGRADED", "OFFLINE"]
    assert list(frame["status"]) == ["OFFLINE", "DEGRADED"]


def test_nullable_fields_keep_their_kind(tmp_path: Path) -> None:
    nulls = {"firmware_version": None, "temperature_c": None, "rssi_dbm": None, "charging": None}
    records = [_record(1), _record(2, **nulls)]
    frame = read_frame(_write(tmp_path / "t.avro", TELEMETRY, records))

    assert frame["seq"].dtype == "int64"  # not nullable in the schema
    assert frame["rssi_dbm"].dtype == "Int64"
    assert frame["charging"].dtype == "boolean"
    assert frame["temperature_c"].dtype == "float64"
    assert pd.api.types.is_string_dtype(frame["firmware_version"].dtype)
    assert frame["rssi_dbm"].tolist() == [-70, pd.NA]
    assert frame.loc[1, ["firmware_version", "temperature_c", "charging"]].isna().all()


def test_nullable_int_is_Int64_even_without_nulls(tmp_path: Path) -> None:
    frame = read_frame(_write(tmp_path / "t.avro", TELEMETRY, [_record(1)]))

    assert frame["rssi_dbm"].dtype == "Int64"


def test_empty_file_has_the_schemas_columns_and_dtypes(tmp_path: Path) -> None:
    empty = read_frame(_write(tmp_path / "empty.avro", TELEMETRY, []))
    full = read_frame(_write(tmp_path / "full.avro", TELEMETRY, [_record(1)]))

    assert len(empty) == 0
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()
    assert list(empty["status"].cat.categories) == ["ONLINE", "DEGRADED", "OFFLINE"]


def test_union_with_null_second_and_named_type_references(tmp_path: Path) -> None:
    schema = {"type": "record", "name": "R", "namespace": "ns", "fields": [
        {"name": "at", "type": [{"type": "long", "logicalType": "timestamp-millis"}, "null"]},
        {"name": "first", "type": STATUS},
        {"name": "second", "type": ["null", "Status"]},
    ]}
    records: list[dict[str, Any]] = [{"at": T0, "first": "ONLINE", "second": "OFFLINE"},
                                     {"at": None, "first": "OFFLINE", "second": None}]
    frame = read_frame(_write(tmp_path / "t.avro", schema, records))

    assert frame["at"].tolist()[0] == pd.Timestamp(T0)
    assert pd.isna(frame["at"][1])
    assert list(frame["second"].cat.categories) == ["ONLINE", "DEGRADED", "OFFLINE"]
    assert frame["second"].tolist()[0] == "OFFLINE"
    assert pd.isna(frame["second"][1])


def test_other_types_keep_fastavros_python_values(tmp_path: Path) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ]}
    records = [{"day": dt.date(2024, 5, 6), "tags": ["a", "b"]}]
    frame = read_frame(_write(tmp_path / "t.avro", schema, records))

    assert frame["day"][0] == dt.date(2024, 5, 6)
    assert frame["tags"][0] == ["a", "b"]


def test_columns_keeps_a_subset_in_the_asked_order(tmp_path: Path) -> None:
    frame = read_frame(_write(tmp_path / "t.avro", TELEMETRY, [_record(1)]), columns=["status", "seq"])

    assert list(frame.columns) == ["status", "seq"]


def test_round_trip_keeps_values_and_dtypes(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "device_id": ["a", "b", None],
        "seq": [1, 2, 3],
        "reading": pd.array([1, None, 3], dtype="Int64"),
        "temperature": [1.5, float("nan"), -2.0],
        "ok": [True, False, True],
        "maybe": pd.array([True, None, False], dtype="boolean"),
        "at": pd.to_datetime(pd.Series(["2024-01-01T00:00:00.001Z", None, "2024-01-02T00:00:00Z"]),
                             format="ISO8601", utc=True).dt.as_unit("ms"),
        "status": pd.Categorical(["ONLINE", None, "OFFLINE"], categories=["ONLINE", "DEGRADED", "OFFLINE"]),
    })
    write_frame(frame, tmp_path / "out.avro")
    back = read_frame(tmp_path / "out.avro")

    pd.testing.assert_frame_equal(back, frame)


def test_object_columns_of_text_are_written_as_strings(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": pd.Series(["a", None], dtype=object)})
    write_frame(frame, tmp_path / "out.avro")

    assert read_frame(tmp_path / "out.avro")["note"].tolist()[0] == "a"
    assert pd.isna(read_frame(tmp_path / "out.avro")["note"][1])


def test_sub_millisecond_times_are_written_as_micros_so_nothing_is_lost(tmp_path: Path) -> None:
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-01T00:00:00.000001Z"], utc=True).as_unit("us")})
    write_frame(frame, tmp_path / "out.avro")

    assert read_frame(tmp_path / "out.avro").equals(frame)


def test_derived_schema_follows_the_dtypes() -> None:
    frame = pd.DataFrame({
        "n": [1], "x": [1.0], "b": [True], "s": ["a"], "maybe": pd.array([None], dtype="Int64"),
        "at": pd.to_datetime(["2024-01-01"], utc=True), "c": pd.Categorical(["X"], categories=["X", "Y"]),
    })
    types = {field["name"]: field["type"] for field in derive_schema(frame)["fields"]}

    assert types == {
        "n": "long", "x": "double", "b": "boolean", "s": "string", "maybe": ["null", "long"],
        "at": {"type": "long", "logicalType": "timestamp-millis"},
        "c": {"type": "enum", "name": "c_enum", "symbols": ["X", "Y"]},
    }


def test_given_schema_is_written_as_is(tmp_path: Path) -> None:
    frame = read_frame(_write(tmp_path / "in.avro", TELEMETRY, [_record(1), _record(2)]))
    write_frame(frame.assign(extra=1), tmp_path / "out.avro", avro_schema=TELEMETRY)

    with (tmp_path / "out.avro").open("rb") as fo:
        reader = fastavro.reader(fo)
        written = [field["name"] for field in cast(dict[str, Any], reader.writer_schema)["fields"]]
        assert cast(dict[str, Any], next(iter(reader)))["event_time"] == T0
    assert written == [field["name"] for field in TELEMETRY["fields"]]
    pd.testing.assert_frame_equal(read_frame(tmp_path / "out.avro"), frame)


def test_given_schema_naming_a_missing_column_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"out\.avro.*lacks: status"):
        write_frame(pd.DataFrame({"device_id": ["a"]}), tmp_path / "out.avro",
                    avro_schema={**TELEMETRY, "fields": TELEMETRY["fields"][:1] + TELEMETRY["fields"][4:5]})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (["ONLINE", "REBOOTING"], "column 'status' holds values that are not symbols of its enum: REBOOTING"),
        (["ONLINE", None], "column 'status' has nulls, but its Avro type has no null branch"),
    ],
)
def test_values_a_given_schema_cannot_hold_are_data_errors_naming_the_column(
        tmp_path: Path, status: list[str | None], expected: str) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "status", "type": STATUS}]}

    with pytest.raises(DataError, match=expected):
        write_frame(pd.DataFrame({"status": status}), tmp_path / "out.avro", avro_schema=schema)


def test_a_column_without_avro_type_is_a_data_error_naming_file_and_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"span": pd.to_timedelta([1], unit="s")})

    with pytest.raises(DataError, match=r"out\.avro: cannot write as avro: column 'span'"):
        write_frame(frame, tmp_path / "out.avro")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda data: data[: len(data) - 40], "corrupt or truncated Avro file"),
        (lambda data: data[:10], "truncated or corrupt Avro header"),
        (lambda data: b"PK\x03\x04" + data[4:], "not an Avro file"),
        (lambda data: b"", "not an Avro file"),
    ],
    ids=["truncated", "short-header", "not-avro", "empty"],
)
def test_damaged_files_are_data_errors_naming_the_file(tmp_path: Path, damage: Any, expected: str) -> None:
    good = _write(tmp_path / "good.avro", TELEMETRY, [_record(i) for i in range(200)])
    bad = tmp_path / "bad.avro"
    bad.write_bytes(damage(good.read_bytes()))

    with pytest.raises(DataError) as caught:
        read_frame(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("content", "says"), [
    (b"", "it is empty"),
    (gzip.compress(b"device_id,temperature\nd1,20.5\n"), "it looks like gzip: decompress it first"),
    (b"device_id,temperature\nd1,20.5\n", "it looks like CSV or other text"),
    (b'[{"device_id": "d1"}]', "it looks like JSON"),
])
def test_a_file_that_is_not_avro_says_what_it_looks_like(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "t.avro"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_frame(path)
    assert info.value.message == f"not an Avro file ({says})"


def test_a_truncated_avro_file_says_where_decoding_stopped(tmp_path: Path) -> None:
    path = tmp_path / "t.avro"
    write_frame(pd.DataFrame({"x": range(5000)}), path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"corrupt or truncated Avro file \(decoding stopped by byte [\d,]+ of "
                                        rf"{len(whole) // 2:,}\)"):
        read_frame(path)
