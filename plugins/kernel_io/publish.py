"""Results directories: replaced as a whole, only when they are the kernel's, and never seen half-written.

::

    <parent>/<name>/                          the results: a reader always finds one complete version
    <parent>/<name>/.kernel-results.json      the marker: this kernel wrote the directory, for which
                                              pipeline and run, and which files (with sizes and times)
    <parent>/.<name>.kernel-stage-<hex>/      a version being written, or the old one being removed
    <parent>/.<name>.lock                     the lock: one publisher at a time (``kernel.PathLock``)

A publish writes the new version into a staging directory beside the target (the marker first, so a
staging directory is always recognisably ours), flushes it to disk, then exchanges it with the target in
one step (``renameat2(RENAME_EXCHANGE)``; where the system lacks it, two renames whose gap the next
publish repairs), then removes the old version. Killed at any point, the target holds the complete old or
the complete new version, and :func:`recover` (run before the next publish) removes what was left.

A directory is replaced only when it is missing, empty, or holds this kernel's results for the same
pipeline and nothing else: anything else is refused, so nothing the kernel did not write is deleted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError, Holder, PathLock, atomic_path, exchange, fsync_dir, fsync_tree

MARKER = ".kernel-results.json"
FORMAT = "kernel-results"
VERSION = 1
_STAGE = ".kernel-stage-"
_OLD = ".kernel-old-"


def real_target(path: str | Path) -> Path:
    """The directory a path names, symbolic links resolved: the link stays, the directory it names is replaced."""
    return Path(os.path.realpath(path))


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The results marker of ``directory``, or ``None`` when it has none (or not one of ours)."""
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def check_target(path: str | Path, pipeline: str) -> None:
    """Refuse (:class:`kernel.DataError` naming the path) to replace anything but a missing or empty
    directory or this kernel's results of ``pipeline`` with nothing added or changed since."""
    target = real_target(path)
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise DataError("is not a directory: results go into a directory of their own", file=path)
    entries = sorted(os.listdir(target))
    if not entries:
        return
    marker = read_marker(target)
    if marker is None or marker.get("state") != "complete":
        shown = ", ".join(f"'{e}'" for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise DataError(
            f"refusing to replace a directory this kernel did not write (it holds {shown} and no results "
            "marker); choose a new or empty directory",
            file=path,
        )
    if marker.get("pipeline") != pipeline:
        raise DataError(
            f"refusing to replace the results of pipeline '{marker.get('pipeline')}' with those of '{pipeline}'; "
            "choose another directory",
            file=path,
        )
    files: Mapping[str, Any] = marker.get("files") or {}
    for entry in entries:
        if entry == MARKER:
            continue
        written = files.get(entry)
        if written is None:
            raise DataError(
                f"refusing to replace it: '{entry}' was not written by this kernel; move it elsewhere first",
                file=path,
            )
        stat = os.lstat(target / entry)
        if stat.st_size != written.get("size") or stat.st_mtime_ns != written.get("mtime_ns"):
            raise DataError(
                f"refusing to replace it: '{entry}' changed since run {marker.get('run_id')} wrote it; "
                "move it elsewhere first",
                file=path,
            )


def _leftovers(target: Path) -> list[Path]:
    prefix = f".{target.name}"
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    return sorted(
        target.parent / n for n in names if n.startswith((prefix + _STAGE, prefix + _OLD))
    )


def _ours(directory: Path) -> bool:
    """A staging or old version we made: empty (killed before its marker) or marked."""
    try:
        return not os.listdir(directory) or read_marker(directory) is not None
    except OSError:
        return False


def _remove(directory: Path) -> None:
    """Remove a version of ours, its marker last: killed half-way, what is left is still recognisably ours."""
    for entry in os.listdir(directory):
        if entry != MARKER:
            child = directory / entry
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    with contextlib.suppress(FileNotFoundError):
        (directory / MARKER).unlink()
    directory.rmdir()


def recover(path: str | Path) -> list[str]:
    """Undo what a stopped publish left beside ``path``; return what was done, one line each.

    A previous version set aside by a two-rename swap goes back if the target is missing; staging
    directories and old versions are removed. Call it only while holding the target's lock.
    """
    target = real_target(path)
    done: list[str] = []
    for leftover in _leftovers(target):
        if not leftover.is_dir() or leftover.is_symlink() or not _ours(leftover):
            continue  # not ours: never deleted
        if leftover.name.startswith(f".{target.name}{_OLD}") and not os.path.lexists(target):
            os.rename(leftover, target)
            done.append(f"put the previous results back into {target} (a publish was stopped half-way)")
            continue
        _remove(leftover)
        done.append(f"removed {leftover} (left by a stopped publish)")
    return done


def _marker(pipeline: str, run_id: str | None, state: str, files: Mapping[str, Any] | None = None) -> str:
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "state": state,
        "pipeline": pipeline,
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if files is not None:
        data["files"] = dict(files)
    return json.dumps(data, indent=2) + "\n"


def stage(path: str | Path, write: Callable[[Path], None], *, pipeline: str, run_id: str | None) -> Path:
    """Write a new version of the results with ``write(directory)`` into a staging directory beside the
    target, complete with its marker and flushed to disk; return the staging directory."""
    target = real_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir, not mkdtemp: the results get the usual permissions (umask), not 0700.
    staging = target.parent / f".{target.name}{_STAGE}{secrets.token_hex(6)}"
    os.mkdir(staging)
    try:
        (staging / MARKER).write_text(_marker(pipeline, run_id, "staging"), encoding="utf-8")
        write(staging)
        fsync_tree(staging)
        files = {}
        for entry in sorted(os.listdir(staging)):
            if entry != MARKER:
                stat = os.lstat(staging / entry)
                files[entry] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        with atomic_path(staging / MARKER) as tmp:
            tmp.write_text(_marker(pipeline, run_id, "complete", files), encoding="utf-8")
        fsync_dir(staging)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove(staging)
        raise
    return staging


def swap(path: str | Path, staging: Path) -> None:
    """Make ``staging`` the results at ``path`` and remove the previous version; idempotent."""
    target = real_target(path)
    if not staging.exists():  # committed already (a repeated commit): nothing to do
        return
    if not os.path.lexists(target):
        os.rename(staging, target)
    elif exchange(staging, target):
        _remove(staging)  # now the previous version
    else:
        old = target.parent / f".{target.name}{_OLD}{secrets.token_hex(6)}"
        os.rename(target, old)
        os.rename(staging, target)  # a kill between the two: recover() puts the old version back
        _remove(old)
    fsync_dir(target.parent)


def discard(staging: Path) -> None:
    """Remove a staging directory that will not be swapped in (only if it is one of ours)."""
    if staging.is_dir() and not staging.is_symlink() and _ours(staging):
        _remove(staging)


def publish_directory(
    path: str | Path, write: Callable[[Path], None], *, pipeline: str, run_id: str | None = None
) -> None:
    """Check, lock, recover, stage and swap in one call: for use outside a run (a run stages with
    ``io.publish`` and swaps when it commits, holding the lock for its whole length)."""
    lock = PathLock(path, Holder.this_process(run_id or "-", pipeline, "publish_directory"))
    lock.acquire()
    try:
        recover(path)
        check_target(path, pipeline)
        swap(path, stage(path, write, pipeline=pipeline, run_id=run_id))
    finally:
        lock.release()


def plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars to Python, missing to None, timestamps to ISO-8601, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_document(frame: pd.DataFrame, path: Path, name: str) -> None:
    """Write a one-row frame as one JSON object (its columns in order): a summary beside the tables."""
    if len(frame) != 1:
        raise DataError(f"input '{name}' has {len(frame)} rows; a document is written from exactly one", file=path)
    row = {str(column): plain(value) for column, value in frame.iloc[0].items()}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(row, indent=2, allow_nan=False) + "\n", encoding="utf-8")
