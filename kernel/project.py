"""Project configuration: the defaults a user would otherwise repeat on every command.

Read from ``kernel.toml`` (its top-level keys) or from ``[tool.kernel]`` in ``pyproject.toml``, in the
directory of the pipeline file (the working directory for commands without one) or the nearest one above
it that has either, as pytest finds its ini file. The command line wins over it, and a pipeline file's own
``executor`` over its ``executor``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.errors import KernelError, validation_problem

FILE = "kernel.toml"
PYPROJECT = "pyproject.toml"


class ProjectConfig(BaseModel):
    """What ``kernel.toml`` or ``[tool.kernel]`` may set (docs/cli.md#project-configuration)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    disable: tuple[str, ...] = Field(default=(), description="plugins switched off, as with -p no:NAME")
    runs_dir: Path | None = Field(default=None, description="where run directories are made (relative: to the file)")
    executor: str | None = Field(default=None, description="where steps run, as --executor")
    workers: int | None = Field(default=None, ge=1, description="steps at once, as --workers")
    address: str | None = Field(default=None, description="the cluster an executor uses, as --address")
    log_level: Literal["debug", "info", "warning", "error"] | None = Field(default=None, description="of log.jsonl")
    source: Path | None = Field(default=None, exclude=True, description="the file it was read from")


def find_config(start: Path) -> ProjectConfig:
    """The project configuration that applies to ``start`` (a directory or a file); empty without one."""
    return _found((start if start.is_dir() else start.parent).resolve())


@functools.cache  # one command reads it once, though several of its parts ask (a command is a process)
def _found(directory: Path) -> ProjectConfig:
    for folder in (directory, *directory.parents):
        own = folder / FILE
        if own.is_file():
            return _read(own, _load(own), "")
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            tool = _load(pyproject).get("tool", {})
            if isinstance(tool, dict) and "kernel" in tool:
                return _read(pyproject, tool["kernel"], "tool.kernel.")
    # Every default, nothing to validate: made without building the model's validator (15 ms of a command's start).
    return ProjectConfig.model_construct()


def _load(path: Path) -> dict[str, object]:
    import tomllib  # here: most commands find no configuration file to read

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KernelError(f"not a readable TOML file: {exc}", file=path) from None


def _read(path: Path, table: object, prefix: str) -> ProjectConfig:
    if not isinstance(table, dict):
        raise KernelError("the kernel's settings must be a table", file=path, field=prefix.rstrip(".") or None)
    try:
        config = ProjectConfig.model_validate({k: v for k, v in table.items() if k != "source"})
    except ValidationError as exc:
        known = [name for name in ProjectConfig.model_fields if name != "source"]
        where, message = validation_problem(exc, noun="setting", known=known)
        raise KernelError(message, file=path, field=f"{prefix}{where}") from None
    runs_dir = config.runs_dir
    if runs_dir is not None and not runs_dir.is_absolute():
        runs_dir = path.parent / runs_dir
    return config.model_copy(update={"source": path, "runs_dir": runs_dir})
