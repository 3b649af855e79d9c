"""The window step's peak memory: what a large run's memory is planned on (docs/windowing.md#memory)."""

from __future__ import annotations

import tracemalloc
import weakref
from typing import Any

import kernel_window.columns
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_window.columns import NAT, utc
from kernel_window.steps import tumbling

SETTINGS = {"time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"], "size": "1min",
            "watermark": "2min", "trigger": "1min", "order_by": ["ingest_time", "seq"],
            "aggregations": {"records": "count", "online_records": "sum(online)",
                             "temperature_mean": "mean(temperature_c)", "temperature_max": "max(temperature_c)",
                             "last_event_time": "max(event_time)"}}


def readings(n: int, devices: int) -> pd.DataFrame:
    """One reading a minute per device, at a random second of the minute."""
    rng = np.random.default_rng(1)
    event = pd.to_datetime((np.arange(n) // devices) * 60_000 + rng.integers(0, 60_000, n), unit="ms", utc=True)
    return pd.DataFrame({"device_id": pd.Categorical([f"d{i}" for i in range(devices)] * (n // devices)),
                         "event_time": event, "ingest_time": event + pd.Timedelta("5s"), "seq": np.arange(n),
                         "temperature_c": rng.normal(20, 5, n), "online": rng.integers(0, 2, n).astype(np.int8)})


def test_the_window_step_peaks_at_a_quarter_above_its_output() -> None:
    frame = readings(400_000, 400)
    tumbling({"records": frame.iloc[:1000]}, **SETTINGS)  # imports and first-use costs out of the measure
    tracemalloc.start()  # numpy reports its arrays to tracemalloc
    try:
        out = tumbling({"records": frame}, **SETTINGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    windows = out["windows"]
    assert len(windows) == 400_000
    # 1.25x here; 1.94x before the window table's partials were freed ahead of the output's new columns, the
    # emission order was taken from the table when it needs no sort, and the layout's arrays were let go.
    assert peak <= 1.5 * windows.memory_usage(deep=True).sum()


def storage(column: pd.Series) -> np.ndarray:
    """The array that owns a column's memory (not a view of it)."""
    values = np.asarray(column.array.codes if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy())
    while isinstance(values.base, np.ndarray):
        values = values.base
    return values


def test_records_handed_over_are_freed_before_the_windows_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    import kernel_window.tumbling

    from kernel.steps import HandedInputs

    frame = readings(40_000, 40)
    arrays = [weakref.ref(storage(frame[c])) for c in ("device_id", "seq", "temperature_c", "online")]
    alive: list[int] = []
    made = kernel_window.tumbling.windows_output

    def output(*args: Any, **kwargs: Any) -> Any:
        alive.append(sum(ref() is not None for ref in arrays))
        return made(*args, **kwargs)

    monkeypatch.setattr(kernel_window.tumbling, "windows_output", output)
    inputs = HandedInputs(records=frame)
    inputs.handed = ("records",)
    del frame
    given = tumbling(inputs, **SETTINGS)
    assert alive == [0]  # the records' columns were let go as they were read
    kept = readings(40_000, 40)
    again = tumbling({"records": kept}, **SETTINGS)  # not handed over: the caller's frame stays whole
    assert list(kept.columns) == ["device_id", "event_time", "ingest_time", "seq", "temperature_c", "online"]
    pd.testing.assert_frame_equal(given["windows"], again["windows"], check_exact=True)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.just(NAT), st.integers(-(2**62), 2**62)), max_size=20),
       st.sampled_from(["s", "ms", "us", "ns"]))
def test_a_utc_column_is_the_ticks_localised_on_their_own_memory(ticks: list[int], unit: str) -> None:
    # The output's timestamp columns are as long as the output: a copy each is what set the step's peak.
    values = np.array(ticks, dtype=np.int64)
    expected = pd.Series(values.view(f"M8[{unit}]")).dt.tz_localize("UTC")
    wrapped = utc(values, unit)
    pd.testing.assert_series_equal(wrapped, expected)
    assert not len(values) or np.shares_memory(wrapped.array._ndarray, values)
    with pytest.MonkeyPatch.context() as patched:  # a pandas without the constructor: the public copy
        patched.setattr(kernel_window.columns, "_WRAP", None)
        pd.testing.assert_series_equal(utc(values, unit), expected)
