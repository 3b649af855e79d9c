"""A step plugin for the kernel benchmarks: ``bench.noop`` returns one fixed frame, whatever it is given."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kernel import hookimpl, step


class NoopSteps:
    """Registers ``bench.noop``, which returns ``frame`` (any number of inputs); with ``copy``, a new frame of
    the same columns each time (``frame.copy(deep=False)``: no data copied, new arrays over it)."""

    def __init__(self, frame: pd.DataFrame, *, copy: bool = False) -> None:
        @step("bench.noop", inputs=None)
        def noop(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
            return frame.copy(deep=False) if copy else frame

        self.noop = noop

    @hookimpl
    def register_steps(self) -> list[Any]:
        return [self.noop]


def chain(n: int) -> list[dict[str, Any]]:
    """``n`` no-op steps, each reading the one before."""
    steps: list[dict[str, Any]] = [{"name": "s0", "uses": "bench.noop"}]
    return steps + [{"name": f"s{i}", "uses": "bench.noop", "needs": [f"s{i - 1}"]} for i in range(1, n)]


@step("bench.cpu", inputs=None)
def cpu(inputs: dict[str, pd.DataFrame], *, rounds: int = 250, seed: int = 0) -> pd.DataFrame:
    """CPU-bound pandas work: ``rounds`` group-bys over 200,000 random rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"k": rng.integers(0, 1000, 200_000), "v": rng.random(200_000)})
    total = 0.0
    for _ in range(rounds):
        total += float(frame.groupby("k")["v"].agg(["mean", "std"]).to_numpy().sum())
    return pd.DataFrame({"seed": [seed], "total": [total]})


class CpuSteps:
    """Registers ``bench.cpu`` and ``bench.noop`` (returning a one-row frame): importable by worker processes."""

    @hookimpl
    def register_steps(self) -> list[Any]:
        return [cpu, _noop]


@step("bench.noop", inputs=None)
def _noop(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return _ONE


_ONE = pd.DataFrame({"x": [1]})
