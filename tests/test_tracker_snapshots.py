"""Snapshots: dtypes, rows, nulls and samples as pandas sees them, JSON-safe, and no frame kept alive."""

from __future__ import annotations

import gc
import json
import math
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import kernel_tracker.plugin
import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_tracker.settings import problems
from kernel_tracker.snapshot import Snapshot, Snapshotter, null_count, take_snapshot
from kernel_tracker.tracker import read_tracker
from tracker_support import read_json, run_pipeline

from kernel import Inputs, Kernel, hookimpl, step


def expected_snapshot(frame: pd.DataFrame, samples: int) -> dict[str, Any]:
    """What a snapshot should say, computed with pandas' own (slower) functions."""
    head = frame.head(samples).astype(object).where(frame.head(samples).notna(), None)
    rows = [{c: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for c, v in row.items()}
            for row in head.to_dict("records")]
    return {
        "columns": {str(c): str(t) for c, t in frame.dtypes.items()},
        "rows": len(frame),
        "nulls": {str(c): int(n) for c, n in frame.isna().sum().items()},
        "samples": rows,
    }


def without_time(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("taken_s", "same_as")}


def test_a_pipelines_snapshots_say_what_pandas_says(demo_installed: Path, tmp_path: Path) -> None:
    steps = [
        {"name": "t", "uses": "tt.table"},
        {"name": "scaled", "uses": "demo.scale", "needs": ["t"], "settings": {"factor": 1.5}},
    ]
    result = run_pipeline(tmp_path, steps, keep_outputs=True)
    assert result.ok, result.record.error
    written = read_json(result, "tracker.json")
    # scaled's input is t's output: tracker.json names t's snapshot rather than repeating it
    assert written["schema_version"] == 3
    assert written["steps"]["scaled"]["inputs"]["t"].keys() == {"rows", "same_as", "taken_s"}
    # a snapshot names its schema, held once, and gives its nulls and samples in that schema's column order
    for name in ("t", "scaled"):
        frame, snap = result.outputs[name]["out"], written["steps"][name]["outputs"]["out"]
        assert snap.keys() == {"schema", "rows", "nulls", "samples", "taken_s"}
        assert written["schemas"][snap["schema"]] == {str(c): str(t) for c, t in frame.dtypes.items()}
        assert snap["nulls"] == frame.isna().sum().tolist()
        assert len(snap["samples"]) == frame.shape[1] and all(len(values) == 3 for values in snap["samples"])
    tracked = read_tracker(result.run.run_dir)  # with every input in full
    assert tracked["samples"] == 3
    for name in ("t", "scaled"):
        frame = result.outputs[name]["out"]
        assert without_time(tracked["steps"][name]["outputs"]["out"]) == expected_snapshot(frame, 3)
        assert tracked["steps"][name]["rows_out"] == {"out": len(frame)}
    # scaled's input is t's output: the same snapshot, taken when t completed
    given_in = tracked["steps"]["scaled"]["inputs"]["t"]
    assert given_in["same_as"] == "t.out" and tracked["steps"]["t"]["outputs"]["out"]["same_as"] is None
    assert without_time(given_in) == without_time(tracked["steps"]["t"]["outputs"]["out"])
    assert tracked["steps"]["scaled"]["rows_in"] == {"t": 4}
    # the run record and the tracker agree on rows
    assert result.record.steps["scaled"].rows_in == tracked["steps"]["scaled"]["rows_in"]


def test_samples_zero_keeps_no_rows(demo_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "t", "uses": "tt.table"}, {"name": "s", "uses": "demo.scale", "needs": ["t"]}]
    result = run_pipeline(tmp_path, steps, tracker={"samples": 0})
    text = (result.run.run_dir / "tracker.json").read_text()
    tracked = read_tracker(result.run.run_dir)
    assert tracked["samples"] == 0
    for track in tracked["steps"].values():
        for snap in [*track["inputs"].values(), *track["outputs"].values()]:
            assert snap["samples"] == []
            assert snap["rows"] == 4  # the other figures are still there
    assert '"c"' not in text  # a value of the data appears nowhere


def test_the_schema_diff_names_added_removed_and_retyped_columns(demo_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "t", "uses": "tt.table"}, {"name": "r", "uses": "tt.reshape", "needs": ["t"]}]
    tracked = read_json(run_pipeline(tmp_path, steps), "tracker.json")
    assert tracked["steps"]["r"]["schema_diff"] == {
        "out": {"against": "t", "added": {"y": "int64"}, "removed": {"x": "int64"},
                "retyped": {"keep": ["float64", "str"]}}
    }
    assert tracked["steps"]["t"]["schema_diff"] == {}  # a source has nothing to compare with
    # two shapes of frame: two schemas, each held once, named by position
    assert len(tracked["schemas"]) == 2
    assert tracked["schemas"][0]["keep"] == "float64" and tracked["schemas"][1]["keep"] == "str"
    assert [track["outputs"]["out"]["schema"] for track in tracked["steps"].values()] == [0, 1]


def test_an_output_is_compared_with_the_input_of_its_name_else_the_first_by_name(
    demo_installed: Path, tmp_path: Path
) -> None:
    steps = [
        {"name": "b", "uses": "demo.numbers"},
        {"name": "a", "uses": "tt.table"},
        {"name": "both", "uses": "demo.concat", "needs": ["b", "a"]},
    ]
    tracked = read_json(run_pipeline(tmp_path, steps), "tracker.json")
    diff = tracked["steps"]["both"]["schema_diff"]["out"]
    assert diff["against"] == "a"
    assert diff["added"] == {} and diff["removed"] == {}


MIXED = pd.DataFrame({
    "i": np.arange(5, dtype=np.int32),
    "f": [1.5, np.nan, np.inf, -np.inf, 0.0],
    "s": pd.array(["a", None, "c", "d", None], dtype="str"),
    "o": ["a", None, 3, [1, 2], {"k": 1}],
    "n": pd.array([1, None, 3, None, 5], dtype="Int64"),
    "b": [True, False, True, True, False],
    "t": pd.to_datetime(["2024-01-01", None, "2024-03-01", None, None]),
    "tz": pd.to_datetime(["2024-01-01 12:00", None, None, None, "2024-01-05 00:00"]).tz_localize("Europe/Paris"),
    "d": pd.to_timedelta(["1s", None, "2min", "1h", None]),
    "c": pd.Categorical(["x", None, "y", "x", None]),
    "a": pd.array([1.0, None, 3.0, 4.0, 5.0], dtype="float64[pyarrow]"),
})


def test_null_counts_match_pandas_for_every_kind_of_column() -> None:
    snap = take_snapshot(MIXED, 5)
    assert snap.nulls == {c: int(n) for c, n in MIXED.isna().sum().items()}
    assert snap.columns == {c: str(t) for c, t in MIXED.dtypes.items()}


def test_samples_are_json_safe() -> None:
    rows = take_snapshot(MIXED, 5).samples
    json.dumps(rows, allow_nan=False)  # no NaN, no numpy scalar, no Timestamp
    assert rows[0]["t"] == "2024-01-01T00:00:00"
    assert rows[0]["tz"] == "2024-01-01T12:00:00+01:00"
    assert rows[1]["f"] is None and rows[2]["f"] == "Infinity" and rows[3]["f"] == "-Infinity"
    assert [r["s"] for r in rows] == ["a", None, "c", "d", None]
    assert [r["n"] for r in rows] == [1, None, 3, None, 5]
    assert rows[3]["o"] == [1, 2] and rows[4]["o"] == {"k": 1}
    assert rows[1]["d"] is None and rows[0]["d"] == "P0DT0H0M1S"
    assert [r["c"] for r in rows] == ["x", None, "y", "x", None]


def test_samples_are_written_as_the_tracker_writes_them() -> None:
    # numpy.float64 is a float, so the stdlib's json takes it; orjson, which writes tracker.json, does not
    frame = pd.DataFrame({
        "o": pd.Series([np.float64(1.5), np.int64(2), np.float32(0.5)], dtype=object),
        "c": pd.Categorical([np.float64(2.5)] * 3),
    })
    rows = take_snapshot(frame, 3).samples
    assert orjson.loads(orjson.dumps(rows)) == [{"o": 1.5, "c": 2.5}, {"o": 2, "c": 2.5}, {"o": 0.5, "c": 2.5}]


def test_repeated_and_non_string_column_labels_are_all_kept() -> None:
    frame = pd.DataFrame([[1, 2.0, None]], columns=["a", "a", 3])
    snap = take_snapshot(frame, 1)
    assert snap.columns == {"a": "int64", "a#1": "float64", "3": "object"}
    assert snap.samples == [{"a": 1, "a#1": 2.0, "3": None}]


def test_an_empty_frame_has_a_snapshot_too() -> None:
    snap = take_snapshot(pd.DataFrame({"x": pd.Series([], dtype="float64")}), 3)
    assert (snap.rows, snap.nulls, snap.samples) == (0, {"x": 0}, [])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.floats(allow_nan=True), st.none()), min_size=0, max_size=300),
    st.integers(min_value=0, max_value=3),
)
def test_float_and_datetime_null_counts_match_pandas(values: list[float | None], repeat: int) -> None:
    floats = np.array([np.nan if v is None else v for v in values] * (repeat * 700 + 1), dtype=np.float64)
    assert null_count(floats) == int(pd.isna(floats).sum())  # also across the blocks of long columns
    stamps = pd.to_datetime([None if v is None or math.isnan(v) else 0 for v in values], utc=True)
    assert null_count(stamps.array) == int(stamps.isna().sum())


def test_the_tracker_keeps_no_frame_alive(demo_installed: Path, tmp_path: Path) -> None:
    made: list[weakref.ref[pd.DataFrame]] = []

    @step("tt.fresh")
    def fresh(inputs: Inputs) -> pd.DataFrame:
        frame = pd.DataFrame({"x": range(10)})
        made.append(weakref.ref(frame))
        return frame

    class Fresh:
        @hookimpl
        def register_steps(self) -> list[object]:
            return [fresh]

    kernel = Kernel(entry_points=False, plugins=[("fresh", Fresh()), ("tracker", kernel_tracker.plugin)])
    steps = [{"name": "a", "uses": "tt.fresh"}, {"name": "b", "uses": "tt.fresh", "needs": ["a"]}]
    result = run_pipeline(tmp_path, steps, kernel=kernel)
    tracker = result.run.stash["tracker"]  # alive, with all it learnt
    assert tracker.snapshot_count == 2
    del result
    gc.collect()
    assert [ref() for ref in made] == [None, None]


@pytest.mark.parametrize("samples", [-1, "3", True, 2.5])
def test_samples_must_be_a_whole_number_not_below_zero(samples: object) -> None:
    (message,) = problems({"samples": samples})
    assert message.startswith("plugins.settings.tracker.samples:")


def test_a_huge_cell_makes_a_short_sample() -> None:
    frame = pd.DataFrame({"text": ["x" * 1_000_000, "<script>"], "items": [list(range(10_000)), {"a": 1}]})
    first, second = take_snapshot(frame, 2).samples
    assert first["text"] == "x" * 200 + "…" and second["text"] == "<script>"
    assert first["items"] == list(range(20)) and second["items"] == {"a": 1}


def test_multi_level_column_labels_are_named() -> None:
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    assert list(take_snapshot(frame, 1).columns) == ["('a', 'x')", "('a', 'y')"]


def _column_by_column(frame: pd.DataFrame, samples: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(Snapshotter, "_by_block", lambda self, frame, head: None)
        return take_snapshot(frame, samples)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["int64", "int32", "float64", "float32", "bool", "str", "object", "datetime", "Int64"]),
             min_size=1, max_size=40),
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_a_snapshot_read_a_block_at_a_time_equals_one_read_column_by_column(
    kinds: list[str], rows: int, samples: int, seed: int
) -> None:
    # Wide frames of every kind of column, NaN and infinities among the floats; pandas groups the numpy
    # columns of one dtype into one block, which the snapshot reads in one go.
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for n, kind in enumerate(kinds):
        if kind in ("float64", "float32"):
            values = rng.choice([0.5, -2.0, np.nan, np.inf, -np.inf, 1e30], size=rows).astype(kind)
        elif kind == "str":
            values = pd.array(rng.choice(["a", "b", None], size=rows).tolist(), dtype="str")
        elif kind == "object":
            values = pd.Series(rng.choice([1, "x", None, 2.5], size=rows).tolist(), dtype=object)
        elif kind == "datetime":
            values = pd.to_datetime(rng.choice([0, 10**15, None], size=rows).tolist(), utc=n % 2 == 0)
        elif kind == "Int64":
            values = pd.array(rng.choice([1, None], size=rows).tolist(), dtype="Int64")
        else:
            values = rng.integers(0, 2, size=rows).astype(kind)
        columns[f"{kind}{n}"] = values
    frame = pd.DataFrame(columns)
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _column_by_column(frame, samples, monkeypatch)
    found = take_snapshot(frame, samples)
    assert (found.columns, found.rows, found.nulls) == (expected.columns, expected.rows, expected.nulls)
    assert orjson.dumps(found.samples) == orjson.dumps(expected.samples)
    assert found.nulls == {c: int(n) for c, n in frame.isna().sum().items()}


def test_a_large_block_is_read_column_by_column_with_the_same_answer() -> None:
    frame = pd.DataFrame(np.where(np.arange(400_000 * 2).reshape(-1, 2) % 7 == 0, np.nan, 1.0), columns=["a", "b"])
    snap = take_snapshot(frame, 2)
    assert snap.nulls == {c: int(n) for c, n in frame.isna().sum().items()}
    assert snap.samples == [{"a": None, "b": 1.0}, {"a": 1.0, "b": 1.0}]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=0, max_size=6), min_size=1, max_size=4),
       st.integers(0, 4))
def test_a_text_column_shared_by_frames_is_read_once_with_the_same_answer(columns: list[list[Any]],
                                                                           samples: int) -> None:
    # Frames that share a column share its Arrow array: the second reads it from what the first found.
    rows = min(len(c) for c in columns)
    frame = pd.DataFrame({f"t{i}": pd.array(c[:rows], dtype="str") for i, c in enumerate(columns)})
    snapshotter = Snapshotter(samples)
    first = snapshotter.take(frame)
    grown = frame.assign(extra=np.arange(rows))  # the text columns are the same arrays
    assert grown["t0"].array._pa_array is frame["t0"].array._pa_array
    for taken, source in ((first, frame), (snapshotter.take(grown), grown), (snapshotter.take(frame), frame)):
        fresh = take_snapshot(source, samples)
        assert (taken.columns, taken.nulls, taken.samples) == (fresh.columns, fresh.nulls, fresh.samples)


def test_what_the_snapshotter_remembers_of_a_column_goes_with_the_column() -> None:
    snapshotter = Snapshotter(3)
    frame = pd.DataFrame({"t": pd.array(["a", None, "c"], dtype="str")})
    array = weakref.ref(frame["t"].array._pa_array)
    snapshotter.take(frame)
    snapshotter.take(frame)  # read twice in a row: the frame is remembered whole too
    assert snapshotter._whole is not None
    del frame
    gc.collect()
    assert array() is None  # the tracker holds no column alive
    assert not snapshotter._read


def test_labels_that_name_alike_and_missing_labels_are_all_kept() -> None:
    snap = take_snapshot(pd.DataFrame([[1, 2, 3]], columns=pd.Index([1, "1", None], dtype=object)), 1)
    assert list(snap.columns) == ["1", "1#1", "None"]
    snap = take_snapshot(pd.DataFrame([[1, 2]], columns=pd.Index(["a", None], dtype="str")), 1)
    assert snap.samples == [{"a": 1, "None": 2}]


def test_a_tracker_json_of_version_1_is_still_read_and_a_later_one_refused(tmp_path: Path) -> None:
    from kernel_tracker.report import sections

    from kernel import KernelError

    snapshot = {"columns": {"a": "int64"}, "rows": 2, "nulls": {"a": 0}, "samples": [{"a": 1}], "taken_s": 0.1}
    version_1 = {"run_id": "r", "pipeline": "p", "samples": 1, "snapshot_count": 1, "tracking_s": 0.5,
                 "steps": {"t": {"inputs": {}, "outputs": {"out": {**snapshot, "same_as": None}},
                                 "schema_diff": {}},
                           "u": {"inputs": {"t": {**snapshot, "taken_s": 0.0, "same_as": "t.out"}},
                                 "outputs": {}, "schema_diff": {}}}}
    (tmp_path / "tracker.json").write_text(json.dumps(version_1))
    assert read_tracker(tmp_path) == version_1  # written in full already
    assert sections(tmp_path)[0]["tables"][0]["rows"] == [("snapshots", 1), ("tracking time (s)", 0.5)]
    (tmp_path / "tracker.json").write_text(json.dumps({**version_1, "schema_version": 4}))
    with pytest.raises(KernelError, match=r"tracker\.json.*schema version 4; version 1 or 2 or 3 is read here"):
        read_tracker(tmp_path)


def as_written(snap: Snapshot) -> bytes:
    """What tracker.json would say of ``snap``, but its time: equal values of other JSON stay apart."""
    return orjson.dumps([snap.names, snap.dtypes, snap.rows, snap.counts, snap.values])


_CELLS = {
    "float64": st.sampled_from([0.0, -0.0, 1.0, np.nan, np.inf]),
    "int64": st.sampled_from([0, 1, -1]),
    "bool": st.booleans(),
    "str": st.sampled_from(["a", "", None]),
}


@settings(max_examples=60, deadline=None)
@given(st.data(), st.lists(st.sampled_from(list(_CELLS)), min_size=1, max_size=6), st.integers(1, 4),
       st.integers(0, 3))
def test_a_run_of_snapshots_each_equals_a_fresh_one_whatever_changed_in_between(
    data: st.DataObject, kinds: list[str], rows: int, samples: int
) -> None:
    # One snapshotter sees a frame again and again while cells change in place, columns are added,
    # dropped, reordered, cut, copied and retyped: what it knows of a frame read before (the whole frame,
    # unchanged) and what it shares with the snapshot before (lists, samples of numeric blocks by their
    # bits) must never stand for a change. -0.0 == 0.0 and 1 == 1.0 == True, so equal is not enough: the JSON
    # written must be the same, bit for bit.
    frame = pd.DataFrame({f"{kind}_{n}": pd.Series([data.draw(_CELLS[kind]) for _ in range(rows)],
                                                   dtype="str" if kind == "str" else kind)
                          for n, kind in enumerate(kinds)})
    snapshotter = Snapshotter(samples)
    for _ in range(data.draw(st.integers(1, 6))):
        change = data.draw(st.sampled_from(["cell", "add", "drop", "order", "rows", "copy", "retype", "same"]))
        if change == "cell":
            column = data.draw(st.sampled_from(list(frame.columns)))
            kind = column.split("_")[0]
            # a row the frame still has (after a cut, a label past its end would add a row)
            frame.loc[data.draw(st.integers(0, len(frame) - 1)), column] = data.draw(_CELLS[kind])
        elif change == "add":
            kind = data.draw(st.sampled_from(list(_CELLS)))
            frame = frame.assign(**{f"{kind}_{frame.shape[1]}": pd.Series(
                [data.draw(_CELLS[kind]) for _ in range(rows)], dtype="str" if kind == "str" else kind)})
        elif change == "drop" and frame.shape[1] > 1:
            frame = frame.drop(columns=[data.draw(st.sampled_from(list(frame.columns)))])
        elif change == "order":  # the same arrays, at other places
            frame = frame[data.draw(st.permutations(list(frame.columns)))]
        elif change == "rows":  # fewer rows, in blocks placed as before
            frame = frame.iloc[: data.draw(st.integers(1, len(frame)))]
        elif change == "copy":  # new arrays over the same data, placed as before
            frame = frame.copy(deep=False)
        elif change == "retype":  # the same Arrow arrays as another kind of text
            text = [c for c in frame.columns if str(frame[c].dtype) in ("str", "string")]
            frame = frame.astype({c: "string" if str(frame[c].dtype) == "str" else "str" for c in text})
        taken = snapshotter.take(frame)
        fresh = take_snapshot(frame, samples)
        assert as_written(taken) == as_written(fresh)


def test_snapshots_of_an_unchanged_wide_frame_share_their_lists() -> None:
    # A run keeps all its snapshots: one list per column per step would be what the collector walks.
    frame = pd.DataFrame({f"{kind}{i}": pd.Series([1, 2, 3], dtype=kind) for i in range(50)
                          for kind in ("int64", "float64")} | {f"t{i}": pd.array(["a", None, "c"], dtype="str")
                                                                for i in range(50)})
    snapshotter = Snapshotter(3)
    first, again = snapshotter.take(frame), snapshotter.take(frame)
    assert (again.dtypes, again.counts, again.values) == (first.dtypes, first.counts, first.values)
    assert again.dtypes is first.dtypes and again.counts is first.counts and again.values is first.values
    second = snapshotter.take(frame.assign(extra=1.5))
    assert all(a is b for a, b in zip(first.values, second.values[:-1], strict=True))
    assert second.values[-1] == [1.5, 1.5, 1.5]


def test_a_frame_read_again_is_read_again_where_it_can_have_changed() -> None:
    # A frame read twice in a row is known again by its blocks' places, dtypes and Arrow arrays; its numbers
    # can change in place, a NaN below the sampled rows too, and a text cell set is a new Arrow array.
    frame = pd.DataFrame({f"f{i}": [1.0, 2.0, 3.0, 4.0] for i in range(40)}
                         | {f"t{i}": pd.array(["a", "b", "c", "d"], dtype="str") for i in range(40)})
    snapshotter = Snapshotter(2)
    snapshotter.take(frame)
    assert snapshotter.take(frame).nulls["f7"] == 0 and snapshotter._whole is not None
    frame.loc[3, "f7"] = np.nan  # below the two rows sampled: the same first values
    assert snapshotter.take(frame).nulls["f7"] == 1
    frame.loc[0, "f8"] = 9.0
    assert snapshotter.take(frame).samples[0]["f8"] == 9.0
    frame.loc[3, "t5"] = None
    assert snapshotter.take(frame).nulls["t5"] == 1
    cut = frame.iloc[:3]  # blocks placed as before, one row fewer: the NaN is gone
    assert snapshotter.take(cut).nulls["f7"] == 0 and snapshotter.take(cut).nulls["t5"] == 0
    for source in (frame, cut, frame):
        taken, fresh = snapshotter.take(source), take_snapshot(source, 2)
        assert as_written(taken) == as_written(fresh)


def test_the_same_arrays_at_other_places_are_read_again() -> None:
    # pandas' public way to put blocks together: the same arrays, in the same block order, other columns.
    frame = pd.DataFrame({"a": pd.array(["x", "y"], dtype="str"), "b": pd.array(["p", None], dtype="str"),
                          "n": [1.5, np.nan]})
    snapshotter = Snapshotter(2)
    snapshotter.take(frame)
    snapshotter.take(frame)
    assert snapshotter._whole is not None
    assert [str(block.dtype) for block in frame._mgr.blocks] == ["str", "str", "float64"]
    a, b, n = (block.values for block in frame._mgr.blocks)  # in this order: a, b, n
    moved = pd.api.internals.create_dataframe_from_blocks(
        [(a, np.array([1])), (b, np.array([0])), (n, np.array([2]))], index=frame.index,
        columns=pd.Index(["b", "a", "n"]))
    taken, fresh = snapshotter.take(moved), take_snapshot(moved, 2)
    assert (taken.columns, taken.nulls, taken.samples) == (fresh.columns, fresh.nulls, fresh.samples)
    assert taken.nulls == {"b": 1, "a": 0, "n": 1}


def test_samples_equal_in_python_but_not_in_json_are_not_shared() -> None:
    snapshotter = Snapshotter(2)
    zeros = pd.DataFrame({"i": np.zeros(2, dtype=np.int64), "f": np.zeros(2)})  # the same bytes
    taken = snapshotter.take(zeros)
    assert orjson.dumps(taken.values) == b"[[0,0],[0.0,0.0]]"
    frame = pd.DataFrame({"f": [0.0, 1.0]})
    first = snapshotter.take(frame)
    frame.loc[0, "f"] = -0.0  # == 0.0
    second = snapshotter.take(frame)
    assert orjson.dumps(first.values) == b"[[0.0,1.0]]"
    assert orjson.dumps(second.values) == b"[[-0.0,1.0]]"


def test_lists_snapshots_share_are_written_once_and_read_the_same() -> None:
    # Snapshots of a frame that did not change share their lists; tracker.json writes each such list's JSON
    # once and copies it: the file must be what writing each list in place gives, byte for byte.
    from kernel_tracker.tracker import StepTrack, _Schemas

    frame = pd.DataFrame({"i": [1, 2], "f": [0.5, np.nan], "t": pd.array(["a", None], dtype="str")})
    snapshotter = Snapshotter(2)
    steps = [StepTrack(uses="x", outputs={"out": snapshotter.take(frame)}) for _ in range(4)]
    steps.append(StepTrack(uses="x", outputs={"out": snapshotter.take(frame.assign(f=[-0.0, 2.0]))}))
    assert steps[0].outputs["out"].values is steps[3].outputs["out"].values  # shared
    schemas = _Schemas(steps)
    option = orjson.OPT_PASSTHROUGH_DATACLASS
    written = orjson.dumps(steps, option=option, default=schemas.encode)
    assert schemas._json  # some lists were written once

    def in_place(value: Any) -> Any:
        if isinstance(value, Snapshot):
            return {"schema": schemas._of[id(value)], "rows": value.rows, "nulls": value.counts,
                    "samples": value.values, "taken_s": value.taken_s}
        return value.__dict__

    assert written == orjson.dumps(steps, option=option, default=in_place)


def test_threads_taking_snapshots_side_by_side_each_get_their_frames_names() -> None:
    # The threads executor summarizes steps in worker threads, through one snapshotter per number of
    # samples: what it remembers of the last column index must never give one frame another's names.
    snapshotter = Snapshotter(0)
    frames = [pd.DataFrame({f"{prefix}{i}": [1] for i in range(3)}) for prefix in "ab"]
    wrong: list[list[str]] = []

    def take(frame: pd.DataFrame) -> None:
        for _ in range(20_000):
            names = snapshotter.take(frame).names
            if names != list(frame.columns):
                wrong.append(names)
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=take, args=(frame,)) for frame in frames]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
