from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

FIXTURES = Path(__file__).parent / "fixtures"


def _pip_target(tmp_root: Path, project: str) -> Path:
    """Install a fixture distribution with pip into its own directory, as a user's pip install would."""
    target = tmp_root / project
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(FIXTURES / project),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pip_target(tmp_path_factory.mktemp("site"), "demo_plugin")


@pytest.fixture(scope="session")
def bad_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pip_target(tmp_path_factory.mktemp("site"), "bad_plugin")


@pytest.fixture
def demo_installed(demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo plugin distribution is importable and its entry point visible, in and out of process."""
    monkeypatch.syspath_prepend(str(demo_site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(demo_site), os.environ.get("PYTHONPATH")])))
    return demo_site


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test has a step cache of its own: no test is answered by what another one stored.
    monkeypatch.setenv("KERNEL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    # The library never configures structlog; tests capture instead of printing.
    with structlog.testing.capture_logs():
        yield


@pytest.fixture
def demo_kernel(demo_installed: Path) -> object:
    """A kernel with only the demo plugin, registered from its installed module (a fresh manager per test)."""
    import importlib

    from kernel import Kernel

    module = importlib.import_module("kernel_demo_steps")
    return Kernel(entry_points=False, plugins=[("demo", module)])


@pytest.fixture(scope="session", autouse=True)
def _showcase_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where tests/showcase_support.py runs the data-declared showcases, once per session."""
    from showcase_support import use_root

    use_root(tmp_path_factory.mktemp("showcases"))
