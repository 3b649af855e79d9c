"""Telemetry read straight into the frame's columns is the frame of each file read, conformed and joined."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io import Source, read_avro, schema_columns
from kernel_iot.ingest import TELEMETRY_CATEGORIES, concat_columns, conform_columns, read_avro_sources
from kernel_iot.placed import can_place
from kernel_iot.schemas import TELEMETRY

from kernel import DataError

NAMES = [field["name"] for field in TELEMETRY["fields"]]
MS = 1_700_000_000_000


def schema(*, seq: str = "long", micros: bool = False, symbols: list[str] | None = None, rssi: bool = True,
           firmware_nullable: bool = False, extra_record: bool = False) -> dict[str, Any]:
    """The telemetry schema as a writer may have it: an int seq, micro timestamps, its own enum symbols, without
    the nullable rssi_dbm, a nullable firmware_version, a field polars does not decode."""
    out = copy.deepcopy(TELEMETRY)
    fields = []
    for field in out["fields"]:
        name = field["name"]
        if name == "seq":
            field["type"] = seq
        elif name in ("event_time", "ingest_time") and micros:
            field["type"] = [{"type": "long", "logicalType": "timestamp-micros"} if isinstance(t, dict) else t
                             for t in field["type"]] if isinstance(field["type"], list) else {
                "type": "long", "logicalType": "timestamp-micros"}
        elif name == "status" and symbols is not None:
            field["type"] = {**field["type"], "symbols": symbols}
        elif name == "rssi_dbm" and not rssi:
            continue
        elif name == "firmware_version" and firmware_nullable:
            field["type"] = ["null", "string"]
        fields.append(field)
    if extra_record:
        fields.append({"name": "extra", "type": {"type": "record", "name": "Extra",
                                                  "fields": [{"name": "x", "type": "long"}]}})
    out["fields"] = fields
    return out


def write(path: Path, records: list[dict[str, Any]], writer: dict[str, Any], codec: str = "null") -> Source:
    with path.open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(copy.deepcopy(writer)), records, codec=codec, sync_interval=2000)
    return Source(path=path, name=path.name)


def reference(sources: list[Source]) -> pd.DataFrame:
    """Each file read into a frame, conformed to the declared schema, and the frames joined."""
    declared = schema_columns(dict(TELEMETRY))
    frames = [conform_columns(read_avro(s.path, NAMES), s.path, declared, TELEMETRY_CATEGORIES) for s in sources]
    frame = concat_columns([{name: f[name] for name in NAMES} for f in frames], NAMES)
    lengths = [len(f) for f in frames]
    frame["source_file"] = pd.Categorical.from_codes(np.repeat(np.arange(len(sources), dtype=np.int32), lengths),
                                                     dtype=pd.CategoricalDtype([s.name for s in sources]))
    frame["row"] = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
    return frame


def placed(sources: list[Source]) -> pd.DataFrame:
    return read_avro_sources(sources, TELEMETRY, categorical=TELEMETRY_CATEGORIES, origin=True)


def test_the_telemetry_schema_is_read_straight_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert can_place(schema_columns(dict(TELEMETRY)), TELEMETRY_CATEGORIES)
    assert not can_place(schema_columns(dict(TELEMETRY)), ())  # its text as str: each file's frame, joined
    record = {"device_id": "d1", "seq": 1, "event_time": None, "ingest_time": MS, "status": "OFFLINE",
              "firmware_version": "1.0", "temperature_c": None, "battery_pct": 2.0, "rssi_dbm": None}
    sources = [write(tmp_path / f"{n}.avro", [record] * n, TELEMETRY, "deflate") for n in (3, 0, 2)]
    expected = reference(sources)

    def no_frame_of_a_file(*_: object, **__: object) -> pd.DataFrame:
        raise AssertionError("a file was read into a frame of its own")

    monkeypatch.setattr("kernel_iot.ingest.read_avro", no_frame_of_a_file)
    pd.testing.assert_frame_equal(placed(sources), expected, check_exact=True)


@st.composite
def files(draw: st.DrawFn) -> list[tuple[dict[str, Any], list[dict[str, Any]], str]]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        writer = schema(seq=draw(st.sampled_from(["long", "int"])), micros=draw(st.booleans()),
                        symbols=draw(st.sampled_from([None, ["OFFLINE", "ONLINE"], ["DEGRADED", "OFFLINE", "ONLINE"]])),
                        rssi=draw(st.booleans()), extra_record=draw(st.booleans()) and draw(st.booleans()))
        symbols = writer["fields"][4]["type"]["symbols"]
        micros = "micros" in str(writer["fields"][2]["type"])
        records = []
        for i in range(draw(st.integers(0, 60))):
            at = MS + draw(st.integers(-10**6, 10**6))
            scale = 1000 if micros else 1
            record: dict[str, Any] = {
                "device_id": draw(st.sampled_from(["d-b", "d-a", "d-é", "d-10", "d-9"])),
                "seq": draw(st.integers(-2**31, 2**31 - 1)),
                "event_time": draw(st.one_of(st.none(), st.just(at * scale + draw(st.integers(-999, 999)) * (
                    scale > 1)))),
                "ingest_time": at * scale, "status": draw(st.sampled_from(symbols)),
                "firmware_version": draw(st.sampled_from(["1.0", "2.0", "", "v1.0"])),
                "temperature_c": draw(st.one_of(st.none(), st.just(float("nan")), st.floats(-50, 80))),
                "battery_pct": draw(st.one_of(st.none(), st.floats(0, 100))),
                "rssi_dbm": draw(st.one_of(st.none(), st.integers(-120, 0))), "extra": {"x": i}}
            records.append(record)
        out.append((writer, records, draw(st.sampled_from(["null", "deflate", "bzip2"]))))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=files())
def test_placed_frame_is_the_frames_of_each_file_joined(tmp_path_factory: pytest.TempPathFactory,
                                                        drawn: list[tuple[dict[str, Any], list[dict[str, Any]], str]]
                                                        ) -> None:
    # bzip2: polars refuses the file, which read_avro reads and is copied into its rows
    root = tmp_path_factory.mktemp("placed")
    sources = [write(root / f"part-{i}.avro", records, writer, codec) for i, (writer, records, codec) in
               enumerate(drawn)]
    pd.testing.assert_frame_equal(placed(sources), reference(sources), check_exact=True)


READING = {"type": "record", "name": "Reading", "fields": [
    {"name": "ok", "type": "boolean"}, {"name": "maybe", "type": ["null", "boolean"]},
    {"name": "count", "type": ["null", "long"]}, {"name": "level", "type": {"type": "enum", "name": "Level",
                                                                          "symbols": ["LOW", "HIGH"]}},
    {"name": "label", "type": ["null", "string"]}]}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(st.tuples(st.lists(st.fixed_dictionaries({
    "ok": st.booleans(), "maybe": st.one_of(st.none(), st.booleans()),
    "count": st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), "level": st.sampled_from(["LOW", "HIGH"]),
    "label": st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))}), max_size=30),
    st.sampled_from(["null", "bzip2"]), st.booleans()), min_size=1, max_size=3))
def test_booleans_nullable_integers_and_text_with_nulls_are_placed_as_conformed(
        tmp_path_factory: pytest.TempPathFactory, drawn: list[tuple[list[dict[str, Any]], str, bool]]) -> None:
    # a file may lack the nullable text: its rows are missing in a categorical column all the same
    root = tmp_path_factory.mktemp("reading")
    without_label = {**READING, "fields": READING["fields"][:-1]}
    sources = [write(root / f"r{i}.avro", records, without_label if unlabelled else READING, codec)
               for i, (records, codec, unlabelled) in enumerate(drawn)]
    declared = schema_columns(READING)
    names = [c.name for c in declared]
    assert can_place(declared, ("label",))
    frames = [conform_columns(read_avro(s.path, names), s.path, declared, ("label",)) for s in sources]
    expected = concat_columns([{name: f[name] for name in names} for f in frames], names)
    pd.testing.assert_frame_equal(read_avro_sources(sources, READING, categorical=("label",)), expected,
                                  check_exact=True)


def test_a_required_field_with_nulls_is_refused_naming_the_file_whichever_way_it_is_read(tmp_path: Path) -> None:
    good = {"device_id": "d1", "seq": 1, "event_time": MS, "ingest_time": MS, "status": "ONLINE",
            "firmware_version": "1.0", "temperature_c": 1.0, "battery_pct": 2.0, "rssi_dbm": -1}
    for codec in ("null", "bzip2"):
        first = write(tmp_path / f"a-{codec}.avro", [good], TELEMETRY, codec)
        bad = write(tmp_path / f"b-{codec}.avro", [good, {**good, "firmware_version": None}],
                    schema(firmware_nullable=True), codec)
        with pytest.raises(DataError, match="'firmware_version' has 1 null value") as info:
            placed([first, bad])
        assert info.value.file == str(bad.path)


def test_a_file_whose_blocks_do_not_add_up_is_refused_as_before(tmp_path: Path) -> None:
    good = {"device_id": "d1", "seq": 1, "event_time": MS, "ingest_time": MS, "status": "ONLINE",
            "firmware_version": "1.0", "temperature_c": 1.0, "battery_pct": 2.0, "rssi_dbm": -1}
    first = write(tmp_path / "a.avro", [good] * 100, TELEMETRY)
    cut = write(tmp_path / "b.avro", [good] * 100, TELEMETRY)
    cut.path.write_bytes(cut.path.read_bytes()[:-40])
    with pytest.raises(DataError, match="corrupt or truncated") as info:
        placed([first, cut])
    assert info.value.file == str(cut.path)
