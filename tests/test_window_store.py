"""The state store (rule 10, ``final: false``): a plain format that survives the process, a save that is
atomic, and a refusal of state made under other settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kernel_window import WindowResult
from kernel_window.steps import tumbling
from window_support import SPEC_SETTINGS, T0, clock, emitted, late, stream

from kernel import DataError, StepContext
from kernel import state as store_module

SCENARIO_5 = stream([("d1", "10:00")], [("d1", "09:00")], [("d1", "08:30"), ("d1", "07:59")], [("d1", "12:00")])


def step(frame: pd.DataFrame, state_dir: Path, ctx: StepContext | None = None, **settings: Any) -> WindowResult:
    outputs = tumbling({"records": frame}, ctx=ctx, **{**SPEC_SETTINGS, "state_dir": str(state_dir), **settings})
    return WindowResult(**outputs)


def halves(frame: pd.DataFrame, split: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch = (frame["ingest_time"] - T0) // pd.Timedelta("1min")
    return frame[batch < split], frame[batch >= split]


def test_state_survives_the_process(tmp_path: Path) -> None:
    whole = step(SCENARIO_5, tmp_path / "unused")
    first, second = halves(SCENARIO_5, 2)
    one = step(first, tmp_path / "state", final=False)
    assert one.windows.empty  # W stays 08:00 through B1: nothing is due yet
    second.to_parquet(tmp_path / "second.parquet")
    # The next run is another process: all it shares with this one is the state directory.
    script = textwrap.dedent(f"""
        import pandas as pd
        from kernel_window.steps import tumbling
        settings = {{**{SPEC_SETTINGS!r}, "state_dir": {str(tmp_path / "state")!r}}}
        out = tumbling({{"records": pd.read_parquet({str(tmp_path / "second.parquet")!r})}}, **settings)
        for name, frame in out.items():
            frame.to_parquet({str(tmp_path)!r} + "/" + name + ".parquet")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    two_windows = pd.read_parquet(tmp_path / "windows.parquet")
    pd.testing.assert_frame_equal(two_windows, whole.windows, check_dtype=False, check_categorical=False)
    assert pd.read_parquet(tmp_path / "late.parquet")["event_time"].tolist() == [pd.Timestamp("2024-01-01T00:07:59Z")]


def test_the_state_is_a_plain_manifest_and_parquet(tmp_path: Path) -> None:
    step(SCENARIO_5.iloc[:2], tmp_path, final=False)  # B0, B1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "kernel-window-tumbling-state" and manifest["version"] == 1
    assert (manifest["watermark"], manifest["last_batch_start"]) == ("2024-01-01T00:08:00+00:00",
                                                                     "2024-01-01T00:01:00+00:00")
    assert manifest["config"]["size"] == "P0DT0H1M0S" and manifest["config"]["keys"] == ["device_id"]
    windows = pd.read_parquet(tmp_path / manifest["windows"]["file"])
    assert [clock(s) for s in windows["window_start"]] == ["09:00", "10:00"]
    assert windows[["key:device_id", "emitted", "n"]].values.tolist() == [["d1", False, 1], ["d1", False, 1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", manifest["windows"]["file"]]


def test_a_save_killed_half_way_leaves_the_previous_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, rest = halves(SCENARIO_5, 1)
    second, third = halves(rest, 2)
    step(first, tmp_path, final=False)
    before = (tmp_path / "manifest.json").read_text()

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed between the window file and the manifest")

    monkeypatch.setattr(store_module, "write_text_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        step(second, tmp_path, final=False)
    monkeypatch.undo()
    assert (tmp_path / "manifest.json").read_text() == before
    # The run is done again from the state that was there: the result is the one-run result.
    again = step(second, tmp_path, final=False)
    last = step(third, tmp_path)
    whole = step(SCENARIO_5, tmp_path / "unused")
    pd.testing.assert_frame_equal(pd.concat([again.windows, last.windows], ignore_index=True), whole.windows)
    assert len(list(tmp_path.glob("windows-*.parquet"))) == 2  # the orphan of the killed save is gone


def test_a_failed_window_file_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = halves(SCENARIO_5, 1)
    step(first, tmp_path, final=False)
    files = sorted(p.name for p in tmp_path.iterdir())

    def full_disk(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        Path(str(args[0])).write_bytes(b"PAR1 half")
        raise OSError("No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    with pytest.raises(OSError, match="No space"):
        step(second, tmp_path, final=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_a_state_of_other_settings_is_refused(tmp_path: Path) -> None:
    step(SCENARIO_5.iloc[:1], tmp_path, final=False)
    with pytest.raises(DataError) as caught:
        step(SCENARIO_5.iloc[1:], tmp_path, size="2min")
    message = str(caught.value)
    assert "\n" not in message
    assert "settings.state_dir" in message and "size: 'P0DT0H1M0S', now 'P0DT0H2M0S'" in message


def test_a_record_in_a_batch_already_processed_is_refused(tmp_path: Path) -> None:
    first, _ = halves(SCENARIO_5, 2)
    step(first, tmp_path, final=False)
    with pytest.raises(DataError, match=r"1 record\(s\) arrive in batch 2024-01-01T00:01:00\+00:00, not after "
                                        r"2024-01-01T00:01:00\+00:00"):
        step(SCENARIO_5.iloc[1:2], tmp_path, final=False)  # B1 again: it would be counted twice


def test_the_same_records_again_redo_that_refresh_from_the_state_before_it(tmp_path: Path) -> None:
    # A run killed after its state was committed but before it ended is run again on the same input:
    # the store sees the records its current state was made from and starts from the state before them.
    first, second = halves(SCENARIO_5, 2)
    step(first, tmp_path, final=False)
    once = step(second.iloc[:2], tmp_path, final=False)  # B2
    again = step(second.iloc[:2], tmp_path, final=False)  # B2 again: a redo, not B2 counted twice
    assert late(again) == late(once) == [("d1", "07:59", "07:00", "08:00")]
    pd.testing.assert_frame_equal(again.windows, once.windows)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["previous"]["last_batch_start"] == "2024-01-01T00:01:00+00:00"  # B1's state kept as the base
    last = step(second.iloc[2:], tmp_path)
    assert emitted(last) == [(3, "d1", "08:00", 1), (3, "d1", "09:00", 1), ("end", "d1", "10:00", 1),
                             ("end", "d1", "12:00", 1)]


def test_other_records_are_the_next_refresh(tmp_path: Path) -> None:
    first, second = halves(SCENARIO_5, 2)
    step(first, tmp_path, final=False)
    step(second.iloc[:1], tmp_path, final=False)
    # Not the same records: a batch already counted is refused, never silently counted twice or dropped.
    with pytest.raises(DataError, match="not after"):
        step(second.iloc[:2], tmp_path, final=False)


def test_a_final_run_reads_the_state_and_leaves_it(tmp_path: Path) -> None:
    first, second = halves(SCENARIO_5, 2)
    step(first, tmp_path, final=False)
    before = (tmp_path / "manifest.json").read_text()
    step(second, tmp_path)
    assert (tmp_path / "manifest.json").read_text() == before


def test_without_an_arrival_column_each_run_is_the_next_batch(tmp_path: Path) -> None:
    settings = {"arrival_column": None, "trigger": None}
    one = step(stream([("d1", "00:10"), ("d1", "03:00")]), tmp_path, final=False, **settings)
    two = step(stream([("d1", "00:20"), ("d1", "01:30")]), tmp_path, **settings)
    assert one.windows["emit_batch"].tolist() == [0]  # W(0) = 01:00: window 00:00 is due
    assert late(two) == [("d1", "00:20", "00:00", "01:00")]  # batch 1 is judged by W(0)
    assert two.windows["emit_batch"].isna().all() and two.windows["count"].tolist() == [1, 1]


def test_a_frame_of_only_quarantined_records_is_still_a_batch(tmp_path: Path) -> None:
    settings = {"arrival_column": None, "trigger": None, "final": False}
    step(stream([("d1", "00:30")]), tmp_path, **settings)  # batch 0
    bad = stream([("d1", "00:40")]).assign(event_time=pd.NaT)  # batch 1: every record quarantined
    quarantined = step(bad, tmp_path, **settings)
    assert len(quarantined.quarantine) == 1 and quarantined.counts["batches"].tolist() == [1]
    two = step(stream([("d1", "03:30")]), tmp_path, **settings)  # batch 2
    assert two.windows["emit_batch"].tolist() == [2]  # not labelled as the quarantined frame's batch
    three = step(stream([("d1", "07:00")]), tmp_path, **settings)
    assert three.windows["emit_batch"].tolist() == [3]
