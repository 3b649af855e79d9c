"""The grid-rollup showcase's figures at every level against a few lines of plain pandas over the raw Parquet
samples, each level summed straight from the feeders (the samples it sets aside are held to the generator's
manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase

REGIONS = {"N": "North", "E": "East", "S": "South", "W": "West"}


@cache
def _samples(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("feeder_load/*/part-*.parquet"))
    samples = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).drop_duplicates("sample_id")
    samples = samples[samples["load_mw"].between(0, 12)]
    region, substation, _ = samples["feeder_id"].str.split("-", expand=True).T.to_numpy()
    return samples.assign(region=pd.Series(region, index=samples.index).map(REGIONS),
                          substation=[f"{r}-{s}" for r, s in zip(region, substation, strict=True)],
                          quarter=samples["sampled_at"].dt.floor("15min"),
                          day=samples["sampled_at"].dt.floor("15min").dt.strftime("%Y-%m-%d"))


def _level(samples: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group and day: energy, and the peak of the group's summed load over the quarters, with its quarter."""
    load = samples.groupby([*by, "day", "quarter"])["load_mw"].sum().reset_index()
    top = load.loc[load.groupby([*by, "day"])["load_mw"].idxmax()].set_index([*by, "day"])
    days = load.groupby([*by, "day"])["load_mw"].agg(energy=lambda mw: mw.sum() / 4, peak="max")
    return days.assign(peak_quarter=top["quarter"])


@pytest.mark.parametrize(("published", "by"), [("feeders", ["feeder_id"]), ("substations", ["substation"]),
                                               ("regions", ["region"]), ("grid", [])])
def test_every_level_equals_plain_pandas_over_the_raw_samples(published: str, by: list[str]) -> None:
    run = run_showcase("grid-rollup")
    expected = _level(_samples(run.data), by).reset_index()
    table = run.published(published).sort_values([*by, "day"]).reset_index(drop=True)
    assert table[[*by, "day"]].values.tolist() == expected[[*by, "day"]].values.tolist()
    assert (table["energy_mwh"] - expected["energy"]).abs().max() < 0.002
    assert (table["peak_mw"] - expected["peak"]).abs().max() < 0.002
    assert pd.to_datetime(table["peak_quarter"], utc=True).tolist() == expected["peak_quarter"].tolist()


def test_the_energy_is_the_same_at_every_level() -> None:
    run = run_showcase("grid-rollup")
    total = _samples(run.data)["load_mw"].sum() / 4
    for level in ("feeders", "substations", "regions", "grid"):
        assert run.published(level)["energy_mwh"].sum() == pytest.approx(total, abs=0.1), level
    assert run.published("grid_load_curve")["feeders"].sum() == len(_samples(run.data))
