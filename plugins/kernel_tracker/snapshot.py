"""Snapshots of a DataFrame: columns with dtypes, row count, nulls per column and a few sample rows.

A snapshot never copies the frame. Its cost grows with the number of columns and samples, plus one
pass over the columns that can hold nulls at all: a numpy integer or boolean column cannot, so it is
not read; an Arrow-backed column knows its null count; a float or datetime column is read once,
without building a mask the size of the frame. The numpy columns of one dtype that pandas keeps together
in one small block (a wide frame's numbers) are read in one array operation each, not one per column.
A frame whose blocks are where the last frame's were, with the same dtypes and the same Arrow arrays
behind its text (that frame again, handed on by a step, or a copy of it) has only its numeric blocks
read again: Arrow arrays never change, so its text is known (``_Whole``).
"""

from __future__ import annotations

import operator
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kernel import TEXT_LIMIT, json_safe

# Floats and datetimes are checked for nulls in blocks this long: the temporary mask stays in cache.
_BLOCK = 1 << 18
# A sample list or mapping keeps this many items (and a string 200 characters, ``json_safe``): one huge cell
# must not make a snapshot, or tracker.json, as large as the data.
ITEMS_LIMIT = 20
_NAT = np.iinfo(np.int64).min
_INFINITE = (float("inf"), float("-inf"))


@dataclass(frozen=True)
class Snapshot:
    """What a frame looked like, in column order: ``names``, ``dtypes``, ``rows``, null ``counts`` and each
    column's first values (``values``, JSON-safe; none with ``samples: 0``). ``columns`` (name -> dtype),
    ``nulls`` (name -> count) and ``samples`` (rows, name -> value) give the same by name, made when first read.

    Kept as lists because tracker.json keeps them so: a snapshot names its columns once, in a schema the
    file holds once for every snapshot of that shape (schema_version 3, docs/tracker.md).
    """

    names: list[str]
    dtypes: list[str]
    rows: int
    counts: list[int]
    values: list[list[Any]]
    taken_s: float
    # "step.output" when this input snapshot is the producer's output snapshot of the same frame object
    same_as: str | None = field(default=None)

    @property
    def columns(self) -> dict[str, str]:
        return self._by_name("_columns", self.dtypes)

    @property
    def nulls(self) -> dict[str, int]:
        return self._by_name("_nulls", self.counts)

    def _by_name(self, key: str, values: list[Any]) -> dict[str, Any]:
        # Made on first use and kept in the instance's __dict__ (functools.cached_property takes a lock per read).
        made: dict[str, Any] | None = self.__dict__.get(key)
        if made is None:
            made = self.__dict__[key] = dict(zip(self.names, values, strict=True))
        return made

    @property
    def samples(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, row, strict=True)) for row in zip(*self.values, strict=True)]

    def same_schema(self, other: Snapshot) -> bool:
        """Whether both have the same columns with the same dtypes, in the same order."""
        return ((self.names is other.names or self.names == other.names)
                and (self.dtypes is other.dtypes or self.dtypes == other.dtypes))


@dataclass(frozen=True)
class SameAs:
    """An input in tracker.json that was its producer's output, the same frame object: its rows and where its
    snapshot is (``same_as``: "step.output", that step's ``outputs`` entry), not the snapshot a second time.
    ``taken_s`` is the time spent recognising it."""

    rows: int
    same_as: str
    taken_s: float


def take_snapshot(frame: pd.DataFrame, samples: int) -> Snapshot:
    """Snapshot ``frame`` with its first ``samples`` rows (none with 0)."""
    return Snapshotter(samples).take(frame)


class Snapshotter:
    """Takes the snapshots of one run; remembers the names of the numpy dtypes it has met.

    ``str(numpy.dtype)`` runs Python code in numpy and costs more than the rest of a small column's
    snapshot; a run meets a handful of dtypes, so each is named once.
    """

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self._dtype_names: dict[np.dtype[Any], str] = {}
        self._extension_names: dict[int, tuple[Any, str]] = {}  # id -> the dtype (held, so the id stays its) and name
        self._arrow_types: set[type] = set()  # array types met that were Arrow-backed
        # The last column index met, the Arrow array of its labels (weakly; a copy of a frame shares it) and
        # their names: one tuple, as threads may take snapshots side by side.
        self._labels: tuple[pd.Index | None, weakref.ref[Any] | None, list[str]] = (None, None, [])
        # id -> (a weak reference to it, nulls, samples) of the Arrow arrays behind text columns read so far.
        # Arrow arrays never change, and frames that share a column share its array object (a step's output
        # that adds a column to its input, pandas' copies on write): such a column is read once.
        self._read: dict[int, tuple[weakref.ref[Any], int, list[Any]]] = {}
        # the first values of numeric blocks read so far, by their bits: their lists, shared by the snapshots
        self._head_lists: dict[tuple[np.dtype[Any], tuple[int, ...], bytes], list[list[Any]]] = {}
        # the last snapshot's lists: a frame's dtypes and null counts mostly stay as they were from step to step
        self._last: tuple[list[str], list[int], list[list[Any]]] = ([], [], [])
        # the last frame of text and numeric blocks read, to know it again (a step that hands on its input)
        self._whole: _Whole | None = None
        self._placed: list[int] = []  # ids of the block placements of the last frame read block by block

    def take(self, frame: pd.DataFrame) -> Snapshot:
        start = time.perf_counter()
        rows = len(frame)
        names = self._column_names(frame)
        head = min(self.samples, rows)
        found = self._by_block(frame, head)
        if found is None:
            arrays = column_arrays(frame)
            dtypes = [self.dtype_name(array.dtype) for array in arrays]
            counts = [null_count(array) for array in arrays]
            values = [sample_values(array, head) for array in arrays] if head > 0 else []
        else:
            dtypes, counts, values = found
        dtypes, counts, values = self._shared(dtypes, counts, values)
        return Snapshot(names, dtypes, rows, counts, values, time.perf_counter() - start)

    def _column_names(self, frame: pd.DataFrame) -> list[str]:
        index = frame.columns
        known, known_labels, names = self._labels
        if index is known:  # an index is immutable: the same object has the same names
            return names
        labels = _arrow_labels(index)
        if labels is not None and known_labels is not None and known_labels() is labels:
            self._labels = (index, known_labels, names)  # another index of the same labels (a frame's copy)
            return names
        names = column_names(frame, labels)
        try:
            ref = None if labels is None else weakref.ref(labels)
        except TypeError:
            ref = None
        self._labels = (index, ref, names)
        return names

    def _shared(self, dtypes: list[str], counts: list[int],
                values: list[list[Any]]) -> tuple[list[str], list[int], list[list[Any]]]:
        """The last snapshot's lists in place of equal ones: a run keeps every snapshot, and lists it keeps are
        what the garbage collector visits again and again (on a long chain of wide frames, more than the
        snapshots cost to take). Samples are the same only as the same list objects: 1 == 1.0 == True."""
        last_dtypes, last_counts, last_values = self._last
        if dtypes is not last_dtypes and dtypes == last_dtypes:
            dtypes = last_dtypes
        if counts is not last_counts and counts == last_counts:
            counts = last_counts
        if values is not last_values and len(values) == len(last_values) and all(
                map(operator.is_, values, last_values)):
            values = last_values
        self._last = (dtypes, counts, values)
        return dtypes, counts, values

    def _by_block(self, frame: pd.DataFrame, head: int) -> tuple[list[str], list[int], list[list[Any]]] | None:
        """Dtypes, null counts and samples per column, read a block at a time: a small numpy block of many
        columns (a wide frame's numbers) is one array operation, not one per column. ``None``: a pandas whose
        internals differ, read column by column instead."""
        try:
            width = len(frame.columns)
            managed = frame._mgr.blocks
            arrays = [block.values for block in managed]
            placements = [block._mgr_locs for block in managed]  # the property costs more than the rest
        except AttributeError:
            return None
        last = self._whole
        if last is not None:
            found = last.unchanged(arrays, placements, head)
            if found is not None:
                return found
        dtypes: list[Any] = [None] * width
        counts: list[Any] = [0] * width
        values: list[Any] = [None] * width if head > 0 else []
        read, arrow_types = self._read, self._arrow_types
        text_dtype: Any = None
        text_name = ""
        # A frame of text and numeric blocks only whose blocks are placed as the last one's (that frame again,
        # or a copy of it) is remembered whole, to be known again as it comes; one frame read alone is not.
        placed_ids = list(map(id, placements))
        again, self._placed = placed_ids == self._placed, placed_ids
        plain = True
        numbers: list[tuple[int, str, list[int] | None, bytes]] = []  # block, kind, null counts, first values' bits
        for k, array in enumerate(arrays):
            placed = placements[k].indexer  # a slice, or the columns' positions
            if type(placed) is slice and placed.stop - placed.start == 1:
                position = placed.start
                positions: Any = (position,)
            else:
                position = -1
                positions = range(*placed.indices(width)) if type(placed) is slice else placed.tolist()
            if position >= 0 and (type(array) in arrow_types or self._arrow_backed(array)):  # text in pandas 3
                arrow = array.__arrow_array__()
                dtype = array.dtype
                # a wide frame's text columns share one dtype object: named without a lookup
                dtypes[position] = text_name if dtype is text_dtype else self.dtype_name(dtype)
                text_dtype, text_name = dtype, dtypes[position]
                seen = read.get(id(arrow))
                if seen is not None and seen[0]() is arrow:
                    counts[position] = seen[1]
                    if head > 0:
                        values[position] = seen[2]
                    continue
                counts[position] = int(arrow.null_count)
                if head > 0:
                    values[position] = _arrow_samples(arrow, head)
                self._remember(arrow, counts[position], values[position] if head > 0 else [])
                continue
            kind = array.dtype.kind if isinstance(array, np.ndarray) else None
            if kind is not None and kind in "iubf" and array.ndim == 2:  # numbers: a row per column
                name = self.dtype_name(array.dtype)
                nulls = _block_nulls(array, kind)
                first = array[:, :head]
                bits = first.tobytes()
                heads = self._heads(first, kind, bits) if head > 0 else None
                numbers.append((k, kind, nulls, bits))
                for j, at in enumerate(positions):
                    dtypes[at] = name
                    if nulls is not None:
                        counts[at] = nulls[j]
                    if heads is not None:
                        values[at] = heads[j]
                continue
            plain = False
            if kind is not None and len(positions) == 1:  # a block of one column: read it as that column
                array = array[0] if array.ndim == 2 else array  # a view, whatever the layout
            for j, at in enumerate(positions):
                column = array if array.ndim == 1 else array[j]  # an extension array holds one column
                dtypes[at] = self.dtype_name(column.dtype)
                counts[at] = null_count(column)
                if head > 0:
                    values[at] = sample_values(column, head)
        self._whole = _Whole.of(arrays, placements, arrow_types, numbers, head, (dtypes, counts, values)) if (
            again and plain) else None
        return dtypes, counts, values

    def _heads(self, heads: np.ndarray, kind: str, bits: bytes) -> list[list[Any]]:
        """The first values of a block of numeric columns (one column a row; ``bits``: their bytes), as lists;
        the lists of the last block whose first values were the same bits, so that a column passed on from
        step to step has one sample list, not one per snapshot."""
        key = (heads.dtype, heads.shape, bits)
        known = self._head_lists.get(key)
        if known is None:
            if len(self._head_lists) >= 64:  # a run that changes them every step: no unbounded cache
                self._head_lists.clear()
            known = self._head_lists[key] = _float_heads(heads) if kind == "f" else heads.tolist()
        return known

    def _remember(self, arrow: Any, nulls: int, samples: list[Any]) -> None:
        read, key = self._read, id(arrow)

        def forget(_: Any) -> None:
            read.pop(key, None)

        try:  # the entry goes with the array: no frame is kept alive by the tracker
            ref = weakref.ref(arrow, forget)
        except TypeError:  # an array type that takes no weak reference: read every time
            return
        read[key] = (ref, nulls, samples)

    def _arrow_backed(self, array: Any) -> bool:
        # by type: pandas' Arrow-backed array types are Arrow-backed whatever their dtype's other settings
        kind = type(array)
        if kind in self._arrow_types:
            return True
        if _arrow_backed(array):
            self._arrow_types.add(kind)
            return True
        return False

    def dtype_name(self, dtype: Any) -> str:
        if not isinstance(dtype, np.dtype):
            # pandas' dtypes name themselves in Python code, and hash so too: looked up by identity
            known = self._extension_names.get(id(dtype))
            if known is not None and known[0] is dtype:
                return known[1]
            if len(self._extension_names) >= 256:  # a run that makes dtypes on the fly: no unbounded cache
                self._extension_names.clear()
            text = str(dtype)
            self._extension_names[id(dtype)] = (dtype, text)
            return text
        name = self._dtype_names.get(dtype)
        if name is None:
            name = self._dtype_names[dtype] = str(dtype)
        return name


@dataclass(frozen=True)
class _Whole:
    """What a frame made of Arrow-backed text and numpy numeric blocks held when it was read, and what of it
    tells the same content again: each block's placement (pandas gives a block that moves a new one), each
    text block's dtype and Arrow array (Arrow arrays never change; pandas gives a text column a new one when
    a cell is set), each numeric block's dtype. A frame that has them all (the frame itself, or a copy of it
    that shares its columns) has the same dtypes, the same text and, once its numeric blocks, which may have
    changed in place, are read again and found the same, the same snapshot. Arrow arrays are held weakly."""

    placements: list[Any]
    text_at: list[int]  # the text blocks
    text_dtypes: list[Any]
    arrows: list[weakref.ref[Any]]  # their Arrow arrays
    numbers: list[tuple[int, Any, Any, bytes]]  # block, dtype, what tells its nulls (_nulls_key), first values' bits
    head: int
    found: tuple[list[str], list[int], list[list[Any]]]

    @classmethod
    def of(cls, arrays: list[Any], placements: list[Any], arrow_types: set[type],
           numbers: list[tuple[int, str, list[int] | None, bytes]], head: int,
           found: tuple[list[str], list[int], list[list[Any]]]) -> _Whole | None:
        text = [(k, array) for k, array in enumerate(arrays) if type(array) in arrow_types]
        try:
            # read again through pandas' own attributes, which cost a third of the public ones: they must be them
            if not all(array._dtype is array.dtype and array._pa_array is array.__arrow_array__() for _, array in text):
                return None
            arrows = [weakref.ref(array.__arrow_array__()) for _, array in text]
        except (AttributeError, TypeError):  # an Arrow array that takes no weak reference: read every time
            return None
        checks = [(k, arrays[k].dtype, _nulls_key(arrays[k], kind, nulls), bits) for k, kind, nulls, bits in numbers]
        return cls(placements, [k for k, _ in text], [array.dtype for _, array in text], arrows, checks, head, found)

    def unchanged(self, arrays: list[Any], placements: list[Any],
                  head: int) -> tuple[list[str], list[int], list[list[Any]]] | None:
        """What was found, if the frame of ``arrays`` at ``placements`` holds it still; else ``None``."""
        if head != self.head or len(placements) != len(self.placements) or not all(
                map(operator.is_, placements, self.placements)):
            return None
        text = [arrays[k] for k in self.text_at]
        try:
            if not all(map(operator.is_, [array._dtype for array in text], self.text_dtypes)):
                return None  # the same dtype object: the same kind of Arrow-backed array
            if not all(map(operator.is_, [array._pa_array for array in text], [ref() for ref in self.arrows])):
                return None
        except AttributeError:  # not a pandas Arrow-backed array any more
            return None
        for k, dtype, nulls, bits in self.numbers:
            array = arrays[k]
            if type(array) is not np.ndarray or array.dtype != dtype or array[:, :head].tobytes() != bits:
                return None
            if nulls is not None and _nulls_key(array, dtype.kind, None) != nulls:
                return None
        return self.found


def _block_nulls(array: np.ndarray, kind: str) -> list[int] | None:
    """The null counts of a block of numeric columns (one column a row); ``None``: integers and booleans
    have no missing value."""
    if kind != "f":
        return None
    if len(array) > 1 and array.size <= _BLOCK:  # a wide frame's short columns: one operation
        return np.count_nonzero(np.isnan(array), axis=1).tolist()  # type: ignore[no-any-return]
    return [_count_blocks(row, np.isnan) for row in array]  # a long column, a cache-sized part at a time


def _nulls_key(array: np.ndarray, kind: str, nulls: list[int] | None) -> Any:
    """What tells a block of numeric columns has the same null counts: ``None`` for integers and booleans
    (none), the bytes of the NaN mask of a small block (cheaper than counting), else the counts (``nulls``
    when given)."""
    if kind != "f":
        return None
    if array.size <= _BLOCK:
        return np.isnan(array).tobytes()
    return nulls if nulls is not None else _block_nulls(array, kind)


def _arrow_labels(index: pd.Index) -> Any:
    """The Arrow array of an index's labels when they are kept in one (text in pandas 3), else ``None``."""
    labels: Any = None if isinstance(index, pd.MultiIndex) else index.array
    return labels.__arrow_array__() if labels is not None and _arrow_backed(labels) else None


def column_names(frame: pd.DataFrame, arrow: Any = None) -> list[str]:
    """Column labels as strings; a repeated label gets ``#<position>`` so that no column is lost. ``arrow``:
    the Arrow array of the labels (``_arrow_labels``), when found already."""
    index = frame.columns
    labels: Any = None if isinstance(index, pd.MultiIndex) else index.array
    if arrow is None:
        arrow = _arrow_labels(index)
    listed: list[Any] = list(index) if labels is None else list(labels) if arrow is None else arrow.to_pylist()
    if arrow is not None and arrow.null_count == 0 and isinstance(labels.dtype, pd.StringDtype):
        names: list[str] = listed  # text labels, none missing: strings already
    else:
        names = [label if isinstance(label, str) else str(label) for label in listed]
    if len(set(names)) == len(names):  # labels 1 and "1" are distinct, their names are not
        return names
    seen: set[str] = set()
    for position, name in enumerate(names):
        if name in seen:
            names[position] = f"{name}#{position}"
        seen.add(names[position])
    return names


def column_arrays(frame: pd.DataFrame) -> list[Any]:
    """The arrays behind the columns, by position, without copying them.

    pandas' ``_get_column_array`` reads the block manager directly; going through ``frame.iloc[:, i]``
    builds a Series per column, which costs more than the rest of a small frame's snapshot together.
    """
    getter = getattr(frame, "_get_column_array", None)
    if getter is not None:
        try:
            return [getter(i) for i in range(frame.shape[1])]
        except Exception:  # a pandas whose private accessor changed: take the public road
            pass
    return [frame.iloc[:, i].array for i in range(frame.shape[1])]


def null_count(array: Any) -> int:
    """Missing values in one column array, read at most once."""
    if isinstance(array, np.ndarray):
        kind = array.dtype.kind
        if kind in "iubSUV":
            return 0  # numpy integers, booleans, bytes and strings have no missing value
        if kind in "fc":
            return _count_blocks(array, np.isnan)
        if kind in "mM":
            return _count_nat(array.view(np.int64))
        return int(pd.isna(array).sum())  # object columns: pandas' own definition of missing
    if _arrow_backed(array):
        return int(array.__arrow_array__().null_count)  # Arrow keeps the count; nothing to read
    if isinstance(array, pd.Categorical):
        codes = array.codes  # code -1 is a missing value
        return 0 if len(codes) == 0 or codes.min() >= 0 else _count_blocks(codes, _is_negative)
    asi8 = getattr(array, "asi8", None)
    if isinstance(asi8, np.ndarray):
        return _count_nat(asi8)  # datetime, timedelta and period arrays: NaT is the smallest int64
    return int(np.count_nonzero(array.isna()))


def _arrow_backed(array: Any) -> bool:
    # Only Arrow-backed arrays hand over their buffers; other arrays' __arrow_array__ converts (and copies).
    dtype = array.dtype
    return isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", None) == "pyarrow"


def _count_blocks(values: np.ndarray, test: Any) -> int:
    if len(values) <= _BLOCK:
        return int(np.count_nonzero(test(values)))
    mask = np.empty(_BLOCK, dtype=bool)
    found = 0
    for start in range(0, len(values), _BLOCK):
        part = values[start : start + _BLOCK]
        out = mask[: len(part)]
        test(part, out=out)
        found += int(np.count_nonzero(out))
    return found


def _count_nat(values: np.ndarray) -> int:
    # One reduction answers the common case (no NaT); only a column with some NaT is counted.
    if len(values) == 0 or values.min() != _NAT:
        return 0
    return _count_blocks(values, _is_nat)


def _is_nat(values: np.ndarray, out: np.ndarray | None = None) -> Any:
    return np.equal(values, _NAT, out=out)


def _is_negative(values: np.ndarray, out: np.ndarray | None = None) -> Any:
    return np.less(values, 0, out=out)


def sample_values(array: Any, head: int) -> list[Any]:
    """The first ``head`` values of a column as JSON-safe Python values."""
    if type(array) is np.ndarray:
        kind = array.dtype.kind
        if kind in "iub":
            return array[:head].tolist()  # type: ignore[no-any-return]
        if kind == "f":  # v != v: NaN
            return [v if v == v and v not in _INFINITE else None if v != v else _safe(v)
                    for v in array[:head].tolist()]
        return [_safe(v) for v in array[:head]]
    if _arrow_backed(array):
        return _arrow_samples(array.__arrow_array__(), head)
    if isinstance(array, pd.Categorical):  # slicing a Categorical builds a new one: read its codes instead
        categories = array.categories
        return [None if code < 0 else _safe(categories[code]) for code in array.codes[:head].tolist()]
    return [_safe(v) for v in array[:head]]


def _float_heads(heads: np.ndarray) -> list[list[Any]]:
    """The first values of a block of float columns (one column a row) as JSON-safe Python values: NaN as
    ``None``, infinities as ``json_safe`` words them, found with array operations, not value by value."""
    finite = np.isfinite(heads)
    if finite.all():
        return heads.tolist()  # type: ignore[no-any-return]
    values = heads.astype(object)
    values[np.isnan(heads)] = None
    for row, column in zip(*np.nonzero(np.isinf(heads)), strict=True):
        values[row, column] = _safe(float(heads[row, column]))
    return values.tolist()  # type: ignore[no-any-return]


def _arrow_samples(arrow: Any, head: int) -> list[Any]:
    # Short text and missing values are JSON-safe as they are: json_safe only for the rest.
    return [v if v is None or (type(v) is str and len(v) <= TEXT_LIMIT) else _safe(v)
            for v in (arrow if len(arrow) <= head else arrow.slice(0, head)).to_pylist()]


def _safe(value: Any) -> Any:
    return json_safe(value, items=ITEMS_LIMIT)


class Snapshots(dict[str, Snapshot]):
    """The snapshots of a step's outputs as judged, taken next to the step (``summarize_step``)."""


_snapshotters: dict[int, Snapshotter] = {}  # per number of samples, in whichever process takes them


def snapshots(outputs: Mapping[str, pd.DataFrame], ctx: object = None, *, samples: int) -> Snapshots:
    """Next to a step: a snapshot of each of its outputs."""
    snapshotter = _snapshotters.get(samples)
    if snapshotter is None:
        snapshotter = _snapshotters[samples] = Snapshotter(samples)
    return Snapshots({key: snapshotter.take(frame) for key, frame in outputs.items()})
