"""``transform.dedupe`` with ``state_dir``: a key let through by an earlier run is a duplicate in a later one,
as if the runs' rows had come in one run; the store is committed with the run and a rerun is a redo."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kernel_transform import rows

from kernel import Kernel, StepSettingsError

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def dedupe(frame: pd.DataFrame, state: Path, **more: Any) -> dict[str, pd.DataFrame]:
    return dict(rows.dedupe({"in": frame}, keys=["id"], state_dir=str(state), **more))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=40), data=st.data())
def test_runs_cut_anywhere_let_through_what_one_run_lets_through(tmp_path_factory: pytest.TempPathFactory,
                                                                 ids: list[int | None], data: st.DataObject) -> None:
    frame = pd.DataFrame({"id": pd.array(ids, dtype="Int64"), "n": range(len(ids))})
    whole = rows.dedupe({"in": frame}, keys=["id"])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ids)), max_size=3), "cuts"))
    chunks = [ids[a:b] for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True)]
    # The same records twice in a row, in runs alike, are one run again (a redo): a stream's runs differ by
    # their parameters (the file), see the test below.
    assume(all(x != y for x, y in itertools.pairwise(chunks)))
    state = tmp_path_factory.mktemp("seen")
    outs, dups = [], []
    for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True):
        got = dedupe(frame.iloc[a:b], state)
        outs.append(got["out"])
        dups.append(got["duplicates"])
    assert pd.concat(outs)["n"].tolist() == whole["out"]["n"].tolist()
    assert sorted(pd.concat(dups)["n"]) == sorted(whole["duplicates"]["n"])


def test_a_key_from_an_earlier_run_is_a_duplicate_with_its_reason(tmp_path: Path) -> None:
    dedupe(pd.DataFrame({"id": [1, 2, 2], "n": [0, 1, 2]}), tmp_path)
    second = pd.DataFrame({"id": [3, 2, 3, 4], "n": [3, 4, 5, 6]})
    got = dedupe(second, tmp_path)
    assert got["out"]["n"].tolist() == [3, 6]
    assert got["duplicates"][["n", "reason"]].values.tolist() == [
        [4, "duplicate of (id), let through by an earlier run"], [5, "duplicate of (id)"]]
    # The same records again (a rerun after a kill past the commit) start from the state before them.
    again = dedupe(second, tmp_path)
    pd.testing.assert_frame_equal(again["out"], got["out"])
    pd.testing.assert_frame_equal(again["duplicates"], got["duplicates"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["keys"]["rows"], manifest["key_columns"]) == (4, ["id"])
    # The redo replaced generation 2; generation 1, the one before it, stays as the previous.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys-000001.parquet", "keys-000003.parquet",
                                                          "manifest.json"]


def test_remember_forgets_keys_that_long_behind_the_newest_time(tmp_path: Path) -> None:
    def at(minutes: int) -> pd.Timestamp:
        return T0 + pd.Timedelta(minutes=minutes)

    dedupe(pd.DataFrame({"id": [1, 2], "at": [at(0), at(50)]}), tmp_path, time_column="at", remember="1h")
    later = dedupe(pd.DataFrame({"id": [1, 2], "at": [at(70), at(75)]}), tmp_path, time_column="at",
                   remember="1h")
    assert later["out"]["id"].tolist() == [1]  # key 1 was seen at 0:00, more than an hour before 1:15
    assert later["duplicates"]["id"].tolist() == [2]


def test_a_failed_run_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,n\n1,0\n2,1\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: seen\nparams: {file: a.csv, fail: 'false'}\nsteps:\n"
        "  - {name: read, uses: io.read, settings: {path: '${pipeline.dir}/${params.file}'}}\n"
        "  - {name: unique, uses: transform.dedupe, needs: [read], settings: {keys: [id], state_dir: "
        "'${pipeline.dir}/seen'}}\n"
        "  - {name: check, uses: transform.filter, needs: [unique], settings: {where: 'id > 0 OR ${params.fail}'}}\n"
        "  - {name: boom, uses: transform.sql, needs: {t: check}, settings: {query: "
        "'SELECT CASE WHEN ${params.fail} THEN error(''boom'') ELSE id END AS id FROM t'}}\n")
    kernel = Kernel(disable=("report", "cache"))
    assert kernel.run(pipeline, runs_root=tmp_path / "runs").ok
    before = (tmp_path / "seen" / "manifest.json").read_text()
    (tmp_path / "b.csv").write_text("id,n\n3,0\n")
    failed = kernel.run(pipeline, params={"file": "b.csv", "fail": "true"}, runs_root=tmp_path / "runs")
    assert not failed.ok
    assert (tmp_path / "seen" / "manifest.json").read_text() == before
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == ["keys-000001.parquet", "manifest.json"]


def test_the_same_records_in_a_run_with_other_parameters_are_not_a_redo(tmp_path: Path) -> None:
    # A file sent twice under two names: the second time every row is a duplicate.
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("id,n\n1,0\n2,1\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: seen\nparams: {file: a.csv}\nsteps:\n"
        "  - {name: read, uses: io.read, settings: {path: '${pipeline.dir}/${params.file}'}}\n"
        "  - {name: unique, uses: transform.dedupe, needs: [read], settings: {keys: [id], state_dir: "
        "'${pipeline.dir}/seen'}}\n")
    kernel = Kernel(disable=("report", "cache"))
    first = kernel.run(pipeline, runs_root=tmp_path / "runs", keep_outputs=True)
    second = kernel.run(pipeline, params={"file": "b.csv"}, runs_root=tmp_path / "runs", keep_outputs=True)
    again = kernel.run(pipeline, params={"file": "b.csv"}, runs_root=tmp_path / "runs", keep_outputs=True)
    assert first.outputs["unique"]["out"]["id"].tolist() == [1, 2]
    assert second.outputs["unique"]["out"].empty and len(second.outputs["unique"]["duplicates"]) == 2
    assert again.outputs["unique"]["out"].empty  # b.csv again, with the same parameters: a redo of it


@pytest.mark.parametrize(("more", "message"), [
    ({"keep": "last"}, "keep: last cannot hold across runs"),
    ({"remember": "1h"}, "remember needs state_dir and time_column"),
    ({"time_column": "at", "remember": "soon"}, "remember: 'soon' is not a duration"),
])
def test_settings_that_cannot_hold_across_runs_are_refused(tmp_path: Path, more: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises((StepSettingsError, ValueError), match=message):
        dedupe(pd.DataFrame({"id": [1], "at": [T0]}), tmp_path, **more)
