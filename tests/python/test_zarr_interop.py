"""Interop, reading: arrays written by zarr-python 3 and by tensorstore (the matrix of zarr_fixtures.py), read by
lsio.zarr over random basic and orthogonal selections and compared with zarr-python's read of the same selection
(and with the numpy array the writer was given)."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorstore as ts
import zarr

import lsio.zarr
from zarr_fixtures import (
    MATRIX,
    Spec,
    fill_scalar,
    random_basic,
    random_data,
    random_orthogonal,
    tensorstore_spec,
    write,
)

SELECTIONS = 20
WRITERS = {"zarr": "zarr-python", "tensorstore": "tensorstore"}


@pytest.fixture(scope="module")
def matrix_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix")


def orthogonal_reference(ref: np.ndarray, key: tuple[Any, ...]) -> np.ndarray:
    """numpy's answer to an orthogonal selection (integers drop their dimension)."""
    if not ref.shape:
        return ref
    items = list(key)
    # Expand an Ellipsis (random_orthogonal never makes one, but keep the helper general).
    if any(k is Ellipsis for k in items):
        i = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[i : i + 1] = [slice(None)] * (ref.ndim - len(items) + 1)
    items += [slice(None)] * (ref.ndim - len(items))
    index, drop = [], []
    for d, (k, n) in enumerate(zip(items, ref.shape)):
        if isinstance(k, (int, np.integer)):
            index.append(np.array([k]))
            drop.append(d)
        elif isinstance(k, slice):
            index.append(np.arange(n)[k])
        else:
            a = np.asarray(k)
            index.append(np.flatnonzero(a) if a.dtype == bool else a.astype(np.intp))
    out = ref[np.ix_(*index)]
    return out.reshape([s for d, s in enumerate(out.shape) if d not in drop])


def same(a: Any, b: Any) -> bool:
    """Scalar equality that counts NaN == NaN (complex parts separately) and tells 0.0 from -0.0 apart."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        return same(a.real, b.real) and same(a.imag, b.imag)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        x, y = float(a), float(b)
        return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
    return bool(a == b)


@pytest.mark.parametrize("spec", [s.param() for s in MATRIX])
def test_read_matrix(spec: Spec, matrix_root: Path) -> None:
    path = str(matrix_root / spec.id)
    ref = write(spec, path, seed=zlib.crc32(spec.id.encode()))
    z = zarr.open_array(path, mode="r")
    a = lsio.zarr.open_array(path, mode="r")

    # Metadata as the writer wrote it.
    assert a.zarr_format == spec.zarr_format
    assert a.shape == spec.shape == z.shape
    assert a.dtype == np.dtype(spec.dtype).newbyteorder("=")
    assert a.chunks == spec.chunks
    assert a.shards == spec.shards
    assert same(a.fill_value, fill_scalar(spec)), (a.fill_value, spec.fill_value)
    # tensorstore's v2 driver writes no .zattrs.
    attrs = {} if (spec.writer, spec.zarr_format) == ("tensorstore", 2) else {"writer": WRITERS[spec.writer], "id": spec.id}
    assert a.attrs == dict(z.attrs) == attrs
    assert a.ndim == len(spec.shape) and a.size == ref.size and a.nbytes == ref.nbytes

    # The whole array, against zarr-python and against the data the writer was given.
    whole = a[...]
    assert whole.dtype == a.dtype and whole.shape == spec.shape
    np.testing.assert_array_equal(whole, z[...])
    np.testing.assert_array_equal(whole, ref)

    rng = np.random.default_rng(zlib.crc32(spec.id.encode()) + 1)
    for i in range(SELECTIONS):
        if i % 2 == 0:
            key = random_basic(rng, spec.shape)
            got, expected, numpy_answer = a[key], z[key], ref[key]
        else:
            key = random_orthogonal(rng, spec.shape)
            got, expected, numpy_answer = a.oindex[key], z.oindex[key], orthogonal_reference(ref, key)
        msg = f"selection {i}: {key!r}"
        assert got.shape == np.shape(expected) == np.shape(numpy_answer), msg
        assert got.dtype == a.dtype, msg
        np.testing.assert_array_equal(got, expected, err_msg=msg)
        np.testing.assert_array_equal(got, numpy_answer, err_msg=msg)



def _write_specs() -> list[Spec]:
    """One array of the matrix per (writer, format, codecs or compressor, sharded or not, order)."""
    seen, out = set(), []
    for s in MATRIX:
        codecs = s.codecs if s.zarr_format == 3 else json.dumps(s.codecs, sort_keys=True)
        key = (s.writer, s.zarr_format, codecs, s.shards is not None, s.order)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


WRITE_SPECS = _write_specs()


@pytest.mark.parametrize("spec", [s.param() for s in WRITE_SPECS])
def test_write_into_matrix(spec: Spec, tmp_path: Path) -> None:
    """lsio writes into an array made by zarr-python or tensorstore (every codec chain: read-modify-write of
    partly covered chunks and shards, fill-value chunks dropped); zarr-python and tensorstore read the result."""
    path = str(tmp_path / "a")
    ref = write(spec, path, seed=zlib.crc32(spec.id.encode()) + 2)
    a = lsio.zarr.open_array(path)
    rng = np.random.default_rng(zlib.crc32(spec.id.encode()) + 3)
    data = random_data(spec.shape, spec.dtype, int(rng.integers(1 << 30)))
    if spec.shape:
        box = tuple(slice(int(n * 0.3), max(int(n * 0.3) + 1, int(n * 0.8))) for n in spec.shape)
        a[box] = data[box]
        ref[box] = data[box]
        okey = random_orthogonal(rng, spec.shape)
        # Index lists may repeat a position; write distinct positions only (numpy keeps the last duplicate).
        okey = tuple(np.unique(np.asarray(k) % n) if isinstance(k, (list, np.ndarray)) and np.asarray(k).dtype != bool
                     else k for k, n in zip(okey, spec.shape))  # fmt: skip
        vals = random_data(orthogonal_reference(ref, okey).shape, spec.dtype, 7)
        a.oindex[okey] = vals
        idx = [np.array([k]) if isinstance(k, (int, np.integer)) else (np.arange(n)[k] if isinstance(k, slice) else
               (np.flatnonzero(k) if np.asarray(k).dtype == bool else np.asarray(k))) for k, n in zip(okey, spec.shape)]  # fmt: skip
        ref[np.ix_(*idx)] = vals.reshape([len(i) for i in idx])
        a[tuple(slice(0, c) for c in spec.chunks)] = fill_scalar(spec)  # a whole (inner) chunk back to fill
        ref[tuple(slice(0, c) for c in spec.chunks)] = fill_scalar(spec)
    else:
        a[()] = data
        ref[()] = data
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], ref)
    np.testing.assert_array_equal(lsio.zarr.open_array(path, mode="r")[...], ref)
    if spec.writer == "tensorstore":
        t = ts.open(tensorstore_spec(spec, path) | {"create": False, "delete_existing": False, "open": True}).result()
        np.testing.assert_array_equal(t.read().result(), ref)
