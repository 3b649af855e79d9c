"""A step plugin for the kernel benchmarks: ``bench.noop`` returns one fixed frame, whatever it is given."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kernel import hookimpl, step


class NoopSteps:
    """Registers ``bench.noop``, which returns ``frame`` (any number of inputs)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        @step("bench.noop", inputs=None)
        def noop(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
            return frame

        self.noop = noop

    @hookimpl
    def register_steps(self) -> list[Any]:
        return [self.noop]


def chain(n: int) -> list[dict[str, Any]]:
    """``n`` no-op steps, each reading the one before."""
    steps: list[dict[str, Any]] = [{"name": "s0", "uses": "bench.noop"}]
    return steps + [{"name": f"s{i}", "uses": "bench.noop", "needs": [f"s{i - 1}"]} for i in range(1, n)]
