"""The ``dask`` plugin's hook: the ``dask`` executor (docs/executors.md)."""

from __future__ import annotations

from concurrent.futures import Executor

from kernel import ExecutorType, hookimpl


def _make(workers: int, address: str | None) -> Executor:
    from kernel_dask.executor import DaskExecutor, check_installed

    check_installed()
    return DaskExecutor(workers, address)


def _check() -> None:
    from kernel_dask.executor import check_installed

    check_installed()


@hookimpl
def register_executors() -> list[ExecutorType]:
    return [
        ExecutorType(
            "dask",
            _make,
            ships=True,
            description="a Dask cluster: --address or DASK_SCHEDULER_ADDRESS, else a local one of --workers processes",
            check=_check,
            takes_address=True,
        )
    ]
