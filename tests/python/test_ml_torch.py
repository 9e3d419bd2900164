"""lsio.ml with torch: tensors without copies, the IterableDataset across DataLoader workers, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.utils.data

import lsio.ml
from ml_util import sat_array


def make_loader(tmp: Path, **kw: object) -> lsio.ml.RandomCrops:
    a, _ = sat_array(tmp)
    args = dict(crop={"sat": {"time": 2, "y": 4, "x": 4}}, batch_size=3, samples_per_epoch=29, seed=11,
                normalize={"sat": ([0.0, 1.0, 2.0], [1.0, 2.0, 4.0])})
    args.update(kw)
    return lsio.ml.RandomCrops({"sat": a}, **args)  # type: ignore[arg-type]


def test_to_torch_matches_numpy(tmp_path: Path) -> None:
    np_batches = list(make_loader(tmp_path))
    t_batches = list(make_loader(tmp_path, to="torch"))
    assert len(np_batches) == len(t_batches) == 10
    for n, t in zip(np_batches, t_batches):
        assert isinstance(t["sat"], torch.Tensor) and t["sat"].dtype == torch.float32
        assert not t["sat"].is_pinned()  # no CUDA here
        np.testing.assert_array_equal(t["sat"].numpy(), n["sat"])
        np.testing.assert_array_equal(t["sat/start"].numpy(), n["sat/start"])
    b = np_batches[0]
    t = lsio.ml.to_torch(b)
    assert t["sat"].data_ptr() == b["sat"].ctypes.data  # zero-copy hand-over


def test_dataloader_workers_split_the_epoch(tmp_path: Path) -> None:
    loader = make_loader(tmp_path)
    single = list(make_loader(tmp_path))
    ds = lsio.ml.CropDataset(loader)
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    got = list(dl)
    idx = torch.cat([b["index"] for b in got]).numpy()
    assert len(idx) == len(set(idx.tolist())) == 29
    # DataLoader takes batches from the workers in turn: exactly the single-process epoch, in order
    for x, y in zip(got, single):
        np.testing.assert_array_equal(x["index"].numpy(), y["index"])
        np.testing.assert_array_equal(x["sat"].numpy(), y["sat"])
    ds.set_epoch(1)
    again = torch.cat([b["sat/start"] for b in dl]).numpy()
    epoch1 = make_loader(tmp_path).plan(1).starts["sat"]
    np.testing.assert_array_equal(again, epoch1)
    assert len(ds) == 10


def test_pickle_reopens(tmp_path: Path) -> None:
    loader = make_loader(tmp_path)
    copy = pickle.loads(pickle.dumps(loader))
    assert copy.sources["sat"].source.array.store is not loader.sources["sat"].source.array.store
    for x, y in zip(loader, copy):
        np.testing.assert_array_equal(x["sat"], y["sat"])
