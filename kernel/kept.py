"""Frames that stay where they were made: on the workers of an executor that keeps them (Dask).

The orchestrator holds a :class:`KeptFrame` for each such output: the executor's reference to the frame
and a summary made next to it (rows, columns, dtypes, size). A consumer's attempt is given the
references, which the executor resolves to the frames where the attempt runs. A listener that reads a
kept frame brings it to the orchestrating process (:meth:`KeptFrame.fetch`), and the run record counts
what it cost (``transfer`` in run.json).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd



@runtime_checkable
class Keeper(Protocol):
    """An executor that keeps what attempts return on its workers (besides ``concurrent.futures``).

    ``submit_kept(fn, *args, outputs=n)`` runs ``fn(*args)``, which returns ``(head, values)`` with ``n``
    values; it gives a future of ``head`` alone and one reference per value. A reference passed in the
    arguments of a later ``submit_kept`` (at any depth in tuples, lists and dicts) is resolved to its value
    where that call runs. ``fetch(ref)`` brings a value here. A reference nobody holds is released."""

    def submit_kept(self, fn: Callable[..., Any], /, *args: Any, outputs: int) -> tuple[Future[Any], tuple[Any, ...]]:
        ...

    def fetch(self, ref: Any) -> Any:
        ...


@dataclass(frozen=True, slots=True)
class FrameSummary:
    """What the orchestrator learns of a kept frame without moving it."""

    rows: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    nbytes: int

    @classmethod
    def of(cls, frame: pd.DataFrame) -> FrameSummary:
        return cls(
            len(frame.index),
            tuple(str(c) for c in frame.columns),
            tuple(str(d) for d in frame.dtypes),
            int(frame.memory_usage(index=True, deep=False).sum()),
        )


class KeptFrame:
    """A step's output left on a worker: its reference, its summary, and a way to bring it here."""

    __slots__ = ("__weakref__", "_fetch", "ref", "summary")

    def __init__(self, ref: Any, summary: FrameSummary, fetch: Callable[[KeptFrame], pd.DataFrame]) -> None:
        self.ref = ref
        self.summary = summary
        self._fetch = fetch

    @property
    def rows(self) -> int:
        return self.summary.rows

    def fetch(self) -> pd.DataFrame:
        """The frame itself, brought to this process (its bytes counted in the run record)."""
        return self._fetch(self)

    def __repr__(self) -> str:
        return f"KeptFrame(rows={self.rows}, columns={len(self.summary.columns)})"
