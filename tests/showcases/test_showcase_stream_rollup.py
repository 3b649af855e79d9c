"""The stream-rollup showcase's levels against a few lines of plain pandas over the raw Parquet files: each
play with its track, album, artist and label, counted at every level straight from the plays, not from the
level below (the plays it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase


def _plays_by_hand(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("plays/*/part-*.parquet"))
    plays = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True).drop_duplicates("play_id")
    plays = plays[plays["seconds_played"].between(0, 900)]
    catalogue = (pd.read_parquet(data / "tracks.parquet").merge(pd.read_parquet(data / "albums.parquet"), on="album_id")
                 .merge(pd.read_parquet(data / "artists.parquet"), on="artist_id"))
    plays = plays.merge(catalogue, on="isrc")
    return plays.assign(stream=plays["seconds_played"] >= 30)


def test_streams_at_every_level_equal_plain_pandas_over_the_raw_plays() -> None:
    run = run_showcase("stream-rollup")
    plays = _plays_by_hand(run.data)
    streams = plays[plays["stream"]]
    for level, key in (("tracks", "isrc"), ("albums", "album_id"), ("artists", "artist_id"), ("labels", "label_id")):
        published = run.published(level).set_index(key)
        assert published["streams"].to_dict() == streams.groupby(key).size().to_dict(), level
        assert published["skips"].sum() == (~plays["stream"]).sum(), level
        premium = streams[streams["tier"] == "premium"].groupby(key).size()
        assert published["premium_streams"].to_dict() == premium.reindex(published.index, fill_value=0).to_dict()
        hours = streams.groupby(key)["seconds_played"].sum() / 3600
        assert (published["hours"] - hours.reindex(published.index)).abs().max() < 0.06, level
    total = run.published("catalogue").iloc[0]
    assert total["streams"] == len(streams)


def test_shares_and_top_tracks_equal_plain_pandas() -> None:
    run = run_showcase("stream-rollup")
    streams = _plays_by_hand(run.data).query("stream")
    per_label = streams.groupby("label_id").size()
    labels = run.published("labels").set_index("label_id")
    assert ((labels["share_of_catalogue_pct"] - 100 * per_label / per_label.sum()).abs() <= 0.0051).all()
    per_track = streams.groupby(["album_id", "track"]).size().rename("n").reset_index()
    top = per_track.sort_values(["album_id", "n", "track"], ascending=[True, False, True]).groupby("album_id").head(1)
    albums = run.published("albums").set_index("album_id")
    assert albums["top_track"].to_dict() == top.set_index("album_id")["track"].to_dict()
