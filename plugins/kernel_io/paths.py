"""Which files a read covers, in which order, and in which format."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from kernel import DataError

Format = Literal["avro", "json", "csv", "parquet"]
FORMATS: tuple[Format, ...] = get_args(Format)

EXTENSIONS: dict[str, Format] = {
    ".avro": "avro",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_MAGIC = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Source:
    """One file to read and the name it goes by in ``file_column``."""

    path: Path
    name: str


def infer_format(path: str | Path) -> Format | None:
    """The format a file name's extension stands for, or ``None`` if it names none."""
    return EXTENSIONS.get(Path(path).suffix.lower())


def format_for(path: str | Path, format: Format | None) -> Format:
    """``format`` if given, else the one the extension stands for; a :class:`DataError` if neither."""
    found = format or infer_format(path)
    if found is None:
        known = ", ".join(EXTENSIONS)
        raise DataError(f"cannot infer the format from the file name (known extensions: {known}); "
                        "set format", file=path)
    return found


def resolve(path: str | Path, format: Format | None = None) -> tuple[Format, list[Source]]:
    """The format and the files that ``path`` (a file, a directory or a glob) stands for.

    Files come sorted by their name (for a glob: their path below the pattern's fixed leading
    directories), which is the order their rows are concatenated in.
    """
    text = str(path)
    if any(char in text for char in _MAGIC):
        return _resolve_glob(text, format)
    path = Path(path)
    if path.is_dir():
        return _resolve_directory(path, format)
    _refuse_broken([path])
    if not path.exists():
        raise DataError("no such file or directory", file=path)
    return format_for(path, format), [Source(path, path.name)]


def _refuse_broken(paths: list[Path]) -> None:
    """A symbolic link that leads to no file is an input that cannot be read: refused, never skipped."""
    for path in paths:
        if path.is_symlink() and not path.exists():  # exists() is False for a missing target and for a loop
            raise DataError("a symbolic link that leads nowhere (its target is missing, or the link is a loop); "
                            "fix or remove it", file=path)


def _resolve_glob(pattern: str, format: Format | None) -> tuple[Format, list[Source]]:
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) - 1 and not _MAGIC.intersection(parts[fixed]):
        fixed += 1
    base = Path(*parts[:fixed]) if fixed else Path()
    matched = [Path(p) for p in glob.glob(pattern, recursive=True)]
    _refuse_broken(matched)
    files = [p for p in matched if p.is_file()]
    if not files:
        raise DataError("no files match", file=pattern)
    sources = sorted((Source(p, p.relative_to(base).as_posix()) for p in files), key=lambda s: s.name)
    if format is None:
        format = infer_format(pattern) or common_format([s.path for s in sources], pattern)
    return format, sources


def _resolve_directory(directory: Path, format: Format | None) -> tuple[Format, list[Source]]:
    # Hidden files are skipped: they include the temporary files of an atomic write in progress.
    entries = [p for p in directory.iterdir() if not p.name.startswith(".")]
    _refuse_broken([p for p in entries if infer_format(p) is not None and format in (None, infer_format(p))])
    files = [p for p in entries if p.is_file()]
    if format is None:
        format = common_format([p for p in files if infer_format(p)], directory)
    chosen = sorted((p for p in files if infer_format(p) == format), key=lambda p: p.name)
    if not chosen:
        raise DataError(f"no {format} files in the directory", file=directory)
    return format, [Source(p, p.name) for p in chosen]


def common_format(files: Sequence[str | Path], where: str | Path) -> Format:
    """The one format that ``files`` share by extension; a :class:`DataError` naming ``where`` otherwise."""
    found = {infer_format(p) for p in files}
    if len(found) == 1:
        (only,) = found
        if only is not None:
            return only
    shown = ", ".join(sorted(str(f) for f in found)) or "none"
    raise DataError(f"cannot infer the format (formats found: {shown}); set format", file=where)
