"""The keys ``transform.dedupe`` has let through in earlier runs (``state_dir``): a :class:`kernel.StateStore`.

::

    <state_dir>/manifest.json           what the store is: the only file a reader starts from
    <state_dir>/keys-<generation>.parquet   the key columns of every row let through (and its time)

As every step state (docs/plugins.md#step-state): a run stages a new generation and the kernel commits it
once every step of the run has succeeded; the same records again (a rerun after a kill past the commit)
start from the state before them and come out as one undisturbed run's. ``remember`` forgets keys whose
time lies that long behind the newest time seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import StateStore, StepContext

FORMAT = "kernel-transform-seen-keys"
VERSION = 2
TIME = "__seen_at"  # nanoseconds since the epoch, UTC: the row's time_column


class SeenKeys:
    def __init__(self, directory: str | Path, keys: list[str] | None = None, time_column: str | None = None,
                 salt: str | None = None) -> None:
        self.store = StateStore(directory, format=FORMAT, version=VERSION, roles=("keys",),
                                what="store of seen keys")
        self.directory = self.store.directory
        self.salt = salt
        self.keys = keys or []
        self.time_column = time_column

    @property
    def redo(self) -> bool:
        return self.store.redo

    def _made_from(self, records: pd.DataFrame) -> str:
        columns = [*self.keys, *([self.time_column] if self.time_column else [])]
        return StateStore.fingerprint(records, columns, self.salt)

    def load(self, records: pd.DataFrame) -> tuple[pd.DataFrame | None, int | None]:
        """The keys let through before, and the newest time seen (ns); the state before the current one when
        ``records`` are exactly those it was made from (:attr:`redo`)."""
        base = self.store.load(self._made_from(records))
        if base is None:
            return None, None
        if base.get("key_columns") != self.keys:
            raise self.store.fail(f"the saved keys are ({', '.join(base.get('key_columns') or [])}), not "
                                  f"({', '.join(self.keys)}); use another state_dir, or delete this one to start over")
        return self.store.read("keys"), base.get("newest")

    def stage(self, seen: pd.DataFrame, newest: int | None, records: pd.DataFrame) -> dict[str, Any]:
        return self.store.stage({"keys": seen}, self._made_from(records), key_columns=self.keys,
                                time_column=self.time_column, newest=newest)

    def keep(self, manifest: dict[str, Any], ctx: StepContext | None) -> None:
        self.store.keep(manifest, ctx)

    def recover(self) -> None:
        self.store.recover()


def utc_ns(values: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """A time column as int64 nanoseconds, UTC (naive is UTC, text is parsed); NaT as the smallest int64."""
    stamps = values if isinstance(values.dtype, pd.DatetimeTZDtype) else pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)
