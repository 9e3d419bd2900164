"""lsio.ml sampling: reproducibility, coverage of the valid region, user lists and weight maps, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lsio.ml
from ml_util import sat_array


def starts_of(loader: lsio.ml.RandomCrops, name: str = "sat") -> np.ndarray:
    return np.concatenate([b[f"{name}/start"] for b in loader])


def test_same_seed_same_batches_epochs_differ(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    kw = dict(crop={"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=5, seed=7, samples_per_epoch=23)
    l1 = lsio.ml.RandomCrops({"sat": a}, **kw)
    l2 = lsio.ml.RandomCrops({"sat": a}, **kw)
    b1, b2 = list(l1), list(l2)
    assert len(b1) == len(l1) == 5 and b1[-1]["sat"].shape[0] == 3
    for x, y in zip(b1, b2):
        assert np.array_equal(x["sat"], y["sat"]) and np.array_equal(x["sat/start"], y["sat/start"])
    e1 = list(l1)  # the next epoch
    assert not np.array_equal(np.concatenate([b["sat/start"] for b in b1]),
                              np.concatenate([b["sat/start"] for b in e1]))
    l2.set_epoch(1)
    assert all(np.array_equal(x["sat"], y["sat"]) for x, y in zip(e1, l2))
    l3 = lsio.ml.RandomCrops({"sat": a}, **{**kw, "seed": 8})
    assert not np.array_equal(starts_of(l3), np.concatenate([b["sat/start"] for b in b1]))


def test_uniform_covers_valid_region(tmp_path: Path) -> None:
    a, data = sat_array(tmp_path)
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 5, "y": 10, "x": 3}}, batch_size=100,
                                 samples_per_epoch=3000, prefetch=0)
    st = starts_of(loader)
    assert st.shape == (3000, 4)
    assert (st[:, 1] == 0).all()  # channel: whole extent
    for axis, (n, box) in {0: (12, 5), 2: (24, 10), 3: (32, 3)}.items():
        assert set(st[:, axis].tolist()) == set(range(n - box + 1))
    b = next(iter(loader))
    for k in range(5):
        t, c, y, x = b["sat/start"][k]
        assert np.array_equal(b["sat"][k], data[t:t + 5, :, y:y + 10, x:x + 3])


def test_user_start_list(tmp_path: Path) -> None:
    a, data = sat_array(tmp_path)
    chosen = np.array([[0, 0, 0], [3, 5, 7], [8, 16, 24]])  # (time, y, x)
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=4, starts=chosen,
                                 samples_per_epoch=200)
    st = starts_of(loader)
    assert {tuple(r) for r in st[:, [0, 2, 3]].tolist()} == {tuple(r) for r in chosen.tolist()}
    assert lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=2,
                               starts=chosen).samples_per_epoch == 3
    with pytest.raises(ValueError, match="outside the valid starts"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=2, starts=[[9, 0, 0]])
    with pytest.raises(ValueError, match="shape"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=2, starts=[[1, 0]])


def test_weight_map(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    w = np.zeros((12 - 4 + 1, 24 - 8 + 1, 32 - 8 + 1))
    w[2, :, :5] = 1.0
    w[6, 3, 10] = 5.0
    loader = lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=50, weights=w,
                                 samples_per_epoch=2000)
    st = starts_of(loader)[:, [0, 2, 3]]
    assert (w[st[:, 0], st[:, 1], st[:, 2]] > 0).all()
    assert ((st[:, 0] == 6) & (st[:, 1] == 3) & (st[:, 2] == 10)).any()
    with pytest.raises(ValueError, match="one entry per valid start"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=2, weights=np.ones((3, 3)))
    with pytest.raises(ValueError, match="all zero"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=2, weights=w * 0)


def test_epoch_length_and_drop_last(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    crop = {"sat": {"time": 4, "y": 8, "x": 8}}
    loader = lsio.ml.RandomCrops({"sat": a}, crop, batch_size=4)
    assert loader.samples_per_epoch == 3 * 3 * 4  # crops tiling (time, y, x)
    assert len(loader) == 9
    dl = lsio.ml.RandomCrops({"sat": a}, crop, batch_size=5, samples_per_epoch=12, drop_last=True)
    assert len(dl) == 2 and [b["sat"].shape[0] for b in dl] == [5, 5]
    assert len(lsio.ml.RandomCrops({"sat": a}, crop, batch_size=5, batches_per_epoch=3)) == 3


def test_shards_partition_the_epoch(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    kw = dict(crop={"sat": {"time": 4, "y": 8, "x": 8}}, batch_size=3, samples_per_epoch=31, seed=3)
    whole = np.concatenate([b["index"] for b in lsio.ml.RandomCrops({"sat": a}, **kw)])
    full_starts = starts_of(lsio.ml.RandomCrops({"sat": a}, **kw))
    seen = []
    for rank in range(2):
        for worker in range(3):
            part = lsio.ml.RandomCrops({"sat": a}, **kw, rank=rank, world_size=2)
            part.shard(worker, 3)
            for b in part:
                seen.append(b["index"])
                assert np.array_equal(b["sat/start"], full_starts[b["index"]])
    got = np.concatenate(seen)
    assert len(got) == len(set(got.tolist())) and np.array_equal(np.sort(got), whole)


def test_errors(tmp_path: Path) -> None:
    a, _ = sat_array(tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        lsio.ml.RandomCrops({"sat": a}, {"nwp": {"time": 2}}, batch_size=2)
    with pytest.raises(ValueError, match="dimension 'lat'.*\\('time', 'channel', 'y', 'x'\\)"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"lat": 2}}, batch_size=2)
    with pytest.raises(ValueError, match="larger than the array's extent 24"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 25}}, batch_size=2)
    with pytest.raises(ValueError, match="positive integer"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 0}}, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 2}}, batch_size=0)
    with pytest.raises(ValueError, match="unknown source"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 2}}, batch_size=2, normalize={"pv": (0, 1)})
    with pytest.raises(ValueError, match="anchor"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 2}}, batch_size=2, anchor="pv")
    with pytest.raises(ValueError, match="outside"):
        lsio.ml.RandomCrops({"sat": a}, {"sat": {"y": 2}}, batch_size=2, outside="wrap")  # type: ignore[arg-type]
