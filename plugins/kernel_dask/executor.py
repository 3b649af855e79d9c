"""A ``concurrent.futures.Executor`` over a Dask cluster: an existing one (``--address``, else Dask's own
``scheduler-address`` setting, e.g. ``DASK_SCHEDULER_ADDRESS=tcp://host:8786``), or a ``LocalCluster``
of one single-threaded worker process per ``--workers``, started for the run and closed after it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

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

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = self._executor.submit(fn, *args, **kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
