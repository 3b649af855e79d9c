"""The licence-rights-history showcase's changes and catalogue against a few lines of plain pandas over the raw
snapshot files: each licence's usable rows in the order they were exported, a change wherever the rights or the
exclusivity differ from the row before (the rows it sets aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

RIGHTS = ["streaming", "streaming+download", "ad-supported", "withdrawn"]


def _usable_rows(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("rights_snapshots/*/part-*.jsonl"))
    rows = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    rows = rows.drop_duplicates("row_id")
    rows = rows[rows["rights"].isin(RIGHTS)].copy()
    rows["exported_at"] = pd.to_datetime(rows["exported_at"], utc=True)
    return rows.sort_values(["licence_id", "exported_at"]).reset_index(drop=True)


def test_the_changes_are_where_a_licences_rights_differ_from_its_row_before() -> None:
    run = run_showcase("licence-rights-history")
    rows = _usable_rows(run.data)
    before = rows.groupby("licence_id")[["rights", "exclusive"]].shift()
    changed = before["rights"].notna() & ((rows["rights"] != before["rights"])
                                          | (rows["exclusive"] != before["exclusive"]))
    # a snapshot is taken on the Monday it is named for; a row exported a little after still belongs to it
    expected = rows[changed].assign(changed_on=rows["exported_at"].dt.floor("D").dt.strftime("%Y-%m-%d"),
                                    previous_rights=before["rights"])
    published = run.published("rights_changes").sort_values(["licence_id", "changed_on"])
    columns = ["licence_id", "changed_on", "previous_rights", "rights", "exclusive"]
    assert published[columns].values.tolist() == expected[columns].values.tolist()


def test_the_catalogue_on_a_day_is_each_licences_last_row_before_it() -> None:
    run = run_showcase("licence-rights-history")
    rows = _usable_rows(run.data)
    day = pd.Timestamp("2025-10-15", tz="UTC")
    last = rows[rows["exported_at"].dt.floor("D") <= day].groupby("licence_id").tail(1)
    last = last.merge(pd.read_json(run.data / "licences.jsonl", lines=True), on="licence_id")
    expected = last.groupby(["territory", "rights"]).size().to_dict()
    published = run.published("catalogue_on_day").set_index(["territory", "rights"])["licences"].to_dict()
    assert published == expected
    assert sum(published.values()) == len(pd.read_json(run.data / "licences.jsonl", lines=True))
