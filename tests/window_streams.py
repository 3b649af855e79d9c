"""Random streams for the property tests: the same records as a DataFrame for ``window.tumbling`` and as
plain values for the simulator of ``window_reference``, with settings drawn to hit the edges (ties in event
time and arrival, records exactly at the watermark, nulls and non-finite floats in every column kind)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from kernel_window import TumblingSettings, WindowConfig
from window_reference import FLUSH, Row, Spec

T0 = pd.Timestamp("2024-01-01", tz="UTC")
INF = math.inf


@dataclass(frozen=True)
class Column:
    """A value column: how to draw one of its values (``None``: null) and its pandas dtype."""

    values: st.SearchStrategy[Any]
    dtype: str
    numeric: bool  # sum and mean apply


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


FLOATS = st.sampled_from([-2.0, -0.5, 0.0, 1.0, 2.5, 3.0, INF, -INF])
COLUMNS = {
    "num": Column(_maybe(FLOATS), "float64", True),  # null is NaN
    "fnum": Column(_maybe(FLOATS), "Float64", True),
    "cnt": Column(_maybe(st.integers(-3, 5)), "Int64", True),
    "flag": Column(st.booleans(), "bool", True),
    "nflag": Column(_maybe(st.booleans()), "boolean", True),
    "txt": Column(_maybe(st.sampled_from(["", "x", "xy", "y", "é"])), "str", False),
    "label": Column(_maybe(st.sampled_from(["p", "q"])), "string", False),
    "kind": Column(_maybe(st.sampled_from(["hi", "lo"])), "category", False),
}
AGGREGATIONS: dict[str, tuple[str, str | None]] = {"records": ("count", None)}
for _name, _column in COLUMNS.items():
    for _fn in ("count", "min", "max", "first", "last", *(("sum", "mean") if _column.numeric else ())):
        AGGREGATIONS[f"{_fn}_{_name}"] = (_fn, _name)
KEYS = [(), ("device",), ("device", "nflag")]
ORDER_BY = [(), ("ingest_time",), ("seq",), ("txt", "seq")]


@dataclass(frozen=True)
class Case:
    """A stream and settings: ``rows`` for the simulator, ``frame()`` for the step (rows in id order)."""

    rows: list[Row]
    spec: Spec
    settings: dict[str, Any]
    frames: int  # input frames (batches without an arrival column, else runs)

    def frame(self, rows: list[Row] | None = None) -> pd.DataFrame:
        return to_frame(self.rows if rows is None else rows)

    def config(self, **more: Any) -> WindowConfig:
        return config_of(self.settings, **more)


def config_of(settings: dict[str, Any], **more: Any) -> WindowConfig:
    values = {**settings, **more}
    if not values.get("final", True):
        values.setdefault("state_dir", "unused")
    return WindowConfig.from_settings(TumblingSettings.model_validate(values))


def _times(ns: list[int | None]) -> pd.Series:
    raw = np.array([np.iinfo(np.int64).min if v is None else v for v in ns], dtype=np.int64)
    return pd.Series(raw.view("M8[ns]")).dt.tz_localize("UTC")


def to_frame(rows: list[Row]) -> pd.DataFrame:
    data: dict[str, Any] = {
        "rid": pd.Series([r.id for r in rows], dtype="int64"),
        "device": pd.Series([r.values["device"] for r in rows], dtype="str"),
        "event_time": _times([r.values["event_time"] for r in rows]),
        "ingest_time": _times([r.values["ingest_time"] for r in rows]),
        "seq": pd.Series([r.values["seq"] for r in rows], dtype="int64"),
    }
    for name, column in COLUMNS.items():
        values = [r.values[name] for r in rows]
        if column.dtype == "float64":
            values = [math.nan if v is None else v for v in values]
        data[name] = pd.Series(values, dtype=column.dtype)
    return pd.DataFrame(data)


def _record(draw: st.DrawFn, rid: int, frames: int) -> Row:
    # Event times on a 10-second grid most of the time, so that window ends, watermarks and event times
    # coincide often (the boundaries are where the rules are easiest to get wrong); 1 in 12 is null.
    grid = st.integers(-30, 150).map(lambda k: k * 10_000_000_000)
    anywhere = st.integers(-300_000, 1_500_000).map(lambda ms: ms * 1_000_000)
    event = draw(st.none() | grid | anywhere) if draw(st.integers(0, 11)) else None
    arrival = draw(st.integers(0, 12 * 60 - 1).map(lambda s: s * 1_000_000_000)) if draw(st.integers(0, 29)) else None
    values: dict[str, Any] = {
        "device": draw(st.sampled_from(["a", "b", None])),
        "event_time": None if event is None else T0.value + event,
        "ingest_time": None if arrival is None else T0.value + arrival,
        "seq": draw(st.integers(0, 3)),  # repeats: a tie-break that can tie
    }
    values.update({name: draw(column.values) for name, column in COLUMNS.items()})
    return Row(id=rid, frame=draw(st.integers(0, frames - 1)), values=values)


@st.composite
def cases(draw: st.DrawFn, *, by_arrival: bool) -> Case:
    """Up to 30 records over ~25 minutes of event time and 12 of arrival, and settings for them."""
    frames = draw(st.integers(1, 4))
    count = draw(st.integers(0, 30))
    rows = [_record(draw, rid, frames) for rid in range(count)]
    names = draw(st.lists(st.sampled_from(list(AGGREGATIONS)), min_size=1, max_size=len(AGGREGATIONS), unique=True))
    settings: dict[str, Any] = {
        "time_column": "event_time",
        "keys": list(draw(st.sampled_from(KEYS))),
        "size": draw(st.sampled_from(["1min", "45s", "2min"])),
        "watermark": draw(st.sampled_from(["0s", "30s", "2min"])),
        "allowed_lateness": draw(st.sampled_from(["0s", "1min"])),
        "mode": draw(st.sampled_from(["append", "update"])),
        "final": draw(st.booleans()),
        "order_by": list(draw(st.sampled_from(ORDER_BY))),
        "aggregations": {name: _expression(*AGGREGATIONS[name]) for name in names},
    }
    if by_arrival:
        settings.update(arrival_column="ingest_time", trigger=draw(st.sampled_from(["1min", "30s"])))
    ns: Callable[[str], int] = lambda text: int(pd.Timedelta(text).value)  # noqa: E731
    spec = Spec(time_column="event_time", size=ns(settings["size"]), delay=ns(settings["watermark"]),
                aggregations={name: AGGREGATIONS[name] for name in names}, keys=tuple(settings["keys"]),
                arrival_column="ingest_time" if by_arrival else None,
                trigger=ns(settings["trigger"]) if by_arrival else None,
                lateness=ns(settings["allowed_lateness"]), order_by=tuple(settings["order_by"]),
                mode=settings["mode"], final=settings["final"])
    return Case(rows=rows, spec=spec, settings=settings, frames=frames)


def _expression(fn: str, column: str | None) -> str:
    return fn if column is None else f"{fn}({column})"


# --- reading the step's outputs in the simulator's terms ----------------------------------------------------


def plain(value: Any) -> Any:
    """A cell as a plain Python value: ``None`` for any null, ints, floats, bools, str, times as int ns."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return int(value.value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def emissions(windows: pd.DataFrame, spec: Spec) -> list[tuple[Any, ...]]:
    """The ``windows`` output as the simulator's emissions."""
    out = []
    for i in range(len(windows)):
        row = windows.iloc[i]
        batch = plain(row["emit_batch"])
        out.append((FLUSH if batch is None else batch, tuple(plain(row[k]) for k in spec.keys),
                    plain(row["window_start"]), str(row["emit_kind"]), plain(row["emit_watermark"]),
                    {name: plain(row[name]) for name in spec.aggregations}))
    return out


def same(got: Any, expected: Any) -> bool:
    """Equal values of the same type; floats within a relative 1e-9 (sums may be added in another order)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same(got[k], expected[k]) for k in got)
    if isinstance(got, tuple | list) and isinstance(expected, tuple | list):
        return len(got) == len(expected) and all(same(a, b) for a, b in zip(got, expected, strict=True))
    if type(got) is not type(expected):
        return False
    if isinstance(got, float):
        return got == expected or math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == expected)
