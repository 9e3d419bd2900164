"""Pickling lsio.zarr arrays and groups (and lsio.ml loaders): they travel as (store URL, store options, path,
mode) and reopen lazily in the process that unpickles them.

What is checked: round trips through pickle, copy.deepcopy and copy.copy read exactly what the original reads (v2,
v3, v3 sharded; opened by name and through a Store); unpickling opens no file (the array's directory can be gone:
unpickling succeeds, the first read raises FileNotFoundError naming the path) and starts no thread (counted in a
fresh process); arrays on a memory:// store refuse to pickle; arrays, groups and a RandomCrops loader sent to a
ProcessPoolExecutor with the spawn (and fork) start method read the same bytes there.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lsio
import lsio.ml
import lsio.zarr

TIMEOUT = 300  # seconds for a child process: generous, the machine may be busy


# ---- fixtures ---------------------------------------------------------------------------------------------------------


def _data(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1000, shape).astype(dtype)


KINDS: dict[str, dict[str, Any]] = {
    # name: create() keywords
    "v2": {"zarr_format": 2, "chunks": (4, 5), "dtype": "<i4", "fill_value": -1},
    "v3": {"zarr_format": 3, "chunks": (4, 5), "dtype": "uint16", "fill_value": 3},
    "v3-sharded": {"zarr_format": 3, "chunks": (2, 5), "shards": (4, 10), "dtype": "float32", "fill_value": 0.5},
}
SHAPE = (11, 23)


def _make(store: Any, path: str, kind: str, seed: int = 0) -> tuple[lsio.zarr.Array, np.ndarray]:
    """An array of `kind` at `path` of `store` (a Store or a directory), partly written (missing chunks read as the
    fill value); returns it and the content it must read as."""
    kw = dict(KINDS[kind])
    a = lsio.zarr.create(store, shape=SHAPE, path=path, attributes={"kind": kind}, **kw)
    ref = np.full(SHAPE, kw["fill_value"], dtype=np.dtype(kw["dtype"]).newbyteorder("="))
    ref[:9, 3:] = _data((9, 20), kw["dtype"], seed)
    a[:9, 3:] = ref[:9, 3:]
    return a, ref


def _write_group(directory: Path, zarr_format: int, attributes: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if zarr_format == 3:
        doc = {"zarr_format": 3, "node_type": "group", "attributes": attributes}
        (directory / "zarr.json").write_text(json.dumps(doc))
    else:
        (directory / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (directory / ".zattrs").write_text(json.dumps(attributes))


def _assert_same_array(b: lsio.zarr.Array, a: lsio.zarr.Array, ref: np.ndarray) -> None:
    assert type(b) is lsio.zarr.Array and b is not a
    assert b.path == a.path
    assert b.read_only == a.read_only
    assert (b.shape, b.dtype, b.chunks, b.shards, b.zarr_format) == (a.shape, a.dtype, a.chunks, a.shards, a.zarr_format)
    assert b.attrs == a.attrs
    got = b[...]
    assert got.dtype == ref.dtype and got.tobytes() == ref.tobytes()
    np.testing.assert_array_equal(b.oindex[[5, 0, 10], 3:20:4], ref[[5, 0, 10]][:, 3:20:4])


# ---- round trips ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_array_round_trip_by_name(kind: str, tmp_path: Path) -> None:
    path = str(tmp_path / f"{kind}.zarr")
    _, ref = _make(path, "", kind)
    for mode in ("r", "r+"):
        a = lsio.zarr.open_array(path, mode=mode)
        b = pickle.loads(pickle.dumps(a))
        _assert_same_array(b, a, ref)
        assert b.store.url == a.store.url == ""  # the default store's root: keys are absolute paths
        c = copy.deepcopy(a)
        _assert_same_array(c, a, ref)


@pytest.mark.parametrize("kind", list(KINDS))
def test_array_round_trip_through_a_store(kind: str, rooted: lsio.Store, tmp_path: Path) -> None:
    a, ref = _make(rooted, "deep/er/x.zarr", kind)
    data = pickle.dumps(a)
    assert str(tmp_path).encode() in data  # the store's URL travels
    b = pickle.loads(data)
    _assert_same_array(b, a, ref)
    assert b.store is not a.store  # reopened on a store of its own...
    assert b.store.url == rooted.url
    assert b.store.engine.split()[0] == rooted.engine.split()[0]  # ...with the same engine
    # Another unpickled node of the same store in this process shares that store.
    assert pickle.loads(data).store is b.store
    # Writable after the round trip: writes land in the same files.
    b[0, :] = 7
    ref[0, :] = 7
    np.testing.assert_array_equal(a[...], ref)
    # Pickled again while still lazy: the same address, nothing opened.
    lazy = pickle.loads(data)
    again = pickle.loads(pickle.dumps(lazy))
    assert lazy._core_ is None and again._core_ is None
    _assert_same_array(again, a, ref)


def test_read_only_survives_pickling(tmp_path: Path) -> None:
    path = str(tmp_path / "r.zarr")
    _make(path, "", "v3")
    b = pickle.loads(pickle.dumps(lsio.zarr.open_array(path, mode="r")))
    with pytest.raises(PermissionError):
        b[0, 0] = 1
    c = pickle.loads(pickle.dumps(lsio.zarr.open_array(path, mode="r+")))
    c[0, 0] = 1
    assert c[0, 0] == 1


def test_copies(tmp_path: Path) -> None:
    path = str(tmp_path / "c.zarr")
    a, ref = _make(path, "", "v3-sharded")
    shallow = copy.copy(a)  # another handle on the same open array, any store
    assert shallow is not a and shallow.store is a.store and shallow._core is a._core
    np.testing.assert_array_equal(shallow[...], ref)
    deep = copy.deepcopy(a)  # as pickling: reopened lazily
    assert deep._core_ is None
    _assert_same_array(deep, a, ref)
    mem = lsio.open("memory://")
    m, mref = _make(mem, "m", "v2")
    np.testing.assert_array_equal(copy.copy(m)[...], mref)


def test_store_options_travel(tmp_path: Path) -> None:
    """A store that reports the options it was opened with (Store.options) is reopened with them; one that does
    not is reopened with the engine it runs."""
    _, ref = _make(str(tmp_path / "o.zarr"), "", "v3")

    class Reporting:  # duck-types lsio.Store for pickling: url, engine, options
        url = str(tmp_path)
        engine = "uring (single_issuer, 2 workers x 128 deep)"
        options = {"engine": "posix", "workers": 1, "queue_depth": 8}

    assert lsio.zarr._store_options(Reporting()) == Reporting.options  # type: ignore[arg-type]
    address = lsio.zarr._address(Reporting(), "o.zarr", True, "an array")  # type: ignore[arg-type]
    b = pickle.loads(pickle.dumps(lsio.zarr._lazy_array(*address)))
    assert b[...].tobytes() == ref.tobytes()
    assert b.store.engine.startswith("posix") and "1 worker" in b.store.engine, b.store.engine

    store = lsio.open(str(tmp_path), engine="posix")
    assert lsio.zarr._store_options(store) == getattr(store, "options", {"engine": "posix"})
    auto = lsio.open(str(tmp_path))
    assert lsio.zarr._store_options(auto) == getattr(auto, "options", {"engine": auto.engine.split()[0]})


def test_relative_store_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store opened on a relative directory pickles its absolute path: the unpickling process may run elsewhere."""
    monkeypatch.chdir(tmp_path)
    store = lsio.open("rel")
    a, ref = _make(store, "x", "v3")
    data = pickle.dumps(a)
    monkeypatch.chdir("/")
    b = pickle.loads(data)
    assert b.store.url == str(tmp_path / "rel")
    np.testing.assert_array_equal(b[...], ref)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_group_round_trip(zarr_format: int, rooted: lsio.Store, tmp_path: Path) -> None:
    kind = "v2" if zarr_format == 2 else "v3-sharded"
    _write_group(tmp_path / "g", zarr_format, {"title": "outer", "n": 1})
    _write_group(tmp_path / "g" / "sub", zarr_format, {"title": "inner"})
    _, ref_a = _make(rooted, "g/a", kind, seed=1)
    _, ref_b = _make(rooted, "g/sub/b", kind, seed=2)
    for mode in ("r", "r+"):
        g = lsio.zarr.open_group(rooted, "g", mode=mode)
        for h in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
            assert type(h) is lsio.zarr.Group and h.path == "g"
            assert h._state is None  # nothing opened yet
            assert (h.zarr_format, h.attrs) == (zarr_format, {"title": "outer", "n": 1})
            assert sorted(h) == ["a", "sub"] and len(h) == 2 and "a" in h
            a = h["a"]
            assert isinstance(a, lsio.zarr.Array) and a.read_only == (mode == "r") and a.path == "g/a"
            assert a[...].tobytes() == ref_a.tobytes()
            sub = h["sub"]
            assert isinstance(sub, lsio.zarr.Group) and sub.attrs == {"title": "inner"}
            b = sub["b"]
            assert isinstance(b, lsio.zarr.Array) and b[...].tobytes() == ref_b.tobytes()
            # Members of an unpickled group pickle too.
            assert pickle.loads(pickle.dumps(b))[...].tobytes() == ref_b.tobytes()


def test_consolidated_group_round_trip(tmp_path: Path) -> None:
    import zarr  # zarr-python writes the consolidated metadata

    path = str(tmp_path / "cons.zarr")
    root = zarr.open_group(path, mode="w", zarr_format=3, attributes={"c": True})
    root.create_array("x", shape=(6,), dtype="int16", chunks=(4,))[...] = np.arange(6, dtype=np.int16)
    zarr.consolidate_metadata(path)
    g = lsio.zarr.open_group(path)
    assert g.consolidated_metadata is not None
    h = pickle.loads(pickle.dumps(g))
    assert h.consolidated_metadata == g.consolidated_metadata and list(h) == ["x"]
    x = h["x"]
    assert isinstance(x, lsio.zarr.Array)
    np.testing.assert_array_equal(x[...], np.arange(6, dtype=np.int16))


# ---- unpickling opens nothing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_unpickling_does_no_io(kind: str, tmp_path: Path) -> None:
    """The array's directory is renamed away between pickling and unpickling: unpickling succeeds (it opens
    nothing); the first use fails naming the path; once the directory is back, the same object reads."""
    path = tmp_path / "a.zarr"
    a, ref = _make(str(path), "", kind)
    data = pickle.dumps(a)
    _write_group(tmp_path / "g", 3, {})
    gdata = pickle.dumps(lsio.zarr.open_group(str(tmp_path / "g"), mode="r"))
    path.rename(tmp_path / "moved")
    (tmp_path / "g").rename(tmp_path / "g-moved")
    b = pickle.loads(data)
    g = pickle.loads(gdata)
    assert b.path == str(path) and g.path == str(tmp_path / "g")  # known without opening
    assert repr(b._lazy)  # still lazy
    with pytest.raises(FileNotFoundError, match=str(path)):
        b[...]
    with pytest.raises(FileNotFoundError, match=str(path)):
        b.shape
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "g")):
        g.attrs
    (tmp_path / "moved").rename(path)
    (tmp_path / "g-moved").rename(tmp_path / "g")
    assert b[...].tobytes() == ref.tobytes()
    assert g.attrs == {} and list(g) == []


def test_unpickling_starts_no_thread_and_opens_no_store(tmp_path: Path) -> None:
    """In a fresh process: unpickling arrays, a group and a loader leaves the thread count and the open stores
    unchanged; the first read opens one store (shared by everything that came from that store) and reads the
    right bytes."""
    path = tmp_path / "t.zarr"
    a, ref = _make(str(path), "", "v3-sharded")
    _write_group(tmp_path / "grp", 3, {})
    _make(str(tmp_path / "grp" / "m"), "", "v2")
    loader = lsio.ml.RandomCrops({"x": a}, {"x": {"dim_0": 3, "dim_1": 4}}, batch_size=2, prefetch=0, seed=1)
    blob = tmp_path / "blob.pickle"
    blob.write_bytes(pickle.dumps((a, lsio.zarr.open_group(str(tmp_path / "grp")), loader)))
    (tmp_path / "ref.bin").write_bytes(ref.tobytes())
    code = textwrap.dedent(f"""
        import os, pickle
        import lsio, lsio.zarr, lsio.ml

        def threads():
            return len(os.listdir("/proc/self/task"))

        before = threads()
        a, g, loader = pickle.loads(open({str(blob)!r}, "rb").read())
        assert threads() == before, (before, threads())
        assert lsio.zarr._stores == {{}} and lsio._default is None, lsio.zarr._stores
        assert a[...].tobytes() == open({str(tmp_path / "ref.bin")!r}, "rb").read()
        assert len(lsio.zarr._stores) == 1
        assert sorted(g) == ["m"] and g["m"].shape == (11, 23)
        assert next(iter(loader))["x"].shape == (2, 3, 4)
        assert len(lsio.zarr._stores) == 1  # one store for all of them (same URL and options)
        print("ok", before)
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout + r.stderr


# ---- memory:// --------------------------------------------------------------------------------------------------------


def test_memory_store_refuses_to_pickle(tmp_path: Path) -> None:
    mem = lsio.open("memory://")
    a, _ = _make(mem, "m/x", "v3")
    for obj in (a, lsio.zarr.open_array(mem, "m/x", mode="r")):
        with pytest.raises(pickle.PicklingError, match=r"memory://.*its data lives in this process"):
            pickle.dumps(obj)
        with pytest.raises(pickle.PicklingError, match="memory://"):
            copy.deepcopy(obj)
    loader = lsio.ml.RandomCrops({"x": a}, {"x": {"dim_0": 3}}, batch_size=2)
    with pytest.raises(pickle.PicklingError, match="memory://"):
        pickle.dumps(loader)


# ---- other processes --------------------------------------------------------------------------------------------------


def _read_in_child(node: Any, member: str = "") -> tuple[int, str, tuple[int, ...], bytes]:
    """Runs in a pool process: reads a (lazily reopened) array, or a member of a group, whole."""
    if isinstance(node, lsio.zarr.Group):
        node = node[member]
    assert isinstance(node, lsio.zarr.Array)
    x = node[...]
    return os.getpid(), x.dtype.str, x.shape, x.tobytes()


def _batches_in_child(loader: lsio.ml.RandomCrops, n: int) -> list[dict[str, Any]]:
    out = []
    for i, batch in enumerate(loader):
        if i == n:
            break
        out.append({k: np.array(v) for k, v in batch.items()})
    return out


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pool(method: str, tmp_path: Path) -> None:
    """Arrays (v2, v3, sharded; by name and through a Store), a group and a loader are pickled into a
    ProcessPoolExecutor and read there: exactly the bytes read here. With fork, this process's stores (and their
    threads) exist before the pool forks: the children must reopen on stores of their own."""
    store = lsio.open(str(tmp_path))
    nodes: list[tuple[Any, str, np.ndarray]] = []
    for k, kind in enumerate(KINDS):
        a, ref = _make(store, f"s/{kind}", kind, seed=10 + k)
        nodes.append((a, "", ref))
        _, ref = _make(str(tmp_path / f"n-{kind}"), "", kind, seed=20 + k)
        nodes.append((lsio.zarr.open_array(str(tmp_path / f"n-{kind}"), mode="r"), "", ref))
    _write_group(tmp_path / "s", 3, {})
    group = lsio.zarr.open_group(store, "s")
    nodes.append((group, "v3-sharded", nodes[4][2]))
    for a, _, ref in nodes:  # this process reads first: its stores have running threads when the pool forks
        assert isinstance(a, lsio.zarr.Group) or a[...].tobytes() == ref.tobytes()
    loader = lsio.ml.RandomCrops({"x": nodes[2][0]}, {"x": {"dim_0": 4, "dim_1": 6}}, batch_size=3, seed=5,
                                 prefetch=1)
    expected = _batches_in_child(loader, 2)
    loader.set_epoch(0)
    ctx = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        futures = [pool.submit(_read_in_child, node, member) for node, member, _ in nodes]
        batches = pool.submit(_batches_in_child, loader, 2)
        for (node, member, ref), f in zip(nodes, futures):
            pid, dtype, shape, data = f.result(timeout=TIMEOUT)
            assert pid != os.getpid()
            assert (dtype, shape) == (ref.dtype.str, ref.shape), node
            assert data == ref.tobytes(), node
        got = batches.result(timeout=TIMEOUT)
    assert len(got) == len(expected) == 2
    for x, y in zip(got, expected):
        assert x.keys() == y.keys()
        for key in x:
            assert x[key].tobytes() == y[key].tobytes(), key
