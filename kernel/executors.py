"""Where step attempts run: the executor seam.

An executor follows ``concurrent.futures``: ``submit(fn, *args)`` gives a future, ``shutdown()`` ends it.
The runner submits pure calls (a step attempt gets its inputs and settings and returns its outputs with
what it observed) and handles whichever future finishes first; signals, retries, the gate and the run
record stay in the orchestrating process. Built in: ``inline`` (in the orchestrating thread),
``threads`` and ``processes``; a plugin adds others through ``register_executors``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kernel.errors import PipelineError

INLINE = "inline"


@dataclass(frozen=True)
class ExecutorType:
    """A way to run step attempts. ``make(workers, address)`` returns a ``concurrent.futures.Executor``
    (``None`` for ``inline``); ``address`` is the cluster to use (``--address``), if the executor takes one
    (``takes_address``). ``ships`` says whether attempts cross a process boundary, so that step functions,
    inputs and outputs must be picklable and the functions importable by name. An executor object with a
    ``dashboard`` attribute (a URL) has it printed and recorded in run.json."""

    name: str
    make: Callable[[int, str | None], Executor | None]
    ships: bool
    description: str = ""
    check: Callable[[], None] | None = None  # raises a KernelError when the executor cannot be used here
    takes_address: bool = False


def _processes(workers: int, address: str | None) -> Executor:
    import multiprocessing  # only for this executor: it costs every command's start-up otherwise
    from concurrent.futures import ProcessPoolExecutor

    # spawn: the orchestrator runs threads (the run record's writer), which fork would copy half-way.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


BUILT_IN: dict[str, ExecutorType] = {
    INLINE: ExecutorType(INLINE, lambda workers, _: None, False, "one step at a time, in the orchestrating thread"),
    "threads": ExecutorType(
        "threads",
        lambda workers, _: ThreadPoolExecutor(workers, thread_name_prefix="kernel-step"),
        False,
        "a pool of --workers threads in this process",
    ),
    "processes": ExecutorType("processes", _processes, True, "a pool of --workers processes on this machine"),
}


def check_shippable(name: str, steps: Mapping[str, Any]) -> None:
    """Before anything runs on an executor that ships attempts: every step function must be importable by
    name in another process. ``steps`` maps step names to their ``PlannedStep``."""
    for step, planned in steps.items():
        func = planned.type.function
        module = getattr(func, "__module__", None)
        qualname = getattr(func, "__qualname__", "")
        why = None
        if module in (None, "__main__"):
            why = "its function is defined in __main__"
        elif "<locals>" in qualname or "<lambda>" in qualname:
            why = f"its function {qualname} is defined inside another function"
        elif inspect.getmodule(func) is None:
            why = f"its module {module} cannot be imported"
        if why is not None:
            raise PipelineError(
                f"step type '{planned.type.name}' cannot run on the '{name}' executor: {why}; define it at "
                "the top level of an importable module",
                step=step,
                field="uses",
            )
