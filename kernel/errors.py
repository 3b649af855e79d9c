"""The kernel's errors: each message names the file, step or field a user has to look at."""

from __future__ import annotations

from pathlib import Path


class KernelError(Exception):
    """Base of every error the command line turns into one line and exit code 2."""

    def __init__(
        self, message: str, *, file: str | Path | None = None, step: str | None = None, field: str | None = None
    ) -> None:
        self.file = str(file) if file is not None else None
        self.step = step
        self.field = field
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.step:
            where.append(f"step '{self.step}'")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class PipelineError(KernelError):
    """The pipeline file is missing, unreadable, malformed or inconsistent."""


class PluginError(KernelError):
    """A plugin failed to load, or one of its hooks returned something the kernel cannot use."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin '{plugin}': {message}")


class StepSettingsError(KernelError):
    """A step's settings do not fit what its step type accepts."""


class DataError(KernelError):
    """Input data is unreadable or does not have the declared shape.

    Raised by a step, it is not retried and it stops the run (exit code 2): bad input
    does not get better by trying again or by running the other branches.
    """
