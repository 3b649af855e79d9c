"""An input that matches a pattern is read or refused with its path: a broken symbolic link is never
silently skipped (that lost an input file and exited 0)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kernel_io import read_frame, write_frame

from kernel import DataError


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_frame(pd.DataFrame({"x": [1, 2]}), data / "a.avro")
    return data


@pytest.mark.parametrize("kind", ["dangling", "loop"])
@pytest.mark.parametrize("how", ["directory", "glob", "file"])
def test_a_broken_link_is_refused_with_its_path(directory: Path, kind: str, how: str) -> None:
    link = directory / "b.avro"
    if kind == "dangling":
        link.symlink_to(directory / "gone.avro")
    else:
        link.symlink_to(directory / "c.avro")
        (directory / "c.avro").symlink_to(link)
    path = {"directory": directory, "glob": directory / "*.avro", "file": link}[how]
    with pytest.raises(DataError, match="a symbolic link that leads nowhere") as caught:
        read_frame(path)
    assert str(caught.value.file) in (str(link), str(directory / "c.avro"))


def test_a_link_to_a_file_is_read_and_other_names_are_left_alone(directory: Path) -> None:
    (directory / "b.avro").symlink_to(directory / "a.avro")
    (directory / "notes.txt").symlink_to(directory / "gone.txt")  # not an input of any format: ignored
    assert read_frame(directory)["x"].tolist() == [1, 2, 1, 2]
