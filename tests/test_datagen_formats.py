"""Each format round-trips: the same table written as Avro, JSON lines, CSV and Parquet reads back (with
fastavro, json, pandas and pyarrow) to the same values, with the declared types; Avro's bytes are those
fastavro itself writes; the kernel's io.read reads every layout."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from kernel_datagen import generate, parse_spec
from kernel_io import read_frame

FORMATS = ("avro", "json", "csv", "parquet")
EXT = {"avro": "avro", "json": "jsonl", "csv": "csv", "parquet": "parquet"}
COLUMNS = {
    "id": {"distribution": {"kind": "sequence", "start": 7}},
    "at": {"distribution": {"kind": "timestamps", "start": "2026-01-05T00:00:00Z", "every": "37min", "jitter": "9s"}},
    "x": {"distribution": {"kind": "normal", "mean": 0, "std": 1e6}},
    "n": {"type": "int", "distribution": {"kind": "uniform", "low": -(2**40), "high": 2**40}},
    "ok": {"distribution": {"kind": "categorical", "values": [True, False]}},
    "text": {"distribution": {"kind": "categorical", "values": ["plain", 'with, comma', 'a "quote"', "Ünïcödé ✓",
                                                               "  spaced  "]}},
    "code": {"distribution": {"kind": "pattern", "pattern": "X-[a-z0-9]{5}"}},
}
DEFECTS = {"nulls": {"x": 0.1, "n": 0.1, "ok": 0.1, "text": 0.1}, "malformed": {"code": 0.2}}


def table(fmt: str, layout: str = "single") -> Any:
    return parse_spec({"tables": {"t": {"rows": 300, "format": fmt, "layout": layout, "key": "id", "time": "at",
                                        "columns": COLUMNS, "defects": DEFECTS}}})


def read_back(path: Path) -> pd.DataFrame:
    """The file read by the format's own library, as plain values: times as UTC milliseconds."""
    if path.suffix == ".avro":
        with path.open("rb") as fo:
            frame = pd.DataFrame(list(fastavro.reader(fo)))
    elif path.suffix == ".jsonl":
        frame = pd.DataFrame([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    else:
        frame = pq.read_table(path).to_pandas()
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601").map(lambda t: t.value // 1_000_000)
    frame["n"] = frame["n"].astype("float64")
    frame["ok"] = frame["ok"].map(lambda v: None if pd.isna(v) else bool(v))
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for fmt in FORMATS:
        out[fmt] = tmp_path_factory.mktemp(fmt)
        generate(table(fmt), out[fmt], seed=9)
    return out


def test_every_format_reads_back_to_the_same_values(written: dict[str, Path]) -> None:
    frames = {fmt: read_back(written[fmt] / f"t.{EXT[fmt]}") for fmt in FORMATS}
    reference = frames["parquet"]
    assert len(reference) == 300 and reference["x"].isna().sum() == 30
    assert set(reference["text"].dropna()) <= {"plain", "with, comma", 'a "quote"', "Ünïcödé ✓", "  spaced  "}
    for fmt in ("avro", "json", "csv"):
        pd.testing.assert_frame_equal(frames[fmt], reference, check_dtype=False, obj=fmt)


def test_the_types_are_written_as_declared(written: dict[str, Path]) -> None:
    schema = pq.read_schema(written["parquet"] / "t.parquet")
    assert {f.name: str(f.type) for f in schema} == {
        "id": "int64", "at": "timestamp[ms, tz=UTC]", "x": "double", "n": "int64", "ok": "bool", "text": "string",
        "code": "string"}
    with (written["avro"] / "t.avro").open("rb") as fo:
        fields = {f["name"]: f["type"] for f in fastavro.reader(fo).writer_schema["fields"]}  # type: ignore[index]
    assert fields == {"id": "long", "at": {"type": "long", "logicalType": "timestamp-millis"},
                      "x": ["null", "double"], "n": ["null", "long"], "ok": ["null", "boolean"],
                      "text": ["null", "string"], "code": "string"}
    lines = (written["csv"] / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,at,x,n,ok,text,code" and '"2026-01-05T00:00:0' in lines[1]
    first = json.loads((written["json"] / "t.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == 7 and first["at"].startswith("2026-01-05T00:00:0") and first["at"].endswith("Z")


def test_avro_is_written_as_fastavro_writes_it(written: dict[str, Path]) -> None:
    path = written["avro"] / "t.avro"
    with path.open("rb") as fo:
        reader = fastavro.reader(fo)
        schema, records, sync = reader.writer_schema, list(reader), reader._header["sync"]
    ours = io.BytesIO()
    fastavro.writer(ours, fastavro.parse_schema(schema), records, sync_marker=sync)  # type: ignore[arg-type]
    assert ours.getvalue() == path.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_kernels_reader_reads_every_format_and_layout(fmt: str, tmp_path: Path) -> None:
    manifest = generate(table(fmt, "daily"), tmp_path, seed=3)
    files = manifest.tables["t"].files
    assert list(files) == [f"t/date=2026-01-{day:02d}/part-00000.{EXT[fmt]}" for day in range(5, 13)]
    frame = read_frame(str(tmp_path / "t" / "*" / f"part-*.{EXT[fmt]}"), parse_dates=["at"] if fmt in (
        "csv", "json") else [])
    assert len(frame) == 300 and frame["id"].tolist() == list(range(7, 307))  # no moves declared: in order
    assert str(frame["at"].dtype).startswith("datetime64") and frame["at"].is_monotonic_increasing
    assert int(frame["x"].isna().sum()) == manifest.tables["t"].defects["nulls.x"].count
    single = generate(table(fmt), tmp_path / "single", seed=3)
    assert single.tables["t"].files == {f"t.{EXT[fmt]}": 300}
    again = read_frame(tmp_path / "single" / f"t.{EXT[fmt]}", parse_dates=["at"] if fmt in ("csv", "json") else [])
    assert np.array_equal(again["x"].to_numpy(), frame["x"].to_numpy(), equal_nan=True)
