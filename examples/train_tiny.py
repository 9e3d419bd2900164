#!/usr/bin/env python3
"""Trains a tiny CNN directly from a sharded Zarr array with lsio.ml.RandomCrops (no batches prepared ahead).

    python examples/train_tiny.py                       # creates a small sharded dataset in a temp dir
    python examples/train_tiny.py --data bench/data/demo/<array>.zarr --crop y=64,x=64 --steps 100

The task is denoising: the model sees a noisy crop and reconstructs it. Any array works whose last two dimensions
are spatial; the dimensions before them (e.g. time, channel) become the CNN's input channels. The loader's
background thread reads the next batches while the model trains; the script prints loss and samples/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import lsio.ml
import lsio.zarr


def make_dataset(path: Path) -> None:
    """(time, channel, y, x) = (24, 3, 96, 96) uint16 smooth fields, shards of (4, 3, 32, 32), inner chunks 8x8."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    t, c, n = 24, 3, 96
    yy, xx = np.meshgrid(np.linspace(0, 6, n), np.linspace(0, 6, n), indexing="ij")
    phase = np.arange(t)[:, None, None, None] * 0.3 + np.arange(c)[None, :, None, None]
    data = 1000 + 400 * np.sin(xx + phase) * np.cos(yy - phase) + np.random.default_rng(0).normal(0, 20, (t, c, n, n))
    a = lsio.zarr.create(str(path / "sat"), data.shape, "uint16", chunks=(1, 3, 8, 8), shards=(4, 3, 32, 32),
                         dimension_names=("time", "channel", "y", "x"), overwrite=True)
    a[...] = data.astype(np.uint16)
    minutes = lsio.zarr.create(str(path / "time"), (t,), "int64", chunks=(t,), dimension_names=("time",),
                               attributes={"units": "minutes since 2024-06-01"}, overwrite=True)
    minutes[...] = 5 * np.arange(t)


def parse_crop(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, text.split(",")):
        name, _, size = part.partition("=")
        out[name.strip()] = int(size)
    return out


class TinyCNN(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="a Zarr array, or a group with one data variable (default: create one)")
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lsio-train-tiny",
                   help="where the small dataset is created when --data is not given")
    p.add_argument("--crop", default="time=2,y=32,x=32", help="crop sizes by dimension name, e.g. time=2,y=32,x=32")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--prefetch", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    path = args.data
    if path is None:
        path = args.workdir / "tiny.zarr"
        if not (path / "sat" / "zarr.json").exists():
            make_dataset(path)
            print(f"created {path}")
    source = lsio.ml.Source(lsio.zarr.open(str(path), mode="r"))
    crop = {d: s for d, s in parse_crop(args.crop).items() if d in source.dims}
    sample = source.array.read_crops(np.zeros((1, source.array.ndim), dtype=np.int64),
                                     [min(s, 64) for s in source.shape]).astype(np.float64)
    mean, std = float(sample.mean()), float(sample.std() or 1.0)
    loader = lsio.ml.RandomCrops({"x": source}, {"x": crop}, batch_size=args.batch_size, seed=args.seed,
                                 prefetch=args.prefetch, normalize={"x": (mean, std)}, dtype="float32",
                                 batches_per_epoch=args.steps, to="torch")
    box = loader.sources["x"].box
    channels = int(np.prod(box[:-2]))
    model = TinyCNN(channels)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    print(f"data {path}: dims {source.dims} shape {source.shape}; crops {dict(zip(source.dims, box))}; "
          f"{len(loader)} steps of {args.batch_size}")
    start = time.perf_counter()
    seen = 0
    for step, batch in enumerate(loader):
        x = batch["x"].reshape(-1, channels, box[-2], box[-1])
        noisy = x + 0.5 * torch.randn_like(x)
        loss = nn.functional.mse_loss(model(noisy), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += x.shape[0]
        if step % max(1, args.steps // 10) == 0 or step == args.steps - 1:
            rate = seen / (time.perf_counter() - start)
            print(f"step {step:4d}  loss {loss.item():.4f}  {rate:8.1f} samples/s", flush=True)
    elapsed = time.perf_counter() - start
    print(f"done: {seen} samples in {elapsed:.2f} s ({seen / elapsed:.1f} samples/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
