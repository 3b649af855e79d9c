"""``kernel plugin new``: the plugin it writes installs as it is, its step types are listed, its example
pipeline runs, and its own test passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_a_new_plugin_installs_lists_runs_and_passes_its_own_test(tmp_path: Path) -> None:
    done = run(sys.executable, "-m", "kernel", "plugin", "new", "acme", "--dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "kernel-acme"
    assert f"wrote the plugin 'acme' into {root}" in done.stdout
    site = tmp_path / "site"  # installed as pip installs it (into a directory of its own, not the venv)
    installed = run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), str(root), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    steps = run(sys.executable, "-m", "kernel", "steps", cwd=tmp_path, env=env)
    listed = [line.split()[:2] for line in steps.stdout.splitlines()]
    assert ["acme.numbers", "acme"] in listed and ["acme.scale", "acme"] in listed
    ran = run(sys.executable, "-m", "kernel", "run", str(root / "examples" / "pipeline.yaml"), "--param",
              "factor=5", "--run-id", "r1", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_dir = tmp_path / "runs" / "acme-example" / "r1"
    assert json.loads((run_dir / "acme-rows.json").read_text()) == {"numbers": {"out": 4}, "scaled": {"out": 4}}
    tested = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests"),
                 cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout


@pytest.mark.parametrize(("name", "message"), [
    ("Acme", "'Acme' is not a plugin name"),
    ("1x", "'1x' is not a plugin name"),
])
def test_a_name_that_cannot_be_a_plugin_is_refused(tmp_path: Path, name: str, message: str) -> None:
    done = run(sys.executable, "-m", "kernel", "plugin", "new", name, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_directory_that_holds_something_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "kernel-acme").mkdir()
    (tmp_path / "kernel-acme" / "mine.txt").write_text("keep me")
    done = run(sys.executable, "-m", "kernel", "plugin", "new", "acme", cwd=tmp_path)
    assert done.returncode == 2 and "exists and is not empty" in done.stderr
    assert [p.name for p in (tmp_path / "kernel-acme").iterdir()] == ["mine.txt"]


def test_a_plugin_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel import scaffold

    written: list[Path] = []
    real = Path.write_text

    def fail_on_the_third(self: Path, *args: object, **kwargs: object) -> int:
        written.append(self)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", fail_on_the_third)
    with pytest.raises(OSError, match="No space left"):
        scaffold.new_plugin("acme", tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither a half-written plugin nor the staging directory
    monkeypatch.setattr(Path, "write_text", real)
    root = scaffold.new_plugin("acme", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-acme"]
    mask = os.umask(0)
    os.umask(mask)
    assert (root / "kernel_acme" / "plugin.py").is_file() and root.stat().st_mode & 0o777 == 0o777 & ~mask


def test_a_second_writer_that_gets_there_first_keeps_its_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `kernel plugin new acme` at once: the one that renames second is refused and leaves the other's."""
    from kernel import KernelError, scaffold

    real = scaffold.os.rename

    def other_first(source: str, target: str) -> None:
        Path(target).mkdir(exist_ok=True)
        (Path(target) / "theirs.txt").write_text("the other run's")
        real(source, target)

    monkeypatch.setattr(scaffold.os, "rename", other_first)
    with pytest.raises(KernelError, match="kernel-acme exists and is not empty"):
        scaffold.new_plugin("acme", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-acme"]
    assert [p.name for p in (tmp_path / "kernel-acme").iterdir()] == ["theirs.txt"]
