"""The state store of ``window.tumbling`` (rule 10, ``final: false``): a plain directory any tool can read.

::

    <state_dir>/manifest.json             what the state is; the only file a reader starts from
    <state_dir>/windows-<generation>.parquet   the open windows of that generation (a partial table)

A save is two steps: :meth:`StateStore.stage` writes a new Parquet file under a new generation number,
and :meth:`StateStore.commit` replaces ``manifest.json`` in one rename (:func:`kernel.atomic_path`). In a
run, the commit waits until every step of the run has succeeded (the kernel's staged writes), so a run
that fails, is interrupted or killed leaves the previous manifest, and the files it names, as they were.

The manifest keeps the previous generation too, and a fingerprint of the records the current one was made
from: a run given exactly those records again is a re-run of that refresh (after a crash past the commit,
say), and starts from the previous state instead of counting them twice. ``docs/windowing.md`` documents
every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import StateStore as Store
from kernel import StepContext
from kernel_window.settings import WindowConfig
from kernel_window.tumbling import WindowState

FORMAT = "kernel-window-tumbling-state"
VERSION = 1
ROLES = ("windows", "held")
# Partial-table columns holding nanoseconds since the epoch; Parquet stores them as UTC timestamps.
_TIMES = ("window_start", "first:event_time", "last:event_time")


def _iso(ns: int | None) -> str | None:
    return None if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()


def _ns(text: str | None) -> int | None:
    return None if text is None else int(pd.Timestamp(text).value)


def records_fingerprint(records: pd.DataFrame, config: WindowConfig, salt: str | None = None) -> str:
    """The columns the step reads from its records, row by row, and ``salt`` (the run's parameters and
    ``hold``): the same records in a run with other parameters (another file of a stream, another time to
    hold to) are another batch, not the same one again."""
    wanted = [config.time_column, config.arrival_column, *config.keys, *config.order_by,
              *(a.column for a in config.aggregations)]
    return Store.fingerprint(records, [c for c in wanted if c is not None], salt)


class StateStore:
    """The state of one windowing step in ``directory``, for one configuration (a :class:`kernel.StateStore`
    of the roles ``windows`` and ``held``).

    ``run_id`` and ``step`` say who writes (kept in the manifest for people to read). ``config`` is needed
    to load and stage, not to commit, discard or recover.
    """

    def __init__(self, directory: str | Path, config: WindowConfig | None = None, *, run_id: str | None = None,
                 step: str | None = None, salt: str | None = None) -> None:
        self.store = Store(directory, format=FORMAT, version=VERSION, roles=ROLES, what="window state")
        self.directory = self.store.directory
        self.config = config
        self.salt = salt
        self.run = {"id": run_id, "step": step}

    @property
    def redo(self) -> bool:
        """Whether :meth:`load` found a re-run of the current state's own records."""
        return self.store.redo

    def _config(self) -> WindowConfig:
        if self.config is None:
            raise ValueError("a StateStore needs the step's config to load or stage a state")
        return self.config

    def load(self, records: pd.DataFrame | None = None) -> WindowState | None:
        """The saved state, or ``None`` when there is none yet; a state of other settings is refused.

        Given the run's ``records``: when they are exactly the records the current state was made from,
        this is a re-run of that refresh, and the state before it is returned (:attr:`redo` says so).
        """
        config = self._config()
        made_from = records_fingerprint(records, config, self.salt) if records is not None else None
        base = self.store.load(made_from)
        if base is None:
            return None
        expected = config.fingerprint()
        saved = base.get("config", {})
        changed = [name for name in expected if saved.get(name) != expected[name]]
        if changed:
            name = changed[0]
            raise self.store.fail(f"the saved state was made with other settings ({name}: {saved.get(name)!r}, "
                                  f"now {expected[name]!r}); use another state_dir, or delete this one to start over")
        windows = self.store.read("windows")
        assert windows is not None
        for column in windows.columns:
            if column in _TIMES:
                windows[column] = pd.to_datetime(windows[column], utc=True).dt.tz_localize(None).astype(
                    "datetime64[ns]").to_numpy().view(np.int64)
        return WindowState(watermark=_ns(base.get("watermark")), last_batch=base.get("last_batch"),
                           windows=windows)

    def held(self) -> pd.DataFrame | None:
        """The records the state :meth:`load` returned kept back for a later run (``hold``), in arrival order;
        ``None`` when it kept none."""
        return self.store.read("held")

    def save(self, state: WindowState, records: pd.DataFrame | None = None) -> None:
        """Stage and commit at once (outside a run)."""
        self.commit(self.stage(state, records))

    def stage(self, state: WindowState, records: pd.DataFrame | None = None,
              held: pd.DataFrame | None = None, until: str | None = None) -> dict[str, Any]:
        """Write ``state`` as the next generation's file and return the manifest that will name it; nothing
        reads it until :meth:`commit`. ``records`` (the run's input) are fingerprinted for re-runs; ``held``
        are records kept back for the next run (``hold``), written beside the windows.

        The manifest's ``previous`` is the state :meth:`load` started from (none without a load).
        """
        config = self._config()
        frame = state.windows.copy()
        for column in frame.columns:
            if column in _TIMES:
                frame[column] = pd.Series(frame[column].to_numpy(np.int64).view("M8[ns]")).dt.tz_localize("UTC")
        made_from = records_fingerprint(records, config, self.salt) if records is not None else None
        manifest = self.store.stage(
            {"windows": frame, "held": held if held is not None and len(held) else None}, made_from,
            run=self.run, config=config.fingerprint(), watermark=_iso(state.watermark),
            last_batch=state.last_batch,
            last_batch_start=_iso(state.last_batch * config.trigger)
            if state.last_batch is not None and config.trigger is not None else None)
        if manifest["held"] is not None:
            manifest["held"]["until"] = until
        return manifest

    def keep(self, manifest: dict[str, Any], ctx: StepContext | None) -> None:
        """Current with the run (at once for a step called alone)."""
        self.store.keep(manifest, ctx)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Make a staged state current: replace ``manifest.json`` in one rename, then remove what no manifest
        names. Idempotent: committing the current manifest again changes nothing."""
        self.store.commit(manifest)

    def discard(self, manifest: dict[str, Any]) -> None:
        """Remove a staged generation's files (unless a manifest names them)."""
        self.store.discard(manifest)

    def recover(self) -> None:
        """Remove what a stopped run left: staged files no manifest names, temporary files of killed saves."""
        self.store.recover()
