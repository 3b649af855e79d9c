"""Content fingerprints: of a frame (over its data, not a pickle), of the files at a path, of settings.

A frame's fingerprint covers its column names and dtypes, its index and every value; two frames have
the same one only if ``DataFrame.equals`` would say so and their dtypes and names match. Values are read
as they lie in memory where they can be (numbers, booleans, times, nullable columns, categorical codes),
through pandas' row hashes otherwise (text, objects), and fed to xxHash's 128-bit XXH3.
"""

from __future__ import annotations

import glob
import hashlib
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import xxhash
from pandas.api.types import infer_dtype
from pydantic import BaseModel

from kernel_cache.threads import pool

PREFIX = "xxh3:"
_PART = 1 << 18  # float values checked for NaN at a time: the mask stays in cache
_GLOB = set("*?[")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class Unfingerprintable(Exception):
    """A value whose content cannot be fingerprinted: the step is a miss, with this as the reason."""


def frame_fingerprint(frame: pd.DataFrame) -> str:
    return combine(digests(frame))


def digests(frame: pd.DataFrame, text: Sequence[str] | None = None) -> list[str]:
    """The digests a fingerprint is made of: the frame's shape and dtypes, its index, each column. With
    ``text`` (digests stored earlier), a text column (``StringDtype``) takes its digest from there instead of
    hashing its values: the one costly kind, and one Arrow gives back exactly once its dtype is the same."""
    names = [[type(c).__name__, str(c), str(t)] for c, t in frame.dtypes.items()]
    found = [xxhash.xxh3_128(orjson.dumps([len(frame.index), names])).hexdigest()]
    digest = xxhash.xxh3_128()
    _index(digest, frame.index)
    found.append(digest.hexdigest())
    columns = [(frame.iloc[:, position], str(frame.columns[position])) for position in range(frame.shape[1])]
    known = [
        text[position + 2] if text is not None and isinstance(column.dtype, pd.StringDtype) and position + 2 < len(text)
        else None
        for position, (column, _) in enumerate(columns)
    ]
    if frame.size < _SIDE_BY_SIDE or len(columns) < 2:
        return found + [given or _column_digest(column) for column, given in zip(columns, known, strict=True)]
    # Columns side by side: NumPy, Arrow and xxHash let go of the interpreter while they read (the flagship's
    # 10-million-row frames took 0.12-0.14 s each, the run's main thread waiting).
    hashing = pool("hash")
    jobs = [given or hashing.submit(_column_digest, column) for column, given in zip(columns, known, strict=True)]
    return found + [job if isinstance(job, str) else job.result() for job in jobs]


def _column_digest(column: tuple[pd.Series, str]) -> str:
    digest = xxhash.xxh3_128()
    _values(digest, *column)
    return digest.hexdigest()


_SIDE_BY_SIDE = 1 << 20  # values in a frame from which its columns are fingerprinted on several threads


def combine(parts: Sequence[str]) -> str:
    return PREFIX + xxhash.xxh3_128("/".join(parts).encode()).hexdigest()


def _index(digest: Any, index: pd.Index) -> None:
    if isinstance(index, pd.RangeIndex):
        digest.update(orjson.dumps(["range", index.start, index.stop, index.step, _name(index.name)]))
        return
    digest.update(orjson.dumps(["index", str(index.dtype), index.nlevels, [_name(n) for n in index.names]]))
    if isinstance(index, pd.MultiIndex):
        for level in range(index.nlevels):
            _values(digest, pd.Series(index.get_level_values(level)), f"index level {level}")
    else:
        _values(digest, pd.Series(index), "index")


def _name(name: object) -> str | None:
    return None if name is None else f"{type(name).__name__}:{name}"


def _values(digest: Any, series: pd.Series, where: str) -> None:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        _raw(digest, series.to_numpy())
    elif isinstance(dtype, pd.CategoricalDtype):
        digest.update(b"categorical ordered" if dtype.ordered else b"categorical")
        _raw(digest, series.cat.codes.to_numpy())
        _values(digest, pd.Series(dtype.categories), where)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        _raw(digest, np.asarray(series.array.asi8))
    elif isinstance(dtype, pd.StringDtype):
        _text(digest, series, where)
    elif hasattr(series.array, "_data") and hasattr(series.array, "_mask"):  # Int64, Float64, boolean
        data, mask = series.array._data, series.array._mask
        if mask.any():  # what lies under a null is not part of the value
            data = np.where(mask, np.zeros(1, dtype=data.dtype), data)
        _raw(digest, mask)
        _raw(digest, data)
    else:
        _hashed(digest, series, where)


def _text(digest: Any, series: pd.Series, where: str) -> None:
    """Text as Arrow lays it out (64-bit offsets from 0, the characters, which values are null), whatever
    the column's storage: millions of values a second, where row hashes manage a few."""
    array = pa.array(series.array)  # the column's own Arrow data when it has some
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        _hashed(digest, series, where)
        return
    array = array.cast(pa.large_string())
    nulls = array.null_count
    digest.update(b"text %d" % nulls)
    if nulls:
        _raw(digest, array.is_null().to_numpy(zero_copy_only=False))
        array = pc.fill_null(array, "")  # what lies under a null is not part of the value
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    start, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
    _raw(digest, offsets - start)
    if data is not None and end > start:
        digest.update(memoryview(data)[start:end])


def _raw(digest: Any, values: np.ndarray) -> None:
    values = np.ascontiguousarray(values)
    if values.dtype.kind not in "fc":
        digest.update(values.view(np.uint8))
        return
    # One NaN, whatever bits it carries: they are no part of the value, nor kept by every format. Fed a part at
    # a time (the same bytes, so the same digest): a column with a NaN is not copied whole, and no mask the
    # size of the column is made (78 MB each, at the flagship's peak).
    nan = np.array(np.nan, dtype=values.dtype)
    flat = values.reshape(-1)
    for start in range(0, len(flat), _PART):
        part = flat[start : start + _PART]
        nans = np.isnan(part)
        if nans.any():
            part = np.where(nans, nan, part)
        digest.update(part.view(np.uint8))


def _hashed(digest: Any, series: pd.Series, where: str) -> None:
    try:
        rows = pd.util.hash_pandas_object(series, index=False, categorize=False).to_numpy()
    except Exception as exc:
        raise Unfingerprintable(f"column '{where}' ({series.dtype}): {type(exc).__name__}: {exc}") from None
    _raw(digest, rows)
    if series.dtype == object and infer_dtype(series, skipna=False) not in ("string", "empty"):
        # pandas hashes objects through their text: 1 and "1" would agree. Their types tell them apart.
        kinds = series.map(lambda value: type(value).__qualname__)
        _raw(digest, pd.util.hash_pandas_object(kinds, index=False).to_numpy())


_hashed_files: dict[tuple[str, int, int, int], str] = {}


def file_hash(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes: the form steps report in ``StepContext.read(content_hash=...)``.
    Within a process, a file with the same inode, size and modification time (in ns) is not read again."""
    with open(path, "rb") as fo:
        stat = os.fstat(fo.fileno())
        seen = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        found = _hashed_files.get(seen)
        if found is None:
            found = _hashed_files[seen] = "sha256:" + hashlib.file_digest(fo, "sha256").hexdigest()
        return found


def path_hash(path: str, known: Mapping[str, str] | None = None) -> str:
    """What is at ``path`` now: a file's bytes, a directory's files (names and bytes) or a glob's matches;
    ``missing`` when nothing is there. A URL is read through its fsspec filesystem.

    ``known``: content hashes by real path, as a step reported them for the files it read (what it read,
    hashed as it read them); such a file is not read again."""
    if _URL.match(path):
        return _url_hash(path)

    def hashed(full: str) -> str:
        return (known.get(os.path.realpath(full)) if known else None) or file_hash(full)

    if _GLOB & set(path) and not os.path.exists(path):
        matches = sorted(glob.glob(path, recursive=True))
        return _listing([(m, m) for m in matches if os.path.isfile(m)], hashed) if matches else "missing"
    if os.path.isfile(path):
        return hashed(path)
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                files.append((os.path.relpath(full, path), full))
        return _listing(files, hashed)
    return "missing"


def _listing(files: list[tuple[str, str]], hashed: Any = None) -> str:
    digest = hashlib.sha256()
    for name, full in files:
        digest.update(orjson.dumps([Path(name).as_posix(), (hashed or file_hash)(full)]))
    return "tree:" + digest.hexdigest()


def _url_hash(url: str) -> str:
    import fsspec  # type: ignore[import-untyped]

    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise Unfingerprintable(f"{url} cannot be opened: {exc}") from None

    def content(path: str) -> str:
        with fs.open(path, "rb") as fo:
            return "sha256:" + hashlib.file_digest(fo, "sha256").hexdigest()

    if _GLOB & set(root) and not fs.exists(root):
        matches = sorted(p for p in fs.glob(root) if fs.isfile(p))
        return _listing([(p, p) for p in matches], content) if matches else "missing"
    if fs.isdir(root):
        return _listing([(posixpath.relpath(p, root), p) for p in sorted(fs.find(root))], content)
    return content(root) if fs.isfile(root) else "missing"


def canonical(value: Any, where: str) -> Any:
    """``value`` as plain JSON values, for a key; :class:`Unfingerprintable` naming ``where`` when it has
    no content-defined form (an object whose text could hide a difference)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        return sorted((canonical(v, where) for v in value), key=repr)
    if isinstance(value, BaseModel):
        return canonical(value.model_dump(mode="json"), where)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Enum):
        return canonical(value.value, where)
    if isinstance(value, datetime | date | time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, timedelta | pd.Timedelta):
        return f"timedelta:{pd.Timedelta(value).value}"
    if isinstance(value, np.generic):
        return canonical(value.item(), where)
    if isinstance(value, pd.DataFrame):
        return frame_fingerprint(value)
    raise Unfingerprintable(f"{where} is a {type(value).__name__}, which has no content fingerprint")
