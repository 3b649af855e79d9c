"""Kill a ``kernel`` process at a chosen file operation: the fault injector of the fault tests and of
``benchmarks/faults.py``.

``python -c 'import fault_support; fault_support.main()' run ...`` runs the kernel's command line with
every rename, replace, exchange, unlink and rmdir under the directories in ``FAULT_ROOTS`` counted. With
``FAULT_KILL_AT=N`` the process sends itself SIGKILL just before the N-th of them (nothing after it runs,
not even ``finally`` blocks); with ``FAULT_LOG=path`` each counted operation is appended to ``path``, one
line each, so a sweep knows how many points there are and what each one was. pandas is imported only
where gold is compared, so the command starts here as fast as ``kernel`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OPERATIONS = ("rename", "replace", "unlink", "rmdir")


class Injector:
    def __init__(self, roots: list[str], kill_at: int | None, log: str | None) -> None:
        self.roots = [os.path.realpath(r) for r in roots]
        self.kill_at = kill_at
        self.log = log
        self.count = 0

    def _under_roots(self, path: Any) -> bool:
        if isinstance(path, int):
            return False
        try:
            real = os.path.realpath(os.fspath(path))
        except (TypeError, ValueError):
            return False
        return any(real == root or real.startswith(root + os.sep) for root in self.roots)

    def point(self, operation: str, path: Any, dir_fd: int | None = None) -> None:
        if dir_fd is not None:  # shutil.rmtree's calls, relative to a directory it opened
            try:
                path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), os.fspath(path))
            except OSError:
                return
        if not self._under_roots(path):
            return
        self.count += 1
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{self.count}\t{operation}\t{path}\n")
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(self, operation: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.point(operation, args[0] if args else kwargs.get("src", kwargs.get("path")),
                       kwargs.get("dir_fd") or kwargs.get("src_dir_fd"))
            return func(*args, **kwargs)

        return call


def install() -> Injector:
    roots = [r for r in os.environ.get("FAULT_ROOTS", "").split(os.pathsep) if r]
    kill_at = int(os.environ["FAULT_KILL_AT"]) if os.environ.get("FAULT_KILL_AT") else None
    injector = Injector(roots, kill_at, os.environ.get("FAULT_LOG"))
    for name in OPERATIONS:
        setattr(os, name, injector.wrap(name, getattr(os, name)))
    import kernel
    import kernel.atomic

    exchange = injector.wrap("exchange", kernel.atomic.exchange)
    kernel.exchange = kernel.atomic.exchange = exchange  # type: ignore[attr-defined]
    from kernel_io import publish

    publish.exchange = exchange  # type: ignore[attr-defined]
    return injector


def main() -> None:
    from kernel.entry import starting

    with starting():  # as the kernel command starts: a signal while it imports ends it in one line
        install()
        from kernel.cli import main as kernel_main
    sys.argv[0] = "kernel"
    kernel_main()


def command(*args: str) -> list[str]:
    """The command that runs ``kernel *args`` under the injector."""
    here = str(Path(__file__).parent)
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r}); import fault_support; "
            "fault_support.main()", *args]


# -- the flagship under faults: a small data set refreshed part by part ------------------------------------

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = REPO / "showcases" / "007-iot-windowed-kpi" / "pipeline.yaml"
SENTINEL = "not the kernel's\n"


def make_data(directory: Path) -> Path:
    """Three days of telemetry for a dozen devices, one file a day: three refreshes."""
    from kernel_iot.generate import generate

    generate(directory, devices=12, days=3, files=3)
    return directory


class World:
    """A working directory where the flagship is refreshed: ``out/gold`` and ``out/state`` (the kernel's),
    ``runs/``, and files beside them that are not the kernel's and must survive everything."""

    def __init__(self, root: Path, data: Path) -> None:
        self.root = root
        self.data = data
        self.out = root / "out"
        self.gold = self.out / "gold"
        self.state = self.out / "state"

    def create(self) -> World:
        self.out.mkdir(parents=True, exist_ok=True)
        for path in (self.root / "keep.txt", self.out / "keep.txt"):
            path.write_text(SENTINEL)
        return self

    def copy(self, root: Path) -> World:
        shutil.copytree(self.root, root, symlinks=True)
        return World(root, self.data)

    def args(self, run_id: str, part: int, *extra: str) -> list[str]:
        return ["run", str(FLAGSHIP), "--run-id", run_id, "--param", f"data={self.data}",
                "--param", f"telemetry=telemetry/part-{part:05d}.avro", "--param", "refresh=3d",
                "--param", "final=false", "--param", "state_dir=out/state", "--param", "gold=out/gold", *extra]

    def env(self, **faults: str) -> dict[str, str]:
        return {**os.environ, "FAULT_ROOTS": str(self.out), **faults}

    def run(self, run_id: str, part: int, *extra: str, **faults: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command(*self.args(run_id, part, *extra)), cwd=self.root, env=self.env(**faults),
                              capture_output=True, text=True, timeout=300)

    def start(self, run_id: str, part: int, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(command(*self.args(run_id, part, *extra)), cwd=self.root, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def points(self, run_id: str, part: int) -> list[str]:
        """The file operations of a refresh, in order: the points a kill can fall on."""
        log = self.root / "points.log"
        done = self.run(run_id, part, FAULT_LOG=str(log))
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        lines = log.read_text().splitlines()
        log.unlink()
        return [line.split("\t", 1)[1] for line in lines]

    def snapshot(self) -> Snapshot:
        return Snapshot(gold=read_gold(self.gold), state=read_state(self.state))

    def problems(self) -> list[str]:
        """What must never happen whatever the fault: files not the kernel's changed, leftovers beside gold
        that no run will recover."""
        found = [f"{p} changed" for p in (self.root / "keep.txt", self.out / "keep.txt") if p.read_text() != SENTINEL]
        found += [f"{p.name} left beside the gold" for p in self.out.iterdir() if ".kernel-stage-" in p.name
                  or ".kernel-old-" in p.name]
        return found


class Snapshot:
    """Gold and state as figures, without what names the run that wrote them (run ids, generations)."""

    def __init__(self, gold: dict[str, Any] | None, state: dict[str, Any] | None) -> None:
        self.gold = gold
        self.state = state

    def differences(self, other: Snapshot) -> list[str]:
        return [f"gold {d}" for d in _differences(self.gold, other.gold)] + [
            f"state {d}" for d in _differences(self.state, other.state)]


def _differences(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
    import pandas as pd

    if a is None or b is None:
        return [] if a is b else ["missing on one side"]
    found = [f"{name}: only on one side" for name in sorted(set(a) ^ set(b))]
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if isinstance(x, pd.DataFrame) and isinstance(y, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(x, y)
            except AssertionError:
                found.append(f"{name}: differs")
        elif x != y:
            found.append(f"{name}: differs")
    return found


def read_gold(gold: Path) -> dict[str, Any] | None:
    """Every file of a complete gold directory; None when there is none. An incomplete one raises."""
    if not gold.exists():
        return None
    marker = json.loads((gold / ".kernel-results.json").read_text())
    if marker["state"] != "complete" or set(marker["files"]) != {p.name for p in gold.iterdir()} - {
            ".kernel-results.json"}:
        raise AssertionError(f"{gold} is not complete")
    import pandas as pd

    found: dict[str, Any] = {}
    for name in marker["files"]:
        if name.endswith(".parquet"):
            found[name] = pd.read_parquet(gold / name).drop(columns=["run_id"], errors="ignore")
        else:
            found[name] = {k: v for k, v in json.loads((gold / name).read_text()).items() if k != "run_id"}
    return found


def _state_figures(manifest: dict[str, Any], state: Path) -> dict[str, Any]:
    import pandas as pd

    found = {k: v for k, v in manifest.items() if k not in ("run", "generation", "windows", "previous")}
    found["windows"] = pd.read_parquet(state / manifest["windows"]["file"])
    return found


def read_state(state: Path) -> dict[str, Any] | None:
    """The state store's current state and the one before it, as figures; None when there is none."""
    path = state / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    found = {f"current {k}": v for k, v in _state_figures(manifest, state).items()}
    if manifest.get("previous"):
        found |= {f"previous {k}": v for k, v in _state_figures(manifest["previous"], state).items()}
    return found
