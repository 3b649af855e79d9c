"""The kernel's errors: each message names the file, step or field a user has to look at."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError


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

    def __reduce__(self) -> tuple[Any, ...]:
        # An error raised in a worker process arrives whole: message, file, step and field.
        return (_rebuild, (type(self), self.__dict__))

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


def _rebuild(cls: type[KernelError], state: dict[str, Any]) -> KernelError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._render())
    return error


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


def validation_problem(exc: ValidationError, *, noun: str = "field", known: Sequence[str] = ()) -> tuple[str, str]:
    """The field a pydantic error is about (``a.b.0``, ``""`` for the whole value) and one line saying what
    is wrong with it: ``unknown <noun>`` (with the closest of ``known``), ``required field is missing``,
    or pydantic's message. A misspelt field also shows as a missing one: the misspelling is named."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), list(known), n=1)
        if close:
            return where, f"unknown {noun}; did you mean '{close[0]}'?"
        return where, f"unknown {noun}" + (f" ({noun}s: {', '.join(known)})" if known else "")
    if err["type"] == "missing":
        return where, "required field is missing"
    return where, str(err["msg"]).removeprefix("Value error, ")
