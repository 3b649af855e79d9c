"""The ``dask`` plugin: runs step attempts on a Dask cluster (``kernel run --executor dask``).

The kernel never imports Dask; this plugin imports it only when a run chooses the executor, so the
kernel runs without Dask installed (``pip install 'pipeline-kernel[dask]'`` adds it).
"""

from __future__ import annotations

from kernel_dask.executor import DaskExecutor

__all__ = ["DaskExecutor"]
