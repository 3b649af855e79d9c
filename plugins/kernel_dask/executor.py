"""A ``concurrent.futures.Executor`` over a Dask cluster: an existing one (``--address``, else Dask's own
``scheduler-address`` setting, e.g. ``DASK_SCHEDULER_ADDRESS=tcp://host:8786``), or a ``LocalCluster``
of one single-threaded worker process per ``--workers``, started for the run and closed after it.

It keeps what attempts return on the workers (:class:`kernel.Keeper`): an attempt is one task whose
result stays where it was made until a consumer's task, on whichever worker Dask places it, is given it
(a step with several outputs has a small task per output, so that each is released on its own). The head
(the step's summaries) comes to the orchestrator as an event of Dask's (``log_event``, under one topic
whose log the scheduler bounds), so that a step costs one task; a head too large for an event, or an
event that did not arrive by the time the task ended, is read by a second task instead."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import pickle
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import pandas as pd

from kernel import KernelError

INSTALL = "the dask executor needs dask.distributed: pip install 'pipeline-kernel[dask]'"


def check_installed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise KernelError(INSTALL, field="executor") from None


class DaskExecutor(Executor):
    """Step attempts as Dask tasks; futures are ``concurrent.futures`` ones (the kernel waits on them)."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        import dask
        from distributed import Client, LocalCluster

        address = address or dask.config.get("scheduler-address", None)
        self._cluster: Any = None
        if address:
            self._client = Client(address)
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: two runs at once do not collide
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)
        self.dashboard: str | None = self._client.dashboard_link
        self._executor = self._client.get_executor(pure=False)  # every attempt runs, even with equal inputs
        self._importable: set[str] = set()  # modules every worker was found to import
        self._lock = threading.Lock()
        self._heads: dict[str, Future[Any]] = {}  # token -> the head's future, until it is settled
        self._client.subscribe_topic(HEADS, self._on_head)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = self._executor.submit(fn, *args, **kwargs)
        return future

    def submit_kept(self, fn: Callable[..., Any], /, *args: Any, outputs: int) -> tuple[Future[Any], tuple[Any, ...]]:
        client = self._client
        missing = self._missing(fn, args)
        if missing:  # a worker would fail to read the task, and Dask would wait for it for ever
            failed: Future[Any] = Future()
            failed.set_exception(KernelError(missing, field="executor"))
            return failed, (None,) * outputs
        token = uuid.uuid4().hex  # keys named after the function: the dashboard shows attempt_kept, merge_kept
        head: Future[Any] = Future()
        with self._lock:
            self._heads[token] = head
        both = client.submit(_call, fn, _packed(args), token, key=f"{getattr(fn, '__name__', 'task')}-{token}")
        both.add_done_callback(functools.partial(self._ended, token))
        if outputs == 1:  # the value is read from the task's own result: no task of its own
            return head, (_Value(both, 0),)
        # One task per value, so that each stays only as long as its own consumers need it.
        values = tuple(_Value(client.submit(_value, both, index, key=f"value-{token}-{index}"))
                       for index in range(outputs))
        return head, values

    def _settle(self, token: str, result: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            head = self._heads.pop(token, None)
        if head is None:  # settled already (the event and the task's end raced)
            return
        if error is not None:
            head.set_exception(error)
        else:
            head.set_result(result)

    def _on_head(self, event: tuple[float, Any]) -> None:
        """A head sent as an event (on the client's event loop): its step's future is settled."""
        token, data = event[1]
        if token in self._heads:
            try:
                self._settle(token, pickle.loads(data))
            except Exception as exc:
                self._settle(token, error=exc)

    def _ended(self, token: str, both: Any) -> None:
        """A task ended (in a thread of Dask's): its error settles the head; a head that did not come as
        an event is read from the task by a second one."""
        if token not in self._heads:
            return
        if both.status != "finished":
            try:
                both.result()
            except BaseException as exc:  # the task's error, or its cancellation
                self._settle(token, error=exc)
            return
        read = self._client.submit(_head, both, key=f"head-{token}")

        def done(settled: Any) -> None:
            try:
                self._settle(token, settled.result())
            except BaseException as exc:
                self._settle(token, error=exc)

        read.add_done_callback(done)

    def _missing(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> str | None:
        """Why the cluster's workers cannot run these functions: a module one of them cannot import."""
        modules = {m for m in _modules((fn, args)) if m not in self._importable}
        if not modules:
            return None
        found: dict[str, list[str]] = self._client.run(_unimportable, sorted(modules))
        for worker, failed in sorted(found.items()):
            if failed:
                return (f"the Dask worker {worker} cannot import {', '.join(failed)}: install the step plugins on "
                        "every worker (and the same versions)")
        self._importable |= modules
        return None

    def fetch(self, ref: Any) -> pd.DataFrame:
        value = ref.future.result()
        frame: pd.DataFrame = value if ref.index is None else value[1][ref.index]
        return frame

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._client.unsubscribe_topic(HEADS)
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()


HEADS = "kernel-heads"  # the event topic of the heads (the scheduler keeps its last 1,000 events)
HEAD_EVENT_BYTES = 16 * 1024  # larger heads (rejected rows, say) are read by a task: the topic's log stays small
_MARK = "kernel_dask.value"  # a reference, as a task's arguments carry it (Dask resolves the future in it)


@dataclasses.dataclass(frozen=True, slots=True)
class _Value:
    """A value kept on the workers: a future of it, or of a task's ``(head, values)`` and its index there."""

    future: Any
    index: int | None = None


def _packed(value: Any) -> Any:
    """The arguments with each reference as a tuple Dask looks into (it resolves futures in tuples, lists
    and dicts, not in objects of other classes)."""
    if isinstance(value, _Value):
        return (_MARK, value.future, value.index)
    if isinstance(value, tuple | list):
        return type(value)(_packed(v) for v in value)
    if isinstance(value, dict):
        return {k: _packed(v) for k, v in value.items()}
    return value


def _unpacked(value: Any) -> Any:
    """On the worker: each reference replaced by its value."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == _MARK:
        return value[1] if value[2] is None else value[1][1][value[2]]
    if isinstance(value, tuple | list):
        return type(value)(_unpacked(v) for v in value)
    if isinstance(value, dict):
        return {k: _unpacked(v) for k, v in value.items()}
    return value


def _call(fn: Callable[..., Any], args: tuple[Any, ...], token: str) -> Any:
    """On the worker: the call; its head also sent to the orchestrator as an event when it is small."""
    both = fn(*_unpacked(args))
    try:
        data = pickle.dumps(both[0], protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # the task's own result will say what cannot travel
        return both
    if len(data) <= HEAD_EVENT_BYTES:
        from distributed import get_worker

        get_worker().log_event(HEADS, [token, data])
    return both


def _head(both: tuple[Any, tuple[Any, ...]]) -> Any:
    return both[0]


def _value(both: tuple[Any, tuple[Any, ...]], index: int) -> Any:
    return both[1][index]




def _modules(value: Any, depth: int = 0) -> set[str]:
    """The modules of the functions in a task's arguments (in tuples, lists, dicts, partials, dataclasses)."""
    if depth > 6:
        return set()
    if isinstance(value, functools.partial):
        return _modules((value.func, value.args, value.keywords), depth + 1)
    if isinstance(value, tuple | list):
        return {m for v in value for m in _modules(v, depth + 1)}
    if isinstance(value, dict):
        return {m for v in value.values() for m in _modules(v, depth + 1)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _modules([getattr(value, f.name) for f in dataclasses.fields(value)], depth + 1)
    if callable(value) and not isinstance(value, type):
        module = getattr(value, "__module__", None)
        return {module} if isinstance(module, str) and module != "builtins" else set()
    return set()


def _unimportable(modules: list[str]) -> list[str]:
    """On a worker: the modules it cannot import."""
    failed = []
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:
            failed.append(module)
    return failed
