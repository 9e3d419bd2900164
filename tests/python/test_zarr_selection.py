"""Selections, property-based: lsio.zarr indexing (basic, orthogonal, read(out=), writes) agrees with numpy on
arrays written by zarr-python (sharded with edge shards, v2 Fortran order) and by lsio itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lsio.zarr
from test_zarr_interop import orthogonal_reference

SHAPE = (23, 18, 7)


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[lsio.zarr.Array, np.ndarray]]:
    """name -> (lsio array, numpy reference)."""
    root = tmp_path_factory.mktemp("sel")
    rng = np.random.default_rng(5)
    ref = rng.integers(-1000, 1000, SHAPE).astype(np.int32)
    ref[:4, :6] = -1  # one whole shard-corner of fill value: missing inner chunks
    out = {}
    z = zarr.create_array(str(root / "sharded.zarr"), shape=SHAPE, dtype="int32", chunks=(4, 3, 2), shards=(8, 6, 4),
                          fill_value=-1)  # fmt: skip
    z[...] = ref
    out["sharded"] = (lsio.zarr.open_array(str(root / "sharded.zarr"), mode="r"), ref)
    z = zarr.create(shape=SHAPE, chunks=(5, 4, 3), dtype=">i4", zarr_format=2, order="F", store=str(root / "f.zarr"),
                    fill_value=-1)  # fmt: skip
    z[...] = ref
    out["v2F"] = (lsio.zarr.open_array(str(root / "f.zarr"), mode="r"), ref)
    return out


def dim_int(n: int, oob: bool = False) -> st.SearchStrategy[int]:
    return st.integers(-n - 2, n + 1) if oob else st.integers(-n, n - 1)


def dim_slice(n: int) -> st.SearchStrategy[slice]:
    bound = st.none() | st.integers(-n - 3, n + 3)
    return st.builds(slice, bound, bound, st.none() | st.integers(1, 4))


def dim_list(n: int, oob: bool = False, unique: bool = False) -> st.SearchStrategy[Any]:
    if unique:  # distinct positions (some written as negative indices)
        ints = st.lists(st.tuples(st.integers(0, n - 1), st.booleans()), max_size=6, unique_by=lambda t: t[0]).map(
            lambda v: [i - n if neg else i for i, neg in v]
        )
    else:
        ints = st.lists(dim_int(n, oob), min_size=0, max_size=6)
    return ints | ints.map(lambda v: np.array(v, dtype=np.int64)) | ints.map(lambda v: np.array(v, dtype=np.int16))


def dim_mask(n: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.booleans(), min_size=n, max_size=n).map(np.array)


@st.composite
def basic_keys(
    draw: st.DrawFn, shape: tuple[int, ...], fancy: bool = False, oob: bool = False, unique: bool = False
) -> tuple[Any, ...]:
    key: list[Any] = [draw(dim_int(n, oob) | dim_slice(n)) for n in shape]
    if fancy:  # one index array (numpy "advanced" indexing), maybe beside integers
        d = draw(st.integers(0, len(shape) - 1))
        key[d] = draw(dim_list(shape[d], oob, unique).filter(lambda v: len(v) > 0) | dim_mask(shape[d]))
    if draw(st.booleans()):  # an Ellipsis for a run of slices
        i = draw(st.integers(0, len(key)))
        j = draw(st.integers(i, len(key)))
        if all(isinstance(k, slice) for k in key[i:j]):
            key[i:j] = [Ellipsis]
    for _ in range(draw(st.integers(0, 2))):  # numpy.newaxis
        key.insert(draw(st.integers(0, len(key))), None)
    if len(key) == 1 and draw(st.booleans()):
        return key[0]  # a bare (non-tuple) key
    return tuple(key)


@st.composite
def orthogonal_keys(
    draw: st.DrawFn, shape: tuple[int, ...], oob: bool = False, unique: bool = False
) -> tuple[Any, ...]:
    return tuple(draw(dim_int(n, oob) | dim_slice(n) | dim_list(n, oob, unique) | dim_mask(n)) for n in shape)


FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def out_of_bounds(key: Any, shape: tuple[int, ...]) -> bool:
    """True when an integer or index-list entry of the key lies outside [-n, n) of its dimension (numpy does not
    always notice when another dimension selects nothing; lsio, like zarr-python, always does)."""
    items = [k for k in (key if isinstance(key, tuple) else (key,)) if k is not None]
    if any(k is Ellipsis for k in items):
        i = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[i : i + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    for k, n in zip(items, shape):
        if isinstance(k, slice):
            continue
        v = np.asarray(k)
        if v.dtype != bool and v.size and (v.min() < -n or v.max() >= n):
            return True
    return False


@pytest.mark.parametrize("name", ["sharded", "v2F"])
@FAST
@given(data=st.data())
def test_basic_indexing_matches_numpy(arrays: Any, name: str, data: st.DataObject) -> None:
    a, ref = arrays[name]
    key = data.draw(basic_keys(SHAPE, fancy=data.draw(st.booleans())))
    expected = ref[key]
    got = a[key]
    assert isinstance(got, np.ndarray) and got.dtype == np.int32
    assert got.shape == np.shape(expected), key
    np.testing.assert_array_equal(got, expected, err_msg=repr(key))


@pytest.mark.parametrize("name", ["sharded", "v2F"])
@FAST
@given(data=st.data())
def test_orthogonal_indexing_and_read_out_match_numpy(arrays: Any, name: str, data: st.DataObject) -> None:
    a, ref = arrays[name]
    key = data.draw(orthogonal_keys(SHAPE))
    expected = orthogonal_reference(ref, key)
    got = a.oindex[key]
    assert got.shape == expected.shape, key
    np.testing.assert_array_equal(got, expected, err_msg=repr(key))
    out = np.full(expected.shape, 12345, dtype=np.int32)
    assert a.read(key, out=out) is out
    np.testing.assert_array_equal(out, expected, err_msg=repr(key))


@FAST
@given(data=st.data())
def test_out_of_bounds_raise_like_numpy(arrays: Any, data: st.DataObject) -> None:
    """Where numpy raises IndexError (an index past either end), lsio raises BoundsCheckError (an IndexError and a
    ValueError); elsewhere both agree."""
    a, ref = arrays["sharded"]
    key = data.draw(basic_keys(SHAPE, fancy=data.draw(st.booleans()), oob=True))
    if out_of_bounds(key, SHAPE):
        with pytest.raises(IndexError):
            ref[key]
        with pytest.raises(IndexError):
            a[key]
    else:
        np.testing.assert_array_equal(a[key], ref[key])
    okey = data.draw(orthogonal_keys(SHAPE, oob=True))
    if out_of_bounds(okey, SHAPE):
        with pytest.raises(lsio.zarr.BoundsCheckError) as info:
            a.oindex[okey]
        assert isinstance(info.value, ValueError) and "out of bounds" in str(info.value)
    else:
        np.testing.assert_array_equal(a.oindex[okey], orthogonal_reference(ref, okey))


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, lsio.zarr.Array, np.ndarray]:
    path = str(tmp_path_factory.mktemp("w") / "w.zarr")
    a = lsio.zarr.create(path, shape=SHAPE, dtype="float32", chunks=(4, 3, 2), shards=(8, 6, 4), fill_value=np.nan)
    return path, a, np.full(SHAPE, np.nan, np.float32)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_writes_match_numpy(writable: Any, data: st.DataObject) -> None:
    """Random basic and orthogonal writes (arrays and broadcast scalars) leave the array equal to numpy's. Index
    lists name distinct positions (with repeats, numpy and lsio may keep different duplicates)."""
    path, a, ref = writable
    if data.draw(st.booleans()):
        key = data.draw(basic_keys(SHAPE, fancy=data.draw(st.booleans()), unique=True))
        shape = np.shape(ref[key])
        target = ref.__setitem__
        write = a.__setitem__
    else:
        key = data.draw(orthogonal_keys(SHAPE, unique=True))
        shape = orthogonal_reference(ref, key).shape
        items = []
        for k, n in zip(key, SHAPE):
            if isinstance(k, (int, np.integer)):
                items.append(np.array([k]))
            elif isinstance(k, slice):
                items.append(np.arange(n)[k])
            else:
                k = np.asarray(k)
                items.append(np.flatnonzero(k) if k.dtype == bool else k.astype(np.intp))

        def target(_: Any, v: Any) -> None:
            ref[np.ix_(*items)] = np.broadcast_to(v, shape).reshape([len(i) for i in items])

        write = a.oindex.__setitem__
    if data.draw(st.booleans()):
        value: Any = data.draw(st.sampled_from([0.0, -2.5, np.nan, np.inf]))
    else:
        value = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(shape).astype(np.float32)
    write(key, value)
    target(key, value)
    np.testing.assert_array_equal(a[...], ref)


def test_writes_read_back_by_zarr_python(writable: Any) -> None:
    """After test_writes_match_numpy (same module fixture): zarr-python reads what the random writes left."""
    path, a, ref = writable
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], ref)
    np.testing.assert_array_equal(lsio.zarr.open_array(path, mode="r")[...], ref)
