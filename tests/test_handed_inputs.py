"""A frame the kernel hands over: a step that is its last reader takes it (``take_input``) and frees each column
it drops, while every other reader, a retry, a kept result and a caller outside a run see the frame unchanged."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import Inputs, Kernel, Outputs, hookimpl, step, take_input

# What the steps saw, by step name: whether the array behind the dropped column was freed, and the columns.
SEEN: dict[str, Any] = {}
ARRAYS: list[weakref.ref[np.ndarray]] = []
KEPT = pd.DataFrame({"a": np.arange(4.0), "b": np.arange(4.0)})  # a frame its producer keeps too


@step("hand.make")
def make(inputs: Inputs, *, rows: int = 1000) -> pd.DataFrame:
    a, b = np.arange(float(rows)), np.ones(rows)
    ARRAYS.append(weakref.ref(a))
    return pd.DataFrame({"a": a, "b": b}, copy=False)


@step("hand.kept")
def kept(inputs: Inputs) -> pd.DataFrame:
    return KEPT


@step("hand.eat")
def eat(inputs: Inputs, *, fail_once: bool = False) -> pd.DataFrame:
    frame = take_input(inputs, "frame")
    del frame["a"]
    SEEN["eat"] = {"a freed": bool(ARRAYS) and ARRAYS[-1]() is None, "columns": list(frame.columns),
                   "still in inputs": "frame" in inputs}
    if fail_once and not SEEN.get("failed"):
        SEEN["failed"] = True
        raise RuntimeError("first attempt")
    return frame.assign(c=frame["b"] * 2)


@step("hand.both")
def both(inputs: Inputs) -> pd.DataFrame:
    frame = take_input(inputs, "frame")
    del frame["a"]
    SEEN["both"] = {"a freed": ARRAYS[-1]() is None, "again": list(inputs["again"].columns)}
    return frame


@step("hand.read")
def read(inputs: Inputs) -> Outputs:
    SEEN["read"] = list(inputs["frame"].columns)
    return {"out": inputs["frame"].head(1)}


class Hand:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [make, kept, eat, both, read]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    SEEN.clear()
    ARRAYS.clear()


def run(tmp_path: Path, steps: list[dict[str, Any]], **options: Any) -> Any:
    kernel = Kernel(entry_points=False, plugins=[("hand", Hand())])
    result = kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs", **options)
    assert result.ok, result.record.error
    return result


MAKE = {"name": "make", "uses": "hand.make"}
EAT = {"name": "eat", "uses": "hand.eat", "needs": {"frame": "make"}}


def test_the_last_reader_takes_the_frame_and_each_column_it_drops_is_freed(tmp_path: Path) -> None:
    run(tmp_path, [MAKE, EAT])
    assert SEEN["eat"] == {"a freed": True, "columns": ["b"], "still in inputs": False}


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_frame_a_later_step_reads_is_not_handed_over(tmp_path: Path, executor: str) -> None:
    later = {"name": "later", "uses": "hand.read", "needs": {"frame": "make", "eaten": "eat"}}  # after eat
    run(tmp_path, [MAKE, EAT, later], executor=executor)
    assert SEEN["eat"] == {"a freed": False, "columns": ["b"], "still in inputs": True}
    assert SEEN["read"] == ["a", "b"]  # the later reader sees the frame whole


def test_a_step_that_may_be_retried_gets_its_input_whole_on_each_attempt(tmp_path: Path) -> None:
    retried = {**EAT, "settings": {"fail_once": True}, "retries": {"attempts": 1, "delay": 0}}
    result = run(tmp_path, [MAKE, retried])
    assert SEEN["failed"] and result.record.steps["eat"].attempts == 2
    assert SEEN["eat"]["columns"] == ["b"] and not SEEN["eat"]["a freed"]


def test_a_run_that_keeps_its_outputs_keeps_the_frame_whole(tmp_path: Path) -> None:
    result = run(tmp_path, [MAKE, EAT], keep_outputs=True)
    assert list(result.outputs["make"]["out"].columns) == ["a", "b"]
    assert not SEEN["eat"]["a freed"]


def test_a_frame_its_producer_keeps_too_is_left_as_it_was(tmp_path: Path) -> None:
    run(tmp_path, [{"name": "make", "uses": "hand.kept"}, EAT])
    assert SEEN["eat"]["columns"] == ["b"]
    assert list(KEPT.columns) == ["a", "b"] and KEPT["a"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_outside_a_run_the_callers_frame_is_left_as_it_was() -> None:
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    out = eat({"frame": frame})
    assert list(frame.columns) == ["a", "b"] and list(out.columns) == ["b", "c"]


def test_a_frame_read_under_two_names_stays_whole_under_the_other(tmp_path: Path) -> None:
    run(tmp_path, [MAKE, {"name": "both", "uses": "hand.both", "needs": {"frame": "make", "again": "make"}}])
    assert SEEN["both"] == {"a freed": False, "again": ["a", "b"]}
