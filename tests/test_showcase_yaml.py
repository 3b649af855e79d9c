"""Showcases' own YAML files are read with libyaml's parser where PyYAML has it: the same values as the
pure-Python ``yaml.safe_load``, for every file the suite ships."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from kernel_datagen.plugin import read_yaml

SHIPPED = sorted(p for p in Path(str(files("kernel_showcases"))).glob("*/*.yaml"))


def test_every_showcase_file_is_read_as_safe_load_reads_it() -> None:
    assert len(SHIPPED) >= 100
    for path in SHIPPED:
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml")
def test_the_fast_parser_is_the_one_used() -> None:
    import kernel_datagen.plugin

    assert kernel_datagen.plugin._LOADER is yaml.CSafeLoader
