"""Small sharded Zarr datasets for the lsio.ml tests, written with lsio.zarr (groups: a hand-written zarr.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

import lsio.zarr


def write_group(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))


def write_array(path: Path, data: np.ndarray, dims: Sequence[str], chunks: Sequence[int],
                shards: Optional[Sequence[int]] = None, fill_value: Any = 0,
                attributes: Optional[dict[str, Any]] = None) -> lsio.zarr.Array:
    a = lsio.zarr.create(str(path), data.shape, data.dtype, chunks=chunks, shards=shards, fill_value=fill_value,
                         dimension_names=dims, attributes=attributes, overwrite=True)
    a[...] = data
    return lsio.zarr.open_array(str(path), mode="r")


def sat_array(tmp: Path, shape: tuple[int, ...] = (12, 3, 24, 32)) -> tuple[lsio.zarr.Array, np.ndarray]:
    """(time, channel, y, x) uint16, sharded (4, 3, 8, 8) with (2, 3, 4, 4) inner chunks."""
    data = np.random.default_rng(1).integers(0, 4000, shape).astype(np.uint16)
    return write_array(tmp / "sat.zarr", data, ("time", "channel", "y", "x"), (2, 3, 4, 4), (4, 3, 8, 8)), data


def dataset(tmp: Path, name: str, data: np.ndarray, dims: Sequence[str], coords: dict[str, np.ndarray],
            chunks: Sequence[int], shards: Optional[Sequence[int]] = None, fill_value: Any = 0,
            coord_attrs: Optional[dict[str, dict[str, Any]]] = None) -> lsio.zarr.Group:
    """A group with one data variable "data" and a 1-D coordinate array per entry of coords (xarray-style)."""
    root = tmp / name
    write_group(root)
    write_array(root / "data", data, dims, chunks, shards, fill_value)
    for d, values in coords.items():
        v = np.asarray(values)
        write_array(root / d, v, (d,), (v.shape[0],), attributes=(coord_attrs or {}).get(d))
    g = lsio.zarr.open_group(str(root), mode="r")
    return g
