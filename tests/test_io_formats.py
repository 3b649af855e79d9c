"""Parquet, CSV and the rules shared by every format: which files a path covers, order, columns, errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io import read_frame, write_frame

from kernel import DataError


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a", "b", None],
        "n": [1, 2, 3],
        "maybe": pd.array([1, None, 3], dtype="Int64"),
        "x": [0.5, float("nan"), 2.0],
        "at": pd.to_datetime(pd.Series(["2024-01-01T00:00:00Z", None, "2024-06-30T23:59:59.5Z"]),
                             format="ISO8601", utc=True),
        "status": pd.Categorical(["ON", None, "OFF"], categories=["ON", "OFF", "UNKNOWN"]),
    })


def test_parquet_round_trip_keeps_everything(tmp_path: Path) -> None:
    write_frame(_frame(), tmp_path / "out.parquet")

    pd.testing.assert_frame_equal(read_frame(tmp_path / "out.parquet"), _frame())


def test_parquet_large_frame_keeps_dictionaries_for_repeated_values_only(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = 140_000  # above what one row group's dictionary of 8-byte values can hold
    frame = pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),  # every value distinct
        "at": pd.date_range("2024-01-01", periods=rows, freq="s", tz="UTC"),
        "site": pd.Series(np.arange(rows) % 7, dtype="int64"),
        "name": pd.Series(np.arange(rows) % 3).map({0: "a", 1: "b", 2: "c"}).astype("str"),
        "status": pd.Categorical(np.where(np.arange(rows) % 2 == 0, "ON", "OFF")),
    })
    write_frame(frame, tmp_path / "out.parquet")

    pd.testing.assert_frame_equal(read_frame(tmp_path / "out.parquet"), frame)
    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    encodings = {group.column(i).path_in_schema.split(".")[0]: group.column(i).encodings
                 for i in range(group.num_columns)}
    dictionary = {name for name, found in encodings.items() if any("DICTIONARY" in e for e in found)}
    assert dictionary == {"site", "name", "status"}

    nested = frame.assign(tags=[[i % 3] for i in range(rows)])  # lists: Arrow decides every column
    write_frame(nested, tmp_path / "nested.parquet")
    pd.testing.assert_frame_equal(read_frame(tmp_path / "nested.parquet"), nested)
    group = pq.ParquetFile(tmp_path / "nested.parquet").metadata.row_group(0)
    assert all(any("DICTIONARY" in e for e in group.column(i).encodings) for i in range(group.num_columns))


def test_csv_text_columns_keep_the_text_written(tmp_path: Path) -> None:
    (tmp_path / "codes.csv").write_text("company,employees\n00012345,3\n10000001,12\n")
    assert read_frame(tmp_path / "codes.csv")["company"].tolist() == [12345, 10000001]  # a number: zeros lost
    kept = read_frame(tmp_path / "codes.csv", text=["company"])
    assert kept["company"].tolist() == ["00012345", "10000001"] and kept["employees"].tolist() == [3, 12]
    with pytest.raises(DataError, match="no column 'compny' to read as text"):
        read_frame(tmp_path / "codes.csv", text=["compny"])
    pd.DataFrame({"company": ["00012345"]}).to_parquet(tmp_path / "codes.parquet")
    with pytest.raises(DataError, match="text applies to CSV files; parquet keeps the types it stores"):
        read_frame(tmp_path / "codes.parquet", text=["company"])


def test_csv_round_trip_with_parse_dates(tmp_path: Path) -> None:
    frame = _frame().drop(columns=["maybe", "status"])
    write_frame(frame, tmp_path / "out.csv")

    back = read_frame(tmp_path / "out.csv", parse_dates=["at"])

    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert str(back["at"].dtype).endswith(", UTC]")


_ZONES = [None, "UTC", "Europe/Amsterdam", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe",
          "Pacific/Chatham"]
_SECONDS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from(list(_SECONDS)), zone=st.sampled_from(_ZONES), lines=st.booleans(), data=st.data())
def test_timestamps_are_written_as_pandas_words_them(tmp_path: Path, unit: str, zone: str | None, lines: bool,
                                                          data: st.DataObject) -> None:
    # pandas words each zoned value through a Timestamp object; write_frame makes the same text with array
    # operations (kernel_io.stamps); naive columns (zone None) are left to pandas, in JSON to the finest unit.
    # Seconds within pandas' nanosecond range (1677-2262), any fraction, missing values, zones with half-hour
    # offsets and daylight saving, and before 1900 the local mean times of whole seconds (CSV leaves those to
    # pandas).
    per = _SECONDS[unit]
    fraction = st.sampled_from([0, 0, per // 2 if per > 1 else 0, per - 1, 1 if per > 1 else 0])
    value = st.one_of(st.none(), st.tuples(st.integers(-9_200_000_000, 9_200_000_000), fraction))
    values = data.draw(st.lists(value, max_size=12))
    raw = np.array([np.iinfo(np.int64).min if v is None else v[0] * per + v[1] for v in values], dtype=np.int64)
    naive = pd.Series(raw.view(f"datetime64[{unit}]"))
    column = naive if zone is None else naive.dt.tz_localize("UTC").dt.tz_convert(zone)
    other = data.draw(st.sampled_from(["s", "ms", "us", "ns"]))  # another column: JSON's unit is the finest
    frame = pd.DataFrame({"at": column, "n": range(len(column)),
                          "seen": pd.Series(raw.view(f"datetime64[{unit}]")).dt.tz_localize("UTC").dt.as_unit(other)})

    write_frame(frame, tmp_path / "out.csv")
    write_frame(frame, tmp_path / "out.json", lines=lines)

    assert (tmp_path / "out.csv").read_text() == frame.to_csv(index=False)
    finest = max((unit, other), key=list(_SECONDS).index)
    if finest == "ns" and (raw[raw != np.iinfo(np.int64).min] % 1000).any():
        return  # pandas' JSON drops a zoned value's nanoseconds: see the test below
    expected = frame.to_json(orient="records", lines=lines, date_format="iso",
                             date_unit="ms" if finest == "s" else finest, force_ascii=False)
    assert (tmp_path / "out.json").read_text() == expected


@pytest.mark.parametrize("lines", [True, False])
def test_json_written_in_pieces_is_the_whole_as_pandas_writes_it(tmp_path: Path, lines: bool,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel_io import json_records

    monkeypatch.setattr(json_records, "_JSON_PIECE", 2)
    frame = _frame().assign(note=["a, \"b\"", None, "é\n"])
    for rows in (3, 2, 1, 0):
        write_frame(frame.iloc[:rows], tmp_path / "out.json", lines=lines)
        expected = frame.iloc[:rows].to_json(orient="records", lines=lines, date_format="iso",
                                             date_unit=json_records._date_unit(frame.dtypes), force_ascii=False)
        assert (tmp_path / "out.json").read_text(encoding="utf-8") == expected


def test_json_writes_naive_timestamps_to_their_unit(tmp_path: Path) -> None:
    stamps = pd.Series(np.array(["2024-01-01T00:00:00.000001"], dtype="datetime64[us]"))
    write_frame(pd.DataFrame({"at": stamps}), tmp_path / "out.json", lines=True)

    assert (tmp_path / "out.json").read_text().strip() == '{"at":"2024-01-01T00:00:00.000001"}'


def test_json_keeps_the_nanoseconds_of_zoned_timestamps(tmp_path: Path) -> None:
    stamps = pd.Series(np.array([999_999_999, 1_500_000_123], dtype="datetime64[ns]")).dt.tz_localize("UTC")
    write_frame(pd.DataFrame({"at": stamps.dt.tz_convert("Asia/Kolkata")}), tmp_path / "out.json", lines=True)

    assert (tmp_path / "out.json").read_text().splitlines() == [
        '{"at":"1970-01-01T00:00:00.999999999Z"}', '{"at":"1970-01-01T00:00:01.500000123Z"}']
    assert "999999000" in pd.DataFrame({"at": stamps}).to_json(date_format="iso", date_unit="ns")  # pandas'


@pytest.mark.parametrize("suffix", [".avro", ".json", ".csv", ".parquet"])
def test_glob_reads_files_in_name_order_and_names_each_rows_file(tmp_path: Path, suffix: str) -> None:
    for name, seqs in [("part-2", [20, 21]), ("part-1", [10, 11]), ("part-3", [30])]:
        write_frame(pd.DataFrame({"seq": seqs}), tmp_path / f"{name}{suffix}")

    frame = read_frame(tmp_path / f"part-*{suffix}", file_column="file")

    assert frame["seq"].tolist() == [10, 11, 20, 21, 30]
    assert frame["file"].tolist() == [f"part-{i}{suffix}" for i in (1, 1, 2, 2, 3)]
    assert list(frame.index) == list(range(5))
    # Sorting by the file column and a stable sort keep the read order (the IoT tie-break).
    assert frame.sort_values("file", kind="stable")["seq"].tolist() == frame["seq"].tolist()


def test_glob_over_directories_names_files_by_their_path_below_the_pattern(tmp_path: Path) -> None:
    for day, seq in [("day=2", 2), ("day=1", 1)]:
        write_frame(pd.DataFrame({"seq": [seq]}), tmp_path / "landing" / day / "part.parquet")

    frame = read_frame(f"{tmp_path}/landing/*/part.parquet", file_column="source")

    assert frame["source"].tolist() == ["day=1/part.parquet", "day=2/part.parquet"]


def test_directory_reads_its_files_of_the_format_and_skips_hidden_ones(tmp_path: Path) -> None:
    write_frame(pd.DataFrame({"seq": [2]}), tmp_path / "b.avro")
    write_frame(pd.DataFrame({"seq": [1]}), tmp_path / "a.avro")
    (tmp_path / ".a.avro.x1y2.tmp").write_bytes(b"half a file")  # an atomic write in progress
    (tmp_path / "README.md").write_text("not data")

    assert read_frame(tmp_path)["seq"].tolist() == [1, 2]


def test_enum_symbols_added_between_files_keep_the_column_categorical(tmp_path: Path) -> None:
    write_frame(pd.DataFrame({"s": pd.Categorical(["A"], categories=["A", "B"])}), tmp_path / "1.avro")
    write_frame(pd.DataFrame({"s": pd.Categorical(["C"], categories=["A", "B", "C"])}), tmp_path / "2.avro")

    column = read_frame(tmp_path)["s"]

    assert list(column.cat.categories) == ["A", "B", "C"]
    assert column.tolist() == ["A", "C"]


def test_columns_keeps_a_subset_in_order_and_names_what_is_missing(tmp_path: Path) -> None:
    write_frame(_frame(), tmp_path / "out.parquet")
    write_frame(_frame(), tmp_path / "out.csv")

    assert list(read_frame(tmp_path / "out.parquet", columns=["x", "id"]).columns) == ["x", "id"]
    assert list(read_frame(tmp_path / "out.csv", columns=["x", "id"]).columns) == ["x", "id"]
    with pytest.raises(DataError, match=r"out\.csv: no column\(s\) nope"):
        read_frame(tmp_path / "out.csv", columns=["id", "nope"])


def test_file_column_may_not_replace_a_column(tmp_path: Path) -> None:
    write_frame(pd.DataFrame({"file": [1]}), tmp_path / "a.csv")

    with pytest.raises(DataError, match="file_column 'file' is already a column"):
        read_frame(tmp_path / "a.csv", file_column="file")


def test_missing_path_and_empty_glob_name_the_path(tmp_path: Path) -> None:
    for path, message in [(tmp_path / "nope.avro", "no such file or directory"),
                          (tmp_path / "*.avro", "no files match")]:
        with pytest.raises(DataError, match=f"^{re.escape(str(path))}: {message}$"):
            read_frame(path)


def test_a_format_that_cannot_be_inferred_asks_for_format(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    (tmp_path / "one.csv").write_text("a\n1\n")
    (tmp_path / "two.json").write_text("[]")

    with pytest.raises(DataError, match=r"data\.txt: cannot infer the format .* set format"):
        read_frame(tmp_path / "data.txt")
    with pytest.raises(DataError, match=r"cannot infer the format \(formats found: csv, json\); set format"):
        read_frame(tmp_path)
    assert read_frame(tmp_path / "data.txt", "csv")["b"].tolist() == [2]
    assert read_frame(tmp_path, "csv")["a"].tolist() == [1]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.parquet", b"PAR1 but not really", "cannot read as parquet"),
        ("empty.csv", b"", "empty CSV file"),
        ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n", "cannot read as csv"),
    ],
)
def test_unreadable_files_are_one_line_data_errors_naming_the_file(tmp_path: Path, name: str, content: bytes,
                                                                   expected: str) -> None:
    (tmp_path / name).write_bytes(content)

    with pytest.raises(DataError) as caught:
        read_frame(tmp_path / name)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / name}: {expected}")
    assert "\n" not in message
