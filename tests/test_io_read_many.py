"""Several files read side by side and joined a column at a time: the frame of each read alone, joined by pandas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_io import read_frame, write_frame

from kernel import DataError


def joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """What read_frame made of files read one after another: an enum's categories unioned, then pd.concat."""
    for name in frames[0].columns:
        parts = [f[name] for f in frames if name in f.columns]
        if len({p.dtype for p in parts}) > 1 and all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            union = list(dict.fromkeys(c for p in parts for c in p.cat.categories))
            for f in frames:
                if name in f.columns:
                    f[name] = f[name].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


@st.composite
def a_file(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 25))
    def values(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(strategy, min_size=rows, max_size=rows))
    frame = pd.DataFrame({
        "n": values(st.integers(-2**40, 2**40)) if draw(st.booleans()) else values(st.one_of(st.none(),
                                                                                            st.integers(-9, 9))),
        "x": values(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))),
        "ok": values(st.booleans()),
        "word": pd.array(values(st.one_of(st.none(), st.sampled_from(["a", "b", "é"]))), dtype="str"),
        "at": pd.to_datetime(values(st.integers(0, 2**40)), unit="ms", utc=True),
    })
    if draw(st.booleans()):
        frame["word"] = frame["word"].astype("category")
    return frame


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(a_file(), min_size=1, max_size=5), fmt=st.sampled_from(["parquet", "avro", "csv"]),
       file_column=st.booleans())
def test_files_read_together_are_the_files_read_one_by_one_and_joined(
        tmp_path_factory: pytest.TempPathFactory, files: list[pd.DataFrame], fmt: str, file_column: bool) -> None:
    root = tmp_path_factory.mktemp("many")
    paths = []
    for i, frame in enumerate(files):
        paths.append(root / f"part-{i}.{fmt}")
        write_frame(frame, paths[-1])
    together = read_frame(root, fmt, file_column="file" if file_column else None)  # type: ignore[arg-type]
    expected = joined([read_frame(path) for path in paths])
    if file_column:
        lengths = [len(read_frame(path)) for path in paths]
        expected["file"] = pd.Categorical.from_codes(np.repeat(np.arange(len(paths)), lengths),
                                                     dtype=pd.CategoricalDtype([p.name for p in paths]))
    pd.testing.assert_frame_equal(together, expected, check_exact=True)


def test_the_first_file_in_order_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    for i in range(6):
        write_frame(pd.DataFrame({"n": range(1000 * (6 - i))}), tmp_path / f"part-{i}.parquet")
    for i in (4, 2):
        (tmp_path / f"part-{i}.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError) as info:
        read_frame(tmp_path, "parquet")
    assert info.value.file == str(tmp_path / "part-2.parquet")
