"""The columnar Avro decoder (polars) gives exactly the frame the record-at-a-time one (fastavro) gives:
compared on random files of every field shape it reads, nulls, empty strings and codecs included; files
of other shapes, and damaged ones, are read the record-at-a-time way."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io.avro_read import _columnar_reads, read_avro

from kernel import DataError

SHAPES: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "text": ("string", st.text(max_size=6)),
    "ntext": (["null", "string"], st.none() | st.text(max_size=6)),
    "count": ("long", st.integers(-(2**63), 2**63 - 1)),
    "ncount": (["null", "long"], st.none() | st.integers(-(2**40), 2**40)),
    "small": ("int", st.integers(-(2**31), 2**31 - 1)),
    "nsmall": (["null", "int"], st.none() | st.integers(-100, 100)),
    "real": ("double", st.floats(allow_nan=False, width=64)),
    "nreal": (["null", "double"], st.none() | st.floats(allow_nan=False)),
    "single": ("float", st.floats(allow_nan=False, width=32)),
    "flag": ("boolean", st.booleans()),
    "nflag": (["null", "boolean"], st.none() | st.booleans()),
    "blob": ("bytes", st.binary(max_size=4)),
    "at": ({"type": "long", "logicalType": "timestamp-millis"}, st.integers(-(2**40), 2**40)),
    "nat": (["null", {"type": "long", "logicalType": "timestamp-micros"}], st.none() | st.integers(0, 2**50)),
    "state": ({"type": "enum", "name": "State", "symbols": ["UP", "DOWN", "GONE"]},
              st.sampled_from(["UP", "DOWN", "GONE"])),
}


@st.composite
def files(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    names = draw(st.lists(st.sampled_from(list(SHAPES)), min_size=1, max_size=6, unique=True))
    schema = {"type": "record", "name": "Row", "fields": [{"name": n, "type": SHAPES[n][0]} for n in names]}
    rows = draw(st.lists(st.fixed_dictionaries({n: SHAPES[n][1] for n in names}), min_size=1, max_size=40))
    return schema, rows, draw(st.sampled_from(["null", "deflate"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_the_columnar_decoder_gives_the_record_at_a_time_frame(case: tuple[dict[str, Any], list[Any], str]) -> None:
    schema, rows, codec = case
    assert _columnar_reads(schema)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.avro"
        with path.open("wb") as fo:
            fastavro.writer(fo, fastavro.parse_schema(schema), rows, codec=codec, sync_interval=200)
        pd.testing.assert_frame_equal(read_avro(path), read_avro(path, columnar=False), check_exact=True)


@pytest.mark.parametrize("field", [
    {"name": "x", "type": ["null", {"type": "enum", "name": "E", "symbols": ["A"]}]},  # polars panics on it
    {"name": "x", "type": ["string", "null"]},
    {"name": "x", "type": {"type": "array", "items": "long"}},
    {"name": "x", "type": {"type": "int", "logicalType": "date"}},
])
def test_other_shapes_are_read_a_record_at_a_time(field: dict[str, Any]) -> None:
    assert not _columnar_reads({"type": "record", "name": "R", "fields": [field]})


def test_a_damaged_file_is_refused_naming_it_and_where_decoding_stopped(tmp_path: Path) -> None:
    path = tmp_path / "t.avro"
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}]}
    with path.open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(schema), [{"x": i} for i in range(5000)], sync_interval=1000)
    path.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(DataError) as info:
        read_avro(path)
    assert str(info.value).startswith(f"{path}: corrupt or truncated Avro file (decoding stopped by byte")


def test_a_file_decoded_in_many_batches_of_blocks_is_the_same_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kernel_io.avro_read

    monkeypatch.setattr(kernel_io.avro_read, "_BATCH_BYTES", 2_000)  # a few blocks per batch
    names = ["text", "ncount", "nreal", "at", "state", "nflag"]
    schema = {"type": "record", "name": "Row", "fields": [{"name": n, "type": SHAPES[n][0]} for n in names]}
    rows = [{"text": f"d{i % 7}", "ncount": None if i % 5 == 0 else i, "nreal": i / 3, "at": i * 1000,
             "state": ["UP", "DOWN", "GONE"][i % 3], "nflag": None if i % 4 == 0 else i % 2 == 0}
            for i in range(5_000)]
    path = tmp_path / "f.avro"
    with path.open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(schema), rows, codec="deflate", sync_interval=500)
    batches = list(kernel_io.avro_read._block_runs(_past_header(path)))
    assert len(batches) > 10
    pd.testing.assert_frame_equal(read_avro(path), read_avro(path, columnar=False), check_exact=True)


def _past_header(path: Path) -> Any:
    from kernel_io.avro_read import HEADER_SCHEMA

    fo = path.open("rb")
    fastavro.schemaless_reader(fo, HEADER_SCHEMA, None)
    return fo
