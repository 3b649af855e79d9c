"""The state store of ``window.tumbling`` (rule 10, ``final: false``): a plain directory any tool can read.

::

    <state_dir>/manifest.json             what the state is; the only file a reader starts from
    <state_dir>/windows-<generation>.parquet   the open windows of that generation (a partial table)

A save writes a new Parquet file under a new generation number, then replaces ``manifest.json`` in one
rename (:func:`kernel.atomic_path`): a run killed at any point leaves the previous manifest, and the
files it names, as they were. The manifest keeps the previous generation too, so that the same step of
the same run, executed again (a retry, a resume), starts from the state its first attempt started from
instead of counting its records twice. ``docs/windowing.md`` documents every field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError, atomic_path, write_text_atomic
from kernel_window.settings import WindowConfig
from kernel_window.tumbling import WindowState

FORMAT = "kernel-window-tumbling-state"
VERSION = 1
MANIFEST = "manifest.json"
_FILE = re.compile(r"^windows-(\d+)\.parquet$")
# Partial-table columns holding nanoseconds since the epoch; Parquet stores them as UTC timestamps.
_TIMES = ("window_start", "first:event_time", "last:event_time")


def _iso(ns: int | None) -> str | None:
    return None if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()


def _ns(text: str | None) -> int | None:
    return None if text is None else int(pd.Timestamp(text).value)


class StateStore:
    """The state of one windowing step in ``directory``, for one configuration.

    ``run_id`` and ``step`` say who is reading and writing: a manifest written by the same step of the
    same run is a previous attempt of this very execution, so :meth:`load` returns the state before it.
    One step writes one directory; two steps (or two runs at once) sharing it would overwrite each other.
    """

    def __init__(self, directory: str | Path, config: WindowConfig, *, run_id: str | None = None,
                 step: str | None = None) -> None:
        self.directory = Path(directory)
        self.config = config
        self.run = {"id": run_id, "step": step}
        self._base: dict[str, Any] | None = None

    def _fail(self, message: str) -> DataError:
        return DataError(f"state store '{self.directory}': {message}", field="settings.state_dir")

    def _manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {MANIFEST}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise self._fail(f"{MANIFEST} is not a window state (format '{FORMAT}')")
        if data.get("version") != VERSION:
            raise self._fail(f"state version {data.get('version')} is not supported (expected {VERSION})")
        return data

    def load(self) -> WindowState | None:
        """The saved state, or ``None`` when there is none yet; a state of other settings is refused."""
        current = self._manifest()
        base = current
        if current is not None and self.run["id"] is not None and current.get("run") == self.run:
            base = current.get("previous")
        self._base = base
        if base is None:
            return None
        expected = self.config.fingerprint()
        saved = base.get("config", {})
        changed = [name for name in expected if saved.get(name) != expected[name]]
        if changed:
            name = changed[0]
            raise self._fail(f"the saved state was made with other settings ({name}: {saved.get(name)!r}, now "
                             f"{expected[name]!r}); use another state_dir, or delete this one to start over")
        windows = self._read(base["windows"]["file"])
        return WindowState(watermark=_ns(base.get("watermark")), last_batch=base.get("last_batch"),
                           windows=windows)

    def _generations(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return [int(m.group(1)) for p in self.directory.iterdir() if (m := _FILE.match(p.name))]

    def _read(self, name: str) -> pd.DataFrame:
        try:
            frame = pd.read_parquet(self.directory / name)
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {name}: {exc}") from None
        for column in frame.columns:
            if column in _TIMES:
                frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None).astype(
                    "datetime64[ns]").to_numpy().view(np.int64)
        return frame

    def save(self, state: WindowState) -> None:
        """Write ``state`` as the next generation; the old one stays until the new manifest is in place.

        The manifest's ``previous`` is the state :meth:`load` started from (none without a load).
        """
        current = self._manifest()
        # Never reuse a number: a killed save may have left a file under the next one.
        generation = max([0, *self._generations(), int(current["generation"]) if current else 0]) + 1
        name = f"windows-{generation:06d}.parquet"
        frame = state.windows.copy()
        for column in frame.columns:
            if column in _TIMES:
                frame[column] = pd.Series(frame[column].to_numpy(np.int64).view("M8[ns]")).dt.tz_localize("UTC")
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(self.directory / name) as tmp:
                frame.to_parquet(tmp, index=False)
        except (TypeError, ValueError, ImportError) as exc:  # pyarrow cannot store some object columns
            raise self._fail(f"cannot save the open windows: {exc}") from None
        previous = {k: v for k, v in self._base.items() if k != "previous"} if self._base else None
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "generation": generation,
            "run": self.run,
            "config": self.config.fingerprint(),
            "watermark": _iso(state.watermark),
            "last_batch": state.last_batch,
            "last_batch_start": _iso(state.last_batch * self.config.trigger)
            if state.last_batch is not None and self.config.trigger is not None else None,
            "windows": {"file": name, "rows": len(frame), "columns": [str(c) for c in frame.columns]},
            "previous": previous,
        }
        write_text_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        self._base = manifest
        self._collect({name, previous["windows"]["file"]} if previous else {name})

    def _collect(self, keep: set[str]) -> None:
        """Remove window files no manifest names any more, and temporary files of killed saves."""
        for path in self.directory.iterdir():
            stale = _FILE.match(path.name) and path.name not in keep
            leftover = path.name.startswith((".windows-", f".{MANIFEST}.")) and path.name.endswith(".tmp")
            if stale or leftover:
                path.unlink(missing_ok=True)
