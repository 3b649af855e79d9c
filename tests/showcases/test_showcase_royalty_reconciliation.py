"""The royalty-reconciliation showcase's statement against a few lines of plain pandas over the raw usage report
(Parquet) and royalty statement (CSV): due is streams times the rate, paid is every line's amount, and the
difference per track and per finding (the lines it sets aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

RATE = 0.004


def test_due_paid_and_difference_per_track_equal_plain_pandas() -> None:
    run = run_showcase("royalty-reconciliation")
    streams = pd.read_parquet(run.data / "streams.parquet").drop_duplicates("stream_id")
    lines = pd.read_csv(run.data / "statement_lines.csv")
    to_track = lines.merge(streams[["stream_id", "isrc"]], on="stream_id", how="left")
    paid = to_track.groupby("isrc")["royalty_eur"].sum()  # every line that names a stream, copies included
    due = streams.groupby("isrc").size() * RATE
    tracks = run.published("tracks").dropna(subset=["isrc"]).set_index("isrc")
    assert tracks["streams"].to_dict() == streams.groupby("isrc").size().to_dict()
    assert (tracks["due_eur"] - due).abs().max() < 1e-9
    assert (tracks["paid_eur"] - paid.reindex(tracks.index, fill_value=0)).abs().max() < 1e-9
    assert (tracks["difference_eur"] - (paid.reindex(tracks.index, fill_value=0) - due)).abs().max() < 1e-4


def test_the_findings_add_up_to_the_statement_and_to_what_is_due() -> None:
    run = run_showcase("royalty-reconciliation")
    streams = pd.read_parquet(run.data / "streams.parquet").drop_duplicates("stream_id")
    lines = pd.read_csv(run.data / "statement_lines.csv")
    unique = lines.drop_duplicates("line_no")
    usable = unique[unique["stream_id"].notna() & unique["royalty_eur"].notna()]
    off = usable[(usable["royalty_eur"] - RATE).abs() >= 0.00005]
    summary = run.published("summary").set_index("finding")
    assert summary.loc["paid at another rate", "lines"] == len(off)
    assert summary.loc["streamed, not paid", "streams"] == len(streams) - usable["stream_id"].nunique()
    assert summary.loc["line paid twice", "lines"] == len(lines) - len(unique)
    assert abs(summary["paid_eur"].sum() - lines["royalty_eur"].sum()) < 1e-6
    assert abs(summary["due_eur"].sum() - len(streams) * RATE) < 1e-6
