"""Where a step failed: its traceback as text (it crosses process boundaries as a value) and the frame of
the step's own code, so that a failure names the file and line a user has to open."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Trace:
    text: str  # the traceback as Python prints it, with chained exceptions
    where: str | None  # "path:line in function": the innermost frame in the step function's package


def trace_of(error: BaseException, func: Callable[..., Any]) -> Trace:
    text = "".join(traceback.format_exception(error)).rstrip("\n")
    frames = traceback.extract_tb(error.__traceback__)
    roots = _package_roots(func)
    for frame in reversed(frames):  # innermost first: the step's own line, not pandas' inside it
        if any(os.path.abspath(frame.filename).startswith(root) for root in roots):
            return Trace(text, f"{frame.filename}:{frame.lineno} in {frame.name}")
    return Trace(text, None)


def _package_roots(func: Callable[..., Any]) -> tuple[str, ...]:
    """Where the step function's top-level package (or module) lives."""
    module = getattr(func, "__module__", None) or ""
    top = sys.modules.get(module.split(".")[0])
    path = getattr(top, "__file__", None)
    if not path:
        return ()
    path = os.path.abspath(path)
    if os.path.basename(path) == "__init__.py":
        return (os.path.dirname(path) + os.sep,)
    return (path,)
