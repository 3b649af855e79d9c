"""Avro writes encode a block of records at a time with array operations (kernel_io.avro_encode); the records
must be those fastavro writes from one dict per record, for every kind of column, with and without nulls."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io import avro_encode
from kernel_io.avro_write import write_avro

KINDS = ["int", "Int64", "float", "bool", "boolean", "str", "object", "category_enum", "category_text", "utc",
         "naive", "micros"]


def _column(kind: str, draw: Any, rows: int) -> pd.Series:
    nulls = draw(st.lists(st.booleans(), min_size=rows, max_size=rows)) if draw(st.booleans()) else [False] * rows
    ints = draw(st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(-200, 200), min_size=rows, max_size=rows))
    if kind == "int":
        return pd.Series(np.array(ints, dtype=np.int64))
    if kind == "Int64":
        return pd.Series(pd.array([None if n else v for v, n in zip(ints, nulls, strict=True)], dtype="Int64"))
    if kind == "float":
        floats = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=rows, max_size=rows))
        return pd.Series(np.array(floats, dtype=np.float64))
    if kind in ("bool", "boolean"):
        flags = [v % 2 == 0 for v in ints]
        if kind == "bool":
            return pd.Series(np.array(flags, dtype=bool))
        return pd.Series(pd.array([None if n else v for v, n in zip(flags, nulls, strict=True)], dtype="boolean"))
    if kind in ("str", "object", "category_text"):
        texts = draw(st.lists(st.text(max_size=12), min_size=rows, max_size=rows))
        values = [None if n else t for t, n in zip(texts, nulls, strict=True)]
        if kind == "category_text":
            return pd.Series(pd.Categorical(values))
        return pd.Series(values, dtype="str" if kind == "str" else object)
    if kind == "category_enum":
        values = [None if n else ["ON", "OFF", "UNKNOWN"][v % 3] for v, n in zip(ints, nulls, strict=True)]
        return pd.Series(pd.Categorical(values, categories=["ON", "OFF", "UNKNOWN"]))
    ms = [v % (10**13) - 5 * 10**12 for v in ints]  # 1811 to 2128
    stamps = pd.Series(np.array([np.iinfo(np.int64).min if n else v for v, n in zip(ms, nulls, strict=True)],
                                dtype="datetime64[ms]"))
    if kind == "micros":
        return pd.Series(stamps.to_numpy().astype("datetime64[us]") + np.timedelta64(3, "us")).dt.tz_localize("UTC")
    return stamps.dt.tz_localize("UTC") if kind == "utc" else stamps


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    rows = draw(st.integers(1, 30))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    return pd.DataFrame({f"c{i}_{kind}": _column(kind, draw, rows) for i, kind in enumerate(kinds)})


def _records(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    with path.open("rb") as fo:
        reader = fastavro.reader(fo)
        return reader.writer_schema, list(reader)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    return bool(left == right)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames(), block=st.sampled_from([1, 3, avro_encode.BLOCK]))
def test_blocks_encoded_at_once_hold_the_records_fastavro_writes(tmp_path: Path, frame: pd.DataFrame, block: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(avro_encode, "BLOCK", block)
    monkeypatch.setattr("kernel_io.avro_write.BLOCK", block)
    write_avro(frame, tmp_path / "columnar.avro")
    write_avro(frame, tmp_path / "records.avro", columnar=False)

    schema, records = _records(tmp_path / "columnar.avro")
    expected_schema, expected = _records(tmp_path / "records.avro")
    assert schema == expected_schema
    assert len(records) == len(expected) == len(frame)
    for got, want in zip(records, expected, strict=True):
        assert got.keys() == want.keys()
        assert all(_same(got[k], want[k]) for k in want), (got, want)


def test_a_given_schema_with_null_second_ints_and_floats(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": pd.array([1, None, -7], dtype="Int64"), "x": [0.5, 1.25, -2.0],
                          "s": pd.Series(["a", "b", None], dtype="str")})
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "n", "type": ["int", "null"]}, {"name": "x", "type": "float"},
        {"name": "s", "type": ["string", "null"]}]}
    assert avro_encode.encoders(frame, schema) is not None  # every field encoded at once
    write_avro(frame, tmp_path / "out.avro", schema)

    _, records = _records(tmp_path / "out.avro")
    assert records == [{"n": 1, "x": 0.5, "s": "a"}, {"n": None, "x": 1.25, "s": "b"},
                       {"n": -7, "x": -2.0, "s": None}]


def test_fields_it_does_not_encode_are_written_a_record_at_a_time(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": [1, 2**40], "u": np.array([1, 2**63], dtype=np.uint64)})
    as_int = {"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]}
    assert avro_encode.encoders(frame, as_int) is None  # beyond an Avro int: fastavro's own handling
    three = {"type": "record", "name": "R", "fields": [{"name": "n", "type": ["null", "long", "double"]}]}
    assert avro_encode.encoders(frame, three) is None  # a union of two types
    write_avro(frame, tmp_path / "out.avro", three)

    assert _records(tmp_path / "out.avro")[1] == [{"n": 1}, {"n": 2**40}]
