"""The ``dask`` plugin: runs step attempts on a Dask cluster (``kernel run --executor dask``).

The kernel never imports Dask; this plugin imports it only when a run chooses the executor, so the
kernel runs without Dask installed (``pip install 'pipeline-kernel[dask]'`` adds it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_dask.executor import DaskExecutor

__all__ = ["DaskExecutor"]

# Imported when first used: loading the plugin must not import what its steps need.
_LAZY = {
    "DaskExecutor": "kernel_dask.executor",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'kernel_dask' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
