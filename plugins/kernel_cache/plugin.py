"""The cache plugin's hooks and its ``kernel cache`` command."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kernel import Listener, Recompute, Reused, Run, StepSpec, hookimpl, signals

if TYPE_CHECKING:
    from kernel_cache.store import CacheStore

# kernel_cache.cache (pandas, pyarrow, xxhash) is imported in the hooks: loading the plugin to list commands
# or check a pipeline must not pay for it.
ENV = "KERNEL_CACHE_DIR"


def cache_dir(runs_root: Path) -> Path:
    """``KERNEL_CACHE_DIR``, else ``.cache`` in the runs directory."""
    configured = os.environ.get(ENV)
    return Path(configured) if configured else runs_root / ".cache"


@hookimpl
def reuse_step(run: Run, step: StepSpec, refresh: bool, key: str | None) -> Reused | Recompute:
    from kernel_cache import cache

    return cache.lookup(run, step, refresh, key)


@hookimpl
def explain_step(run: Run, step: StepSpec, refresh: bool) -> Reused | Recompute:
    from kernel_cache import cache

    return cache.forecast(run, step, refresh)


@hookimpl
def observe_step(run: Run, step: StepSpec) -> Any:
    from kernel_cache import cache

    return cache.observer_for(run, step)


@hookimpl
def summarize_step(run: Run, step: StepSpec) -> Any:
    from kernel_cache import cache

    return cache.served


@hookimpl
def connect_listeners(run: Run) -> Iterable[Listener]:
    from kernel_cache import cache

    # Drained before the run's end is written: a run that has ended has stored what it will store.
    return [Listener(signals.step_complete, cache.completed), Listener(signals.pipeline_complete, cache.drain),
            Listener(signals.pipeline_error, cache.drain)]


@hookimpl
def register_commands() -> list[click.Command]:
    return [cache_command]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _seconds(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if found is None:
        raise click.BadParameter(f"'{text}' is not a duration such as 30m, 12h, 7d or 2w")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _store(given: Path | None, runs_dir: Path) -> CacheStore:
    from kernel_cache.store import CacheStore

    return CacheStore(given or cache_dir(runs_dir))


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


_where = [
    click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
                 help=f"The cache directory (default: ${ENV}, else <runs-dir>/.cache)."),
    click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True),
]


def _with_where(func: Any) -> Any:
    for option in reversed(_where):
        func = option(func)
    return func


@click.group("cache")
def cache_command() -> None:
    """The step cache: what it holds, its size, pruning (docs/cache.md)."""


@cache_command.command("ls")
@_with_where
def ls(cache_dir: Path | None, runs_dir: Path) -> None:
    """List the cached steps: pipeline, step, key, when stored, how long the step took."""
    store = _store(cache_dir, runs_dir)
    rows = sorted(
        (e.get("pipeline", "?"), e.get("step", "?"), e.get("stored_at", "?"), e.get("duration_s"), e.get("key", "?"))
        for _, e in store.entries()
    )
    if not rows:
        click.echo(f"{store.root}: empty")
        return
    for pipeline, step, stored, duration, key in rows:
        took = f"{duration:.3f} s" if isinstance(duration, int | float) else "-"
        click.echo(f"{pipeline}  {step}  {key[:12]}  stored {stored}  ran {took}")


@cache_command.command("size")
@_with_where
def size(cache_dir: Path | None, runs_dir: Path) -> None:
    """How much the cache holds."""
    store = _store(cache_dir, runs_dir)
    usage = store.usage()
    click.echo(f"{store.root}: {usage.entries} entries, {usage.objects} stored frames, {_size(usage.bytes)}")


@cache_command.command("prune")
@click.option("--older-than", "older_than", required=True, help="Remove what was not used for this long (7d, 12h).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, remove nothing.")
@_with_where
def prune(older_than: str, dry_run: bool, cache_dir: Path | None, runs_dir: Path) -> None:
    """Remove entries and stored frames not used for a while."""
    store = _store(cache_dir, runs_dir)
    removed = store.prune(_seconds(older_than), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{store.root}: {verb} {removed.entries} entries and {removed.objects} stored frames "
               f"({_size(removed.bytes)})")
