"""Before a run: its id, the locks on the paths its steps write, and its own run directory.

Nothing here writes anything but lock files until the run directory is claimed, and the claim is the
creation of ``run.json`` with ``O_EXCL``: of two runs given one run id, exactly one gets it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import orjson

from kernel.errors import KernelError, PipelineError
from kernel.graph import Claim, Plan
from kernel.locks import Holder, PathLock
from kernel.record import RUNNING, SUCCEEDED, RunRecord

RUN_ID = re.compile(r"^[A-Za-z0-9._-]+$")
RUN_RECORD = "run.json"


def check_run_id(run_id: str) -> None:
    """A run id names one directory: letters, digits, '.', '_' and '-', and not '.' or '..'."""
    if not RUN_ID.fullmatch(run_id) or run_id in (".", ".."):
        raise KernelError(
            f"run id '{run_id}' is not one path component: use letters, digits, '.', '_' and '-'", field="run_id"
        )


def check_claims(plan: Plan, run_dir: Path) -> list[Claim]:
    """The run's claims, refusing one that holds the run directory (replacing it would delete the run)."""
    claims = [claim for planned in plan.steps.values() for claim in planned.claims]
    real_run_dir = Path(os.path.realpath(run_dir))
    for claim in claims:
        if real_run_dir.is_relative_to(claim.real):
            raise PipelineError(
                f"{claim.path} holds the run directory {run_dir}: choose a path outside the runs directory",
                file=plan.pipeline.source,
                step=claim.step,
                field=f"settings.{claim.setting}",
            )
    return claims


def lock_claims(
    claims: list[Claim],
    *,
    run_id: str,
    pipeline: str,
    wait: bool,
    on_wait: Callable[[PathLock, Holder | None], None] | None = None,
) -> list[PathLock]:
    """Lock every claimed path, in one order (by resolved path) so that two waiting runs cannot deadlock.

    All or nothing: when one lock is refused, those taken are released.
    """
    taken: list[PathLock] = []
    try:
        for claim in sorted(claims, key=lambda c: str(c.real)):
            lock = PathLock(claim.path, Holder.this_process(run_id, pipeline, claim.describe()))
            lock.acquire(wait=wait, on_wait=on_wait)
            taken.append(lock)
    except BaseException:
        release(taken)
        raise
    return taken


def release(locks: list[PathLock]) -> None:
    for lock in reversed(locks):
        lock.release()
    locks.clear()


def claim_run_dir(run_dir: Path, run_id: str) -> None:
    """Make ``run_dir`` this run's: create its ``run.json`` (exclusively); an existing one is refused."""
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(run_dir / RUN_RECORD, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise KernelError(
            f"run id '{run_id}' already exists ({_describe(run_dir)}); choose another run id", file=run_dir
        ) from None
    except BaseException:
        if created:
            _remove_empty(run_dir)
        raise
    os.close(fd)


def unclaim_run_dir(run_dir: Path) -> None:
    """Undo :func:`claim_run_dir` for a run refused before it started (its ``run.json`` is still empty)."""
    record = run_dir / RUN_RECORD
    try:
        if record.stat().st_size == 0:
            record.unlink()
    except OSError:
        return
    _remove_empty(run_dir)


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()


def _describe(run_dir: Path) -> str:
    try:
        data = orjson.loads((run_dir / RUN_RECORD).read_bytes())
        return f"status {data.get('status')}, pid {data.get('pid', '?')}"
    except (OSError, ValueError, AttributeError):
        return "its run.json is there"


def earlier_run(run_id: str | None, runs_root: str | Path) -> RunRecord | None:
    """The record of run ``run_id``, found under ``runs_root`` (``--inputs-from``)."""
    if run_id is None:
        return None
    check_run_id(run_id)
    return _find(run_id, None, runs_root, "to take inputs from")


def resumable(run_id: str, run_dir: str | Path | None, runs_root: str | Path) -> RunRecord:
    """The record of run ``run_id`` (in ``run_dir``, else found under ``runs_root``), if it may be resumed:
    it failed, was interrupted, or was killed (its process is gone)."""
    record = _find(run_id, run_dir, runs_root, "to resume")
    path = Path(record.run_dir) / RUN_RECORD
    if record.status == SUCCEEDED:
        raise KernelError(f"run '{run_id}' succeeded: there is nothing to resume", file=path)
    if record.status == RUNNING and record.host == socket.gethostname() and _alive(record.pid):
        raise KernelError(f"run '{run_id}' is still running (process {record.pid})", file=path)
    return record


def _find(run_id: str, run_dir: str | Path | None, runs_root: str | Path, purpose: str) -> RunRecord:
    candidates = [Path(run_dir)] if run_dir is not None else sorted(Path(runs_root).glob(f"*/{run_id}"))
    found = [c for c in candidates if (c / RUN_RECORD).is_file()]
    if not found:
        raise KernelError(f"there is no run '{run_id}' {purpose} in {run_dir or runs_root}", file=Path(runs_root))
    if len(found) > 1:
        where = ", ".join(str(c) for c in found)
        raise KernelError(f"run id '{run_id}' names runs of several pipelines ({where})")
    path = found[0] / RUN_RECORD
    try:
        record = RunRecord.from_json(orjson.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError) as exc:
        raise KernelError(f"the run.json of run '{run_id}' cannot be read ({exc})", file=path) from None
    record.run_dir = str(found[0])
    return record


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
