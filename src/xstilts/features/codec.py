"""Features as NumPy columns on disk, read back lazily through memory maps.

One folder per featurize result. Each field of a format's `feature_fields` is one column:

    int     NAME.npy                      one int64 per feature
    ints    NAME.values.npy, NAME.offsets.npy          ragged: feature i is values[o[i]:o[i+1]]
    ints2   NAME.values.npy, NAME.inner.npy, NAME.offsets.npy   a ragged list of ragged lists
    spans   NAME.values.npy (n x 2, -1 = None), NAME.offsets.npy
    intmap  NAME.keys.npy, NAME.values.npy, NAME.offsets.npy
    json    NAME.json                     one JSON value per feature (short strings)
    context (not stored)                  rebuilt once by the format, shared by every feature

A field some features lack has NAME.present.npy (bool per feature); values are stored for
the features that have it. Nothing is pickled: arrays are plain .npy, the rest JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

KINDS = ("int", "ints", "ints2", "spans", "intmap", "json", "context")
CODEC_VERSION = 1


def _ints(values) -> np.ndarray:
    """A flat integer array: int32 when every value fits (token ids, labels), else int64."""
    arr = np.asarray(list(values), dtype=np.int64)
    if arr.size and arr.min() >= -(2 ** 31) and arr.max() < 2 ** 31:
        return arr.astype(np.int32)
    return arr


def _offsets(lengths) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.asarray(list(lengths), dtype=np.int64))]
                          ).astype(np.int64)


def _check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"feature field {name!r}: {value!r} is not an int")
    return int(value)


def _span(span, name: str) -> tuple[int, int]:
    if len(span) != 2 or min(_check_int(x, name) for x in span) < 0:
        raise ValueError(f"feature field {name!r}: {span!r} is not a non-negative pair")
    return int(span[0]), int(span[1])


def write_columns(features: Sequence[dict], fields: dict[str, str], folder: Path) -> dict:
    """Write `features` into `folder` as columns; returns the description meta.json keeps."""
    unknown = sorted({k for f in features for k in f} - set(fields))
    if unknown:
        raise ValueError(f"feature fields {unknown} have no kind in the format's feature_fields")
    columns = {}
    for name, kind in fields.items():
        if kind not in KINDS:
            raise ValueError(f"feature field {name!r}: unknown kind {kind!r}")
        present = np.array([name in f for f in features], dtype=bool)
        if kind == "context" or not present.any():
            continue
        values = [f[name] for f in features if name in f]
        if not present.all():
            np.save(folder / f"{name}.present.npy", present)
        _write(kind, name, values, folder)
        columns[name] = {"kind": kind, "partial": bool(not present.all())}
    return {"codec": CODEC_VERSION, "count": len(features), "columns": columns}


def _write(kind: str, name: str, values: list, folder: Path) -> None:
    def save(suffix: str, array: np.ndarray) -> None:
        np.save(folder / f"{name}.{suffix}.npy", array)

    if kind == "int":
        np.save(folder / f"{name}.npy", np.asarray([_check_int(v, name) for v in values],
                                                   dtype=np.int64))
    elif kind == "ints":
        save("values", _ints(_check_int(x, name) for v in values for x in v))
        save("offsets", _offsets(len(v) for v in values))
    elif kind == "ints2":
        rows = [list(r) for v in values for r in v]
        save("values", _ints(_check_int(x, name) for r in rows for x in r))
        save("inner", _offsets(len(r) for r in rows))
        save("offsets", _offsets(len(v) for v in values))
    elif kind == "spans":
        pairs = [(-1, -1) if s is None else _span(s, name) for v in values for s in v]
        save("values", np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
        save("offsets", _offsets(len(v) for v in values))
    elif kind == "intmap":
        save("keys", _ints(_check_int(k, name) for v in values for k in v))
        save("values", _ints(_check_int(x, name) for v in values for x in v.values()))
        save("offsets", _offsets(len(v) for v in values))
    else:  # json
        text = json.dumps(values, ensure_ascii=False)
        if json.loads(text) != values:
            raise ValueError(f"feature field {name!r}: its values do not survive JSON")
        (folder / f"{name}.json").write_text(text, encoding="utf-8")


def _load(path: Path) -> np.ndarray:
    """A memory-mapped array (a plain one when empty: an empty file cannot be mapped)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:
        return np.load(path, allow_pickle=False)


class _Column:
    def __init__(self, folder: Path, name: str, kind: str, partial: bool, count: int):
        self.name, self.kind = name, kind
        self.position = None  # feature index -> row in the values (partial columns)
        stored = count
        if partial:
            present = np.load(folder / f"{name}.present.npy", allow_pickle=False)
            if len(present) != count:
                raise ValueError(f"{name}: {len(present)} presence flags for {count} features")
            self.position = np.where(present, np.cumsum(present) - 1, -1)
            stored = int(present.sum())
        part = {s: _load(folder / f"{name}.{s}.npy")
                for s in ("values", "offsets", "inner", "keys")
                if (folder / f"{name}.{s}.npy").exists()}
        if kind == "int":
            self.data = np.load(folder / f"{name}.npy", allow_pickle=False)
            length = len(self.data)
        elif kind == "json":
            self.data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            length = len(self.data)
        else:
            self.values, self.offsets = part["values"], np.asarray(part["offsets"])
            self.inner, self.keys = part.get("inner"), part.get("keys")
            length = len(self.offsets) - 1
        if length != stored:
            raise ValueError(f"{name}: {length} stored values for {stored} features")

    def get(self, i: int):
        """(has it, value) of feature i."""
        if self.position is not None:
            i = int(self.position[i])
            if i < 0:
                return False, None
        if self.kind == "int":
            return True, int(self.data[i])
        if self.kind == "json":
            return True, self.data[i]
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        if self.kind == "ints":
            return True, self.values[lo:hi].tolist()
        if self.kind == "intmap":
            return True, dict(zip(self.keys[lo:hi].tolist(), self.values[lo:hi].tolist(),
                                  strict=True))
        if self.kind == "spans":
            return True, [None if a < 0 else (a, b) for a, b in self.values[lo:hi].tolist()]
        bounds = self.inner[lo:hi + 1].tolist()  # ints2
        flat = self.values[bounds[0]:bounds[-1]].tolist()
        return True, [flat[a - bounds[0]:b - bounds[0]] for a, b in pairwise(bounds)]


class ColumnFeatures(Sequence):
    """Features read from a column folder, each decoded when it is indexed (lists and ints,
    equal to what featurize returned), with the format's context fields added."""

    def __init__(self, folder: Path, meta: dict, context: dict):
        if meta.get("codec") != CODEC_VERSION:
            raise ValueError(f"codec {meta.get('codec')!r}, expected {CODEC_VERSION}")
        self.count, self.context = int(meta["count"]), dict(context)
        self.columns = [_Column(folder, name, c["kind"], c["partial"], self.count)
                        for name, c in meta["columns"].items()]

    def __len__(self) -> int:
        return self.count

    def token_counts(self, names: Sequence[str]) -> list[int] | None:
        """Per feature, the number of ids in the first of the `names` columns stored (all
        inner lists together for ints2), from the offsets alone; None when that column is
        not a complete (every feature has it) ints or ints2 column."""
        by_name = {column.name: column for column in self.columns}
        column = next((by_name[n] for n in names if n in by_name), None)
        if column is None or column.position is not None or column.kind not in ("ints",
                                                                                  "ints2"):
            return None
        bounds = np.asarray(column.offsets)
        if column.kind == "ints2":  # the offsets index the inner lists' bounds
            bounds = np.asarray(column.inner)[bounds]
        return np.diff(bounds).tolist()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        i = int(index)
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError(index)
        out = {}
        for column in self.columns:
            has, value = column.get(i)
            if has:
                out[column.name] = value
        out.update(self.context)
        return out
