"""JSON through io's read_frame and write_frame: arrays, JSON lines, dtypes, dates and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kernel_io import read_frame, write_frame

from kernel import DataError

DEVICES = [
    {"device_id": "d1", "model": "M1", "installed_at": "2024-01-01T00:00:00", "decommissioned_at": None},
    {"device_id": "d2", "model": "M2", "installed_at": "2024-01-01T02:00:00+02:00",
     "decommissioned_at": "2024-02-01T00:00:00Z"},
]


def test_array_and_json_lines_give_the_same_frame(tmp_path: Path) -> None:
    array = tmp_path / "devices.json"
    array.write_text("\n  " + json.dumps(DEVICES, indent=2))
    lines = tmp_path / "devices.jsonl"
    lines.write_text("\n".join(json.dumps(d) for d in DEVICES) + "\n\n")

    from_array = read_frame(array)
    from_lines = read_frame(lines)

    pd.testing.assert_frame_equal(from_array, from_lines)
    assert from_array["device_id"].tolist() == ["d1", "d2"]


def test_dtypes_follow_the_values(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps([
        {"n": 1, "maybe_n": 1, "x": 1, "flag": True, "s": "a", "nested": {"k": 1}},
        {"n": 2, "maybe_n": None, "x": 2.5, "flag": False, "s": None, "nested": [1]},
    ]))
    frame = read_frame(path)

    assert frame.dtypes.astype(str).to_dict() == {
        "n": "int64", "maybe_n": "Int64", "x": "float64", "flag": "bool", "s": "str", "nested": "object",
    }
    assert frame["maybe_n"].tolist() == [1, pd.NA]
    assert frame["nested"].tolist() == [{"k": 1}, [1]]


def test_keys_missing_from_some_objects_are_nulls(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"b": "x"}\n')

    frame = read_frame(path)

    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, pd.NA]


def test_parse_dates_makes_utc_taking_text_without_offset_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(DEVICES))

    frame = read_frame(path, parse_dates=["installed_at", "decommissioned_at"])

    assert str(frame["installed_at"].dtype).endswith(", UTC]")
    assert frame["installed_at"].tolist() == [pd.Timestamp("2024-01-01T00:00:00Z")] * 2
    assert pd.isna(frame["decommissioned_at"][0])


def test_text_that_is_not_a_date_is_a_data_error_naming_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps([{"installed_at": "yesterday"}]))

    with pytest.raises(DataError, match=r"devices\.json: column 'installed_at' is not ISO-8601 dates"):
        read_frame(path, parse_dates=["installed_at"])


@pytest.mark.parametrize("lines", [False, True], ids=["array", "lines"])
def test_round_trip(tmp_path: Path, lines: bool) -> None:
    frame = pd.DataFrame({
        "id": ["a", None, "c"],
        "n": pd.array([1, None, 3], dtype="Int64"),
        "x": [0.5, float("nan"), 2.0],
        "at": pd.to_datetime(pd.Series(["2024-01-01T00:00:00.000001Z", None, "2024-06-30T23:59:59Z"]),
                             format="ISO8601", utc=True),
        "status": pd.Categorical(["ON", "OFF", None]),
    })
    path = tmp_path / "out.json"
    write_frame(frame, path, lines=lines)

    text = path.read_text()
    assert text.lstrip().startswith("{" if lines else "[")
    assert "2024-01-01T00:00:00.000001Z" in text
    back = read_frame(path, parse_dates=["at"])
    pd.testing.assert_frame_equal(back, frame.assign(status=frame["status"].astype("str")), check_dtype=False)
    assert back["n"].dtype == "Int64"


def test_whitespace_only_file_is_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n \n")

    assert read_frame(path).empty


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(DEVICES).encode())

    assert len(read_frame(path)) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}\n{"a": 2\n', "not JSON: line 2"),
        ('[\n  {"a": 1},\n  {"a": 2,}\n]', "not JSON: line 3"),
        ("\n\nid,name\n1,x\n", "not JSON: line 3 starts with 'i'"),
        ("[1, 2]", "item 0 of the array is a number, not an object"),
        ('{"a": 1}\n[2]\n', "line 2 is an array, not an object"),
    ],
    ids=["bad-line", "bad-array", "csv", "array-of-numbers", "line-not-object"],
)
def test_not_json_is_a_data_error_naming_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)

    with pytest.raises(DataError) as caught:
        read_frame(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_not_utf8_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"name": "Zoë"}]'.encode("latin-1"))

    with pytest.raises(DataError, match=r"latin1\.json: not UTF-8 text"):
        read_frame(path)
