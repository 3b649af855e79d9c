"""The line-oee showcase's hourly OEE against a few lines of plain pandas over the raw PLC samples: samples
counted in the hour of their own time, except the copies, the unusable ones and the ones the generator's
manifest says arrived late (the late ones are held to the window's late output by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase

IDEAL_PPM = 150


def test_oee_per_line_and_hour_equals_plain_pandas() -> None:
    run = run_showcase("line-oee")
    late = list(run.manifest.tables["samples"].defects["late"].keys)
    samples = raw_avro(run.data, "samples.avro").drop_duplicates("sample_id")
    usable = (samples["parts"].between(0, 130) & samples["state"].isin(["running", "stopped", "planned_stop"])
              & ~samples["sample_id"].isin(late))
    samples = samples[usable]
    samples = samples.assign(hour=pd.to_datetime(samples["sampled_at"], utc=True).dt.floor("1h"),
                             planned=samples["state"] != "planned_stop", running=samples["state"] == "running",
                             good=samples["parts"] - samples["rejects"])
    expected = samples.groupby(["line_id", "hour"]).agg(
        samples=("sample_id", "size"), planned=("planned", "sum"), running=("running", "sum"),
        parts=("parts", "sum"), good=("good", "sum")).reset_index()
    got = run.published("oee_by_hour")
    assert got["line_id"].tolist() == expected["line_id"].tolist()
    assert pd.to_datetime(got["window_start"], utc=True).tolist() == expected["hour"].tolist()
    for column in ("samples", "parts", "good"):
        assert got[column].tolist() == expected[column].tolist(), column
    assert got["running_min"].tolist() == expected["running"].tolist()
    oee = expected["good"] / (expected["planned"] * IDEAL_PPM)
    assert (got["oee"] - oee).abs().max() <= 0.00005 + 1e-12
    product = got["availability"] * got["performance"] * got["quality"]
    assert (product - got["oee"]).abs().max() < 0.001  # the three losses multiply to the OEE

    shift = expected.groupby("line_id")[["good", "planned"]].rolling(8, min_periods=1).sum().reset_index(drop=True)
    oee_8h = shift["good"] / (shift["planned"] * IDEAL_PPM)
    assert (got["oee_8h"] - oee_8h).abs().max() <= 0.00005 + 1e-12
