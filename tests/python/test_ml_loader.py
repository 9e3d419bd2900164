"""lsio.ml.RandomCrops reading: normalisation against numpy, dtypes, prefetch thread lifetime, errors raised."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import lsio.ml
from ml_util import sat_array


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lsio.ml prefetch")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normalize_per_channel_matches_numpy(tmp_path: Path, dtype: str) -> None:
    a, data = sat_array(tmp_path)
    mean = np.array([100.0, 2000.0, 3.5])
    std = np.array([10.0, 500.0, 0.25])
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 3, "y": 5, "x": 7}}, batch_size=6,
                                 normalize={"sat": (mean, std)}, dtype=dtype, samples_per_epoch=12)
    n = 0
    for b in loader:
        assert b["sat"].dtype == np.dtype(dtype) and b["sat"].flags.c_contiguous
        for k, (t, _, y, x) in enumerate(b["sat/start"]):
            box = data[t:t + 3, :, y:y + 5, x:x + 7].astype(np.float64)
            want = (box - mean[None, :, None, None]) / std[None, :, None, None]
            np.testing.assert_allclose(b["sat"][k], want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-4)
            n += 1
    assert n == 12


def test_normalize_scalar_channel_dim_and_dtype(tmp_path: Path) -> None:
    a, data = sat_array(tmp_path)
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 2, "y": 4, "x": 4}}, batch_size=4, seed=1,
                                 normalize={"sat": (1000.0, 250.0)}, samples_per_epoch=4)
    b = next(iter(loader))
    t, _, y, x = b["sat/start"][0]
    np.testing.assert_allclose(b["sat"][0], (data[t:t + 2, :, y:y + 4, x:x + 4] - 1000.0) / 250.0, rtol=1e-5)
    # per-index normalisation along a dimension not called "channel"
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 4, "x": 4}}, batch_size=2, channel_dim="time",
                                 normalize={"sat": (np.arange(12.0), np.full(12, 2.0))}, samples_per_epoch=2)
    b = next(iter(loader))
    _, _, y, x = b["sat/start"][1]
    want = (data[:, :, y:y + 4, x:x + 4] - np.arange(12.0)[:, None, None, None]) / 2.0
    np.testing.assert_allclose(b["sat"][1], want, rtol=1e-5)
    raw = next(iter(lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 4}}, batch_size=2, samples_per_epoch=2)))
    assert raw["sat"].dtype == np.uint16
    f = next(iter(lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 4}}, batch_size=2, dtype={"sat": "float64"})))
    assert f["sat"].dtype == np.float64


def test_normalize_errors(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    crop = {"sat": {"y": 4, "x": 4}}
    with pytest.raises(ValueError, match="3 channels.*mean has 2"):
        lsio.ml.RandomCrops({"sat": a}, crop, batch_size=2, normalize={"sat": ([0, 0], [1, 1])})
    with pytest.raises(ValueError, match="whole 'channel'"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"channel": 2}}, batch_size=2,
                            normalize={"sat": ([0, 0, 0], [1, 1, 1])})
    with pytest.raises(ValueError, match="non-zero"):
        lsio.ml.RandomCrops({"sat": a}, crop, batch_size=2, normalize={"sat": (0, 0)})
    with pytest.raises(ValueError, match="float32 or float64"):
        lsio.ml.RandomCrops({"sat": a}, crop, batch_size=2, normalize={"sat": (0, 1)}, dtype="int32")
    with pytest.raises(ValueError, match="channel_dim 'lat'"):
        lsio.ml.RandomCrops({"sat": a}, crop, batch_size=2, normalize={"sat": ([0] * 3, [1] * 3)}, channel_dim="lat")
    b, _ = sat_array(tmp_path / "unnamed")
    nameless = lsio.ml.Source(b, dims=("t", "band", "y", "x"))
    with pytest.raises(ValueError, match="no dimension named 'channel'"):
        lsio.ml.RandomCrops({"sat": nameless}, crop, batch_size=2, normalize={"sat": ([0] * 3, [1] * 3)})


def test_prefetch_thread_stops_on_break_and_on_exhaustion(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 2, "y": 4, "x": 4}}, batch_size=2, prefetch=3,
                                 samples_per_epoch=40)
    for i, _ in enumerate(loader):
        if i == 0:
            assert len(prefetch_threads()) == 1
        if i == 2:
            break
    assert prefetch_threads() == []
    assert len(list(loader)) == 20
    assert prefetch_threads() == []
    it = iter(loader)
    next(it)
    del it
    assert prefetch_threads() == []


def test_error_in_prefetch_reaches_consumer(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 2, "y": 4, "x": 4}}, batch_size=2, prefetch=2,
                                 samples_per_epoch=10)
    prepared = loader.sources["sat"]
    calls = []

    def failing(starts: np.ndarray, out: np.ndarray, cancel: object = None) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk on fire")
        out[...] = 0

    prepared.read = failing  # type: ignore[method-assign]
    got = 0
    with pytest.raises(OSError, match="disk on fire"):
        for _ in loader:
            got += 1
    assert got == 2 and prefetch_threads() == []


def test_prefetch_zero_same_batches(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    kw = dict(crop={"sat": {"time": 2, "y": 4, "x": 4}}, batch_size=3, samples_per_epoch=10, seed=5)
    x = list(lsio.ml.RandomCrops({"sat": a}, **kw, prefetch=0))
    y = list(lsio.ml.RandomCrops({"sat": a}, **kw, prefetch=4))
    assert all(np.array_equal(p["sat"], q["sat"]) for p, q in zip(x, y)) and len(x) == len(y) == 4


def test_import_without_torch_is_lazy() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import lsio.ml\n"
            "try:\n    lsio.ml.CropDataset\nexcept ImportError:\n    print('lazy')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"


def test_batch_arrays_are_reused_only_when_dropped(tmp_path: Path) -> None:
    """The loader recycles a batch array once the consumer dropped it, never one still referenced."""
    arr, data = sat_array(tmp_path)
    loader = lsio.ml.RandomCrops(sources={"sat": arr}, crop={"sat": {"time": 2, "y": 8, "x": 8}}, batch_size=4,
                                 seed=0, prefetch=0, batches_per_epoch=6)
    kept = [b["sat"] for b in loader]  # every batch held: all distinct
    assert len({id(a) for a in kept}) == 6
    ids = set()
    for b in loader:  # each batch dropped before the next is read: few distinct arrays
        ids.add(id(b["sat"]))
        del b
    assert len(ids) < 6
    plan = loader.plan(loader.epoch)
    views = [b["sat"][:1] for b in loader]  # a view keeps its base alive: no reuse, data intact
    assert all(v.base is not None for v in views) and len({id(v.base) for v in views}) == 6
    for b, v in enumerate(views):
        t, c, y, x = plan.starts["sat"][b * 4]
        np.testing.assert_array_equal(v[0], data[t:t + 2, :, y:y + 8, x:x + 8])
