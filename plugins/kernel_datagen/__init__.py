"""The built-in ``datagen`` plugin: data sets declared in a ``data.yaml`` (docs/datagen.md).

``generate(spec, out_dir, scale=1.0, seed=0)`` writes one and returns its :class:`Manifest`; ``read_spec``
checks a spec without generating anything. ``encode_varints``, ``encode_branches`` and ``assemble_records``
encode Avro records column by column with numpy (the IoT generator uses them too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_datagen.avro import assemble_records, encode_branches, encode_varints
    from kernel_datagen.expect import Expectations, Outcome, evaluate, read_expectations, run_rows
    from kernel_datagen.generate import generate
    from kernel_datagen.loading import SpecError, parse_spec, read_spec
    from kernel_datagen.manifest import Affected, Manifest, TableManifest
    from kernel_datagen.spec import DataSpec

__all__ = [
    "Affected",
    "DataSpec",
    "Expectations",
    "Manifest",
    "Outcome",
    "SpecError",
    "TableManifest",
    "assemble_records",
    "encode_branches",
    "encode_varints",
    "evaluate",
    "generate",
    "parse_spec",
    "read_expectations",
    "read_spec",
    "run_rows",
]

# Imported when first used: loading the plugin to list showcases must not import numpy.
__getattr__, __dir__ = lazy_exports(__name__, {
    "generate": "kernel_datagen.generate",
    "assemble_records": "kernel_datagen.avro",
    "encode_branches": "kernel_datagen.avro",
    "encode_varints": "kernel_datagen.avro",
    "Expectations": "kernel_datagen.expect",
    "Outcome": "kernel_datagen.expect",
    "evaluate": "kernel_datagen.expect",
    "read_expectations": "kernel_datagen.expect",
    "run_rows": "kernel_datagen.expect",
    "SpecError": "kernel_datagen.loading",
    "parse_spec": "kernel_datagen.loading",
    "read_spec": "kernel_datagen.loading",
    "Affected": "kernel_datagen.manifest",
    "Manifest": "kernel_datagen.manifest",
    "TableManifest": "kernel_datagen.manifest",
    "DataSpec": "kernel_datagen.spec",
})
