"""Data-parallel steps: ``partitions: {by, count}`` runs a step once per part of its inputs, split by a
stable hash of the keys, on any executor, and gives what one whole run gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import Kernel, PipelineError, hookimpl, step


@step("part.events")
def events(inputs: Any, *, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"device": [f"d{i}" for i in rng.integers(0, 40, n)], "value": rng.integers(0, 100, n)})


@step("part.rates")
def rates(inputs: Any) -> pd.DataFrame:
    return pd.DataFrame({"rate": [2]})  # no key column: every part gets it whole


@step("part.per_device", partitions="keys")
def per_device(inputs: Any, *, keys: list[str] | None = None) -> pd.DataFrame:
    """Per device: rows, sum of value times the rate (a per-key result: partitions give the same)."""
    frame, rate = inputs["events"], int(inputs["rates"]["rate"].iloc[0])
    out = frame.groupby(keys or ["device"], as_index=False).agg(rows=("value", "size"), total=("value", "sum"))
    return out.assign(total=out["total"] * rate, part_rows=len(frame))


@step("part.whole")
def whole(inputs: Any) -> pd.DataFrame:
    (frame,) = inputs.values()
    return frame


@step("part.anywhere", partitions=True, claims=("path",))
def anywhere(inputs: Any, *, path: str = "") -> pd.DataFrame:
    (frame,) = inputs.values()
    return frame


def _totals(parts: list[Any]) -> dict[str, pd.DataFrame]:
    rows = pd.concat([p["rows"] for p in parts], ignore_index=True).sort_values("device", ignore_index=True)
    return {"rows": rows, "total": pd.DataFrame({"value": [int(rows["value"].sum())]})}


@step("part.totals", outputs=("rows", "total"), partitions=("device",), combine=_totals)
def totals(inputs: Any) -> dict[str, pd.DataFrame]:
    """Per device, sorted, and one row for all of them: what the parts give needs putting together."""
    rows = inputs["events"].groupby("device", as_index=False)["value"].sum()
    return {"rows": rows, "total": pd.DataFrame({"value": [int(rows["value"].sum())]})}


def _by_files(settings: Any, count: int) -> list[dict[str, Any]]:
    names = sorted(p.name for p in Path(settings["folder"]).glob("*.csv"))
    size = -(-len(names) // count)
    return [{**settings, "only": names[i:i + size]} for i in range(0, len(names), size)]


@step("part.read", split=_by_files)
def read(inputs: Any, *, folder: str, only: list[str] | None = None) -> pd.DataFrame:
    """Every CSV file of a folder, in name order (or only those named), one after the other."""
    names = sorted(p.name for p in Path(folder).glob("*.csv"))
    frames = [pd.read_csv(Path(folder) / n).assign(file=n) for n in names if only is None or n in only]
    return pd.concat(frames, ignore_index=True)


class Steps:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [events, rates, per_device, whole, anywhere, totals, read]


def pipeline(tmp_path: Path, partitions: dict[str, Any] | None, name: str = "p.yaml") -> Path:
    step_ = {"name": "per", "uses": "part.per_device", "needs": {"events": "ev", "rates": "rates"},
             "settings": {"keys": ["device"]}}
    if partitions is not None:
        step_["partitions"] = partitions
    steps = [{"name": "ev", "uses": "part.events"}, {"name": "rates", "uses": "part.rates"}, step_]
    return write_pipeline(tmp_path, steps, filename=name)


def run(tmp_path: Path, path: Path, executor: str = "inline") -> Any:
    kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
    return kernel.run(path, runs_root=tmp_path / "runs", executor=executor, workers=1 if executor == "inline" else 2)


@pytest.mark.parametrize("executor", ["inline", "threads", "processes"])
def test_a_partitioned_step_gives_what_the_whole_step_gives(tmp_path: Path, executor: str) -> None:
    whole_run = run(tmp_path, pipeline(tmp_path, None))
    parted = run(tmp_path, pipeline(tmp_path, {"by": ["device"], "count": 4}, "parted.yaml"), executor)
    assert whole_run.ok and parted.ok, parted.record.error
    expected = whole_run.outputs["per"]["out"].sort_values("device", ignore_index=True)
    got = parted.outputs["per"]["out"].sort_values("device", ignore_index=True)
    # The same figures per device: a device never spans two parts, and the rates reached every part.
    pd.testing.assert_frame_equal(got.drop(columns="part_rows"), expected.drop(columns="part_rows"))
    assert got["part_rows"].nunique() == parted.record.steps["per"].partitions == 4
    assert got.groupby("part_rows")["rows"].sum().sort_index().tolist() == sorted(got["part_rows"].unique())
    assert parted.record.steps["per"].rows_in == {"events": 500, "rates": 1}


def test_the_same_keys_go_to_the_same_part_in_every_run(tmp_path: Path) -> None:
    first = run(tmp_path, pipeline(tmp_path, {"by": ["device"], "count": 3}, "a.yaml"))
    again = run(tmp_path, pipeline(tmp_path, {"by": ["device"], "count": 3}, "b.yaml"), "processes")
    pd.testing.assert_frame_equal(first.outputs["per"]["out"], again.outputs["per"]["out"])


@pytest.mark.parametrize(
    ("uses", "settings", "partitions", "message"),
    [
        ("part.whole", {}, {"by": ["device"], "count": 2}, "step type 'part.whole' cannot run in partitions"),
        ("part.per_device", {"keys": ["device"]}, {"by": ["value"], "count": 2},
         "field 'partitions.by': 'value' is not one of settings.keys (device)"),
        ("part.anywhere", {"path": "out"}, {"by": ["device"], "count": 2},
         "a step that writes out (settings.path) runs whole, not in partitions"),
        ("part.per_device", {"keys": ["device"]}, {"by": [], "count": 2}, "field 'partitions.by'"),
        ("part.per_device", {"keys": ["device"]}, {"by": ["device"], "count": 0}, "field 'partitions.count'"),
    ],
)
def test_partitions_a_step_cannot_take_are_refused_before_the_run(
    tmp_path: Path, uses: str, settings: dict[str, Any], partitions: dict[str, Any], message: str
) -> None:
    steps = [{"name": "ev", "uses": "part.events"},
             {"name": "s", "uses": uses, "needs": ["ev"], "settings": settings, "partitions": partitions}]
    kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
    with pytest.raises(PipelineError) as info:
        kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs")
    assert message in str(info.value) and "step 's'" in str(info.value)
    assert not (tmp_path / "runs").exists()


def test_no_input_with_the_key_columns_fails_the_step_as_bad_input(tmp_path: Path) -> None:
    steps = [{"name": "rates", "uses": "part.rates"},
             {"name": "s", "uses": "part.per_device", "needs": {"events": "rates", "rates": "rates"},
              "settings": {"keys": ["device"]}, "partitions": {"by": ["device"], "count": 2}}]
    kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
    result = kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs")
    assert (result.record.status, result.exit_code) == ("failed", 2)
    assert result.record.steps["s"].error == "no input has the partition columns device (inputs: events, rates)"


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_step_that_combines_its_parts_gives_what_the_whole_step_gives(tmp_path: Path, executor: str) -> None:
    def with_parts(partitions: dict[str, Any] | None, name: str) -> Any:
        step_: dict[str, Any] = {"name": "tot", "uses": "part.totals", "needs": {"events": "ev"}}
        if partitions is not None:
            step_["partitions"] = partitions
        path = write_pipeline(tmp_path, [{"name": "ev", "uses": "part.events"}, step_], filename=name)
        kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
        return kernel.run(path, runs_root=tmp_path / "runs", executor=executor, keep_outputs=True, workers=2)

    whole_run = with_parts(None, "whole.yaml")
    parted = with_parts({"by": ["device"], "count": 4}, "parted.yaml")
    assert parted.ok and parted.record.steps["tot"].partitions == 4
    for output in ("rows", "total"):
        pd.testing.assert_frame_equal(parted.outputs["tot"][output], whole_run.outputs["tot"][output])
    with pytest.raises(PipelineError, match=r"'value' is not one of the key columns part\.totals allows"):
        with_parts({"by": ["value"], "count": 2}, "bad.yaml")


def files_pipeline(tmp_path: Path, count: Any, params: dict[str, Any] | None = None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for i in range(5):
        (folder / f"f{i}.csv").write_text("x\n" + "".join(f"{i * 10 + j}\n" for j in range(i + 1)))
    steps = [{"name": "read", "uses": "part.read", "settings": {"folder": str(folder)},
              "partitions": {"count": count}}]
    return write_pipeline(tmp_path, steps, params=params)


@pytest.mark.parametrize("executor", ["inline", "threads", "processes"])
def test_a_step_that_splits_its_files_gives_what_reading_them_all_gives(tmp_path: Path, executor: str) -> None:
    kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
    path = files_pipeline(tmp_path, "${params.parts}", {"parts": {"default": 1}})
    whole_run = kernel.run(path, runs_root=tmp_path / "runs", keep_outputs=True)
    assert whole_run.record.steps["read"].partitions is None  # one part: the step runs whole
    parted = kernel.run(path, runs_root=tmp_path / "runs", keep_outputs=True, params={"parts": "2"},
                        executor=executor, workers=1 if executor == "inline" else 2)
    assert parted.record.steps["read"].partitions == 2
    pd.testing.assert_frame_equal(parted.outputs["read"]["out"], whole_run.outputs["read"]["out"])
    assert len(parted.outputs["read"]["out"]) == 15


@pytest.mark.parametrize(
    ("uses", "count", "message"),
    [
        ("part.read", "${params.parts}", "field 'partitions.count': 'many' is not a number of parts from 1 to 4096"),
        ("part.read", "${params.nope}", "field 'partitions.count': unknown reference ${params.nope}"),
        ("part.read", "eight", "field 'partitions.count'"),
        ("part.whole", 2, "field 'partitions.by': step type 'part.whole' does not split its files"),
    ],
)
def test_a_number_of_parts_that_cannot_be_is_refused_before_the_run(
    tmp_path: Path, uses: str, count: Any, message: str
) -> None:
    steps = [{"name": "s", "uses": uses, "settings": {"folder": str(tmp_path)} if uses == "part.read" else {},
              "partitions": {"count": count}}]
    kernel = Kernel(entry_points=False, plugins=[("part", Steps())])
    with pytest.raises(PipelineError) as info:
        kernel.run(write_pipeline(tmp_path, steps, params={"parts": {"default": "many"}}), runs_root=tmp_path / "r")
    assert message in str(info.value) and "step 's'" in str(info.value)
    assert not (tmp_path / "r").exists()
