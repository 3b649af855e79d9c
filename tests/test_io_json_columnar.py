"""JSON lines through Arrow's columnar reader give exactly the frame (or the error) of the reading record by
record, on random records: the columnar path only ever answers where the two agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io import json_records
from kernel_io.json_records import read_json

from kernel import DataError

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["2024-01-01", "2024-01-01T00:00:00Z", "12:00", "1.5", "true", "null", "\u2028"]),
)
value = st.one_of(scalar, st.lists(scalar, max_size=2), st.dictionaries(st.sampled_from("xy"), scalar, max_size=2))
# A column mostly of one kind, as real files are, so that the columnar path is taken often.
kind = st.sampled_from([st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=6), value])
records = st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True).flatmap(
    lambda keys: st.tuples(*(st.tuples(st.just(k), kind, st.floats(0, 1)) for k in keys)).flatmap(
        lambda columns: st.lists(
            st.fixed_dictionaries({}, optional={k: st.one_of(st.none(), strategy) if share < 0.5 else strategy
                                                for k, strategy, share in columns}),
            min_size=0, max_size=12)))


def _record_by_record(path: Path) -> Any:
    original = json_records._read_lines_columnar
    json_records._read_lines_columnar = lambda _: None
    try:
        return read_json(path)
    except DataError as exc:
        return exc
    finally:
        json_records._read_lines_columnar = original


def _columnar(path: Path) -> Any:
    try:
        return read_json(path)
    except DataError as exc:
        return exc


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, blank=st.sampled_from(["", "\n", "  \n"]))
def test_json_lines_read_columnar_are_the_records_read_one_by_one(rows: list[dict[str, Any]], blank: str,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" + blank for r in rows), encoding="utf-8")
    expected, found = _record_by_record(path), _columnar(path)
    if isinstance(expected, DataError):
        assert isinstance(found, DataError) and str(found) == str(expected)
    else:
        assert isinstance(found, pd.DataFrame)
        pd.testing.assert_frame_equal(found, expected, check_exact=True)


def test_the_columnar_path_answers_for_plain_records(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [{"id": i, "name": f"n{i}", "v": i / 2, "ok": i % 2 == 0, "when": "2024-01-01T00:00:00Z",
             "maybe": None if i % 2 else i} for i in range(5)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    found = json_records._read_lines_columnar(path)
    assert found is not None
    assert found.dtypes.astype(str).to_dict() == {"id": "int64", "name": "str", "v": "float64", "ok": "bool",
                                                  "when": "str", "maybe": "Int64"}
    assert found["when"].tolist() == ["2024-01-01T00:00:00Z"] * 5  # text stays text


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}\n', '{"a": [1]}\n', '{"a": 1}\n{"a": "x"}\n', "[1, 2]\n",
                                  '{"a": 1e400}\n', ""])
def test_what_the_columnar_path_leaves_to_the_record_reader(text: str, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(text)
    assert json_records._read_lines_columnar(path) is None
