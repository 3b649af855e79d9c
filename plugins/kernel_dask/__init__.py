"""The ``dask`` plugin: runs step attempts on a Dask cluster (``kernel run --executor dask``).

The kernel never imports Dask; this plugin imports it only when a run chooses the executor, so the
kernel runs without Dask installed (``pip install 'pipeline-kernel[dask]'`` adds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_dask.executor import DaskExecutor

__all__ = ["DaskExecutor"]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "DaskExecutor": "kernel_dask.executor",
})
