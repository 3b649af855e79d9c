"""Files named by URL (``s3://``, ``gs://``, ``abfs://``, ``memory://``, ``file://``: any fsspec filesystem),
so that workers on other machines read and write the same data.

A read copies the files a URL stands for into a temporary directory of this process and reads them with the
same readers as local files (the same dtypes, the same one-line errors, naming the URL); the copy is removed
afterwards. A write writes a local temporary file, uploads it beside the target under a temporary name and
moves it into place: atomic where the store's move is (a local disk, memory; an object store's single
upload is whole by itself, its move is a copy).
"""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kernel import DataError
from kernel_io.paths import Format, Source, common_format, format_for, infer_format

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_MAGIC = frozenset("*?[")


def is_url(path: str | Path) -> bool:
    return isinstance(path, str) and _URL.match(path) is not None


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - fsspec is a dependency of the plugin
        raise DataError("reading URLs needs fsspec (pip install fsspec)", file=url) from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or one whose library is missing
        raise DataError(f"cannot open this URL: {exc}", file=url) from None
    return fs, str(path)


def remote_files(url: str, format: Format | None) -> tuple[Format, list[tuple[str, str]]]:
    """The format and the files (their path on the filesystem, their name) that ``url`` stands for: a
    file, a directory or a glob, sorted by name as for local paths."""
    fs, root = _filesystem(url)
    if _MAGIC & set(root):
        parts = root.split("/")
        fixed = 0
        while fixed < len(parts) - 1 and not _MAGIC.intersection(parts[fixed]):
            fixed += 1
        base = "/".join(parts[:fixed])
        matched = [p for p in fs.glob(root) if fs.isfile(p)]
        if not matched:
            raise DataError("no files match", file=url)
        files = sorted((posixpath.relpath(p, base) if base else p, p) for p in matched)
        found = format or infer_format(root) or common_format([p for _, p in files], url)
        return found, [(p, name) for name, p in files]
    if fs.isdir(root):
        entries = [p for p in fs.ls(root, detail=False) if not posixpath.basename(p).startswith(".")]
        entries = [p for p in entries if fs.isfile(p)]
        found = format or common_format([p for p in entries if infer_format(p)], url)
        chosen = sorted((posixpath.basename(p), p) for p in entries if infer_format(p) == found)
        if not chosen:
            raise DataError(f"no {found} files in the directory", file=url)
        return found, [(p, name) for name, p in chosen]
    if not fs.isfile(root):
        raise DataError("no such file or directory", file=url)
    return format_for(root, format), [(root, posixpath.basename(root))]


def _shown(url: str, name: str, count: int) -> str:
    """A file's URL as the user wrote its directory or pattern (fsspec spells some protocols its own way)."""
    parts = url.rstrip("/").split("/")
    fixed = next((i for i, part in enumerate(parts) if _MAGIC & set(part)), None)
    if fixed is not None:
        return "/".join([*parts[:fixed], name])
    if count == 1 and parts[-1] == name:
        return url
    return "/".join([*parts, name])


@contextmanager
def fetched(url: str, format: Format | None) -> Iterator[tuple[Format, list[Source], dict[str, str]]]:
    """The files ``url`` stands for, copied into a temporary directory for the time of the block: their
    format, their sources (local copies, named as remotely) and each copy's URL (for error messages)."""
    found, files = remote_files(url, format)
    fs, _ = _filesystem(url)
    directory = Path(tempfile.mkdtemp(prefix="kernel-io-"))
    try:
        sources: list[Source] = []
        where: dict[str, str] = {}
        for index, (remote, name) in enumerate(files):
            local = directory / f"{index:06d}-{posixpath.basename(name)}"
            fs.get_file(remote, str(local))
            sources.append(Source(local, name))
            where[str(local)] = _shown(url, name, len(files))
        yield found, sources, where
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # made above, for this read alone


def as_remote(exc: DataError, where: dict[str, str]) -> DataError:
    """``exc`` naming the URL a local copy stands for."""
    if exc.file is not None and str(exc.file) in where:
        return DataError(exc.message, file=where[str(exc.file)], step=exc.step, field=exc.field)
    return exc


@contextmanager
def uploading(url: str) -> Iterator[Path]:
    """A local temporary file to write; on success it is uploaded and moved into place at ``url``."""
    fs, target = _filesystem(url)
    directory = Path(tempfile.mkdtemp(prefix="kernel-io-"))
    local = directory / posixpath.basename(target)
    staged = posixpath.join(posixpath.dirname(target), f".{posixpath.basename(target)}.{uuid.uuid4().hex}.tmp")
    try:
        yield local
        parent = posixpath.dirname(target)
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.put_file(str(local), staged)
        try:
            fs.mv(staged, target)
        except BaseException:
            if fs.exists(staged):
                fs.rm(staged)  # ours: uploaded just now under a name nobody else uses
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # made above, for this write alone
