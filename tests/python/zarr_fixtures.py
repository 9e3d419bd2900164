"""The interop matrix of the lsio.zarr tests: Zarr arrays written by zarr-python 3 and by tensorstore.

Each Spec names one array (writer, format, dtype, codecs, chunk/shard shapes, fill value...); `write(spec, path)`
creates it with the writer library and returns the numpy array the writer was asked to store (the reference).
Only part of each array is written, so some chunks/shards are missing, and one whole (inner) chunk is written as
the fill value, so the writer leaves it out: missing chunks, shards and inner chunks all read as the fill value.

zarr and tensorstore are imported at module level on purpose: without them the tests fail, never skip.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numcodecs
import numpy as np
import pytest
import tensorstore as ts
import zarr

JSON = Any

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip


@dataclass(frozen=True)
class Spec:
    id: str
    writer: str  # "zarr" (zarr-python 3) or "tensorstore"
    zarr_format: int
    shape: tuple[int, ...]
    dtype: str  # numpy dtype string; for v2 it may carry a byte order (">u2")
    chunks: tuple[int, ...]  # the chunk shape (inner chunk shape when sharded)
    shards: Optional[tuple[int, ...]] = None
    codecs: Any = "zstd"  # v3: a recipe name (see v3_codecs); v2: a numcodecs config dict or None
    fill_value: Any = 0
    index_location: str = "end"
    index_crc32c: bool = True
    order: str = "C"  # v2 only
    separator: str = "."  # v2 only
    key_encoding: Optional[tuple[str, str]] = None  # v3 only: (name, separator); None: ("default", "/")
    skip: Optional[str] = None  # what the writer library cannot produce
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def param(self) -> Any:
        marks = [pytest.mark.skip(reason=self.skip)] if self.skip else []
        return pytest.param(self, id=self.id, marks=marks)


# ---- v3 codec recipes -----------------------------------------------------------------------------------------------


def bytes_codec(itemsize: int, endian: str = "little") -> JSON:
    return {"name": "bytes"} if itemsize == 1 else {"name": "bytes", "configuration": {"endian": endian}}


def blosc(cname: str, shuffle: str, itemsize: int, clevel: int = 5) -> JSON:
    return {
        "name": "blosc",
        "configuration": {"cname": cname, "clevel": clevel, "shuffle": shuffle, "typesize": itemsize, "blocksize": 0},
    }


BLOSC_VARIANTS = [
    ("lz4", "shuffle"), ("zstd", "bitshuffle"), ("blosclz", "noshuffle"), ("lz4hc", "bitshuffle"),
    ("zlib", "shuffle"), ("zstd", "noshuffle"), ("blosclz", "shuffle"), ("lz4", "bitshuffle"),
    ("lz4hc", "noshuffle"), ("zlib", "bitshuffle"), ("blosclz", "bitshuffle"), ("zstd", "shuffle"),
]  # fmt: skip

RECIPES = [
    "raw", "bigendian", "zstd", "zstd-checksum", "gzip", "crc32c", "zstd-crc32c", "transpose", "transpose-gzip",
    *[f"blosc-{c}-{s}" for c, s in BLOSC_VARIANTS],
]  # fmt: skip


def v3_codecs(recipe: str, dtype: np.dtype[Any], ndim: int) -> list[JSON]:
    """The codec list of a recipe (the inner chunks' codecs when the array is sharded)."""
    n = dtype.itemsize
    little, big = bytes_codec(n), bytes_codec(n, "big")
    reverse = {"name": "transpose", "configuration": {"order": list(range(ndim))[::-1]}}
    rotate = {"name": "transpose", "configuration": {"order": [*range(1, ndim), 0] if ndim else []}}
    zstd = {"name": "zstd", "configuration": {"level": 3, "checksum": False}}
    if recipe == "raw":
        return [little]
    if recipe == "bigendian":
        return [big]
    if recipe == "zstd":
        return [little, zstd]
    if recipe == "zstd-checksum":
        return [little, {"name": "zstd", "configuration": {"level": 1, "checksum": True}}]
    if recipe == "gzip":
        return [little, {"name": "gzip", "configuration": {"level": 5}}]
    if recipe == "crc32c":
        return [little, {"name": "crc32c"}]
    if recipe == "zstd-crc32c":
        return [big, zstd, {"name": "crc32c"}]
    if recipe == "transpose":
        return [reverse, little]
    if recipe == "transpose-gzip":
        return [rotate, big, {"name": "gzip", "configuration": {"level": 1}}]
    if recipe.startswith("blosc-"):
        _, cname, shuffle = recipe.split("-")
        return [little, blosc(cname, shuffle, n)]
    raise ValueError(recipe)


def v3_array_codecs(spec: Spec) -> list[JSON]:
    dt = np.dtype(spec.dtype)
    inner = v3_codecs(spec.codecs, dt, len(spec.shape))
    if spec.shards is None:
        return inner
    index = [bytes_codec(8)] + ([{"name": "crc32c"}] if spec.index_crc32c else [])
    return [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": list(spec.chunks),
                "codecs": inner,
                "index_codecs": index,
                "index_location": spec.index_location,
            },
        }
    ]


# ---- v2 compressors -------------------------------------------------------------------------------------------------

V2_COMPRESSORS: list[tuple[str, Optional[JSON]]] = [
    ("blosc-lz4-shuffle", {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}),
    ("blosc-zstd-bitshuffle", {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0}),
    ("blosc-blosclz-noshuffle", {"id": "blosc", "cname": "blosclz", "clevel": 5, "shuffle": 0, "blocksize": 0}),
    ("zstd", {"id": "zstd", "level": 3}),
    ("gzip", {"id": "gzip", "level": 5}),
    ("zlib", {"id": "zlib", "level": 5}),
    ("lz4", {"id": "lz4", "acceleration": 1}),
    ("bz2", {"id": "bz2", "level": 5}),
    ("none", None),
]


# ---- fill values ----------------------------------------------------------------------------------------------------


def fill_values(dtype: str) -> list[Any]:
    """Every kind of fill value for a dtype (the first is the most ordinary one)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return [False, True]
    if dt.kind == "i":
        info = np.iinfo(dt)
        return [0, -3, int(info.min), int(info.max)]
    if dt.kind == "u":
        return [0, 42, int(np.iinfo(dt).max)]
    if dt.kind == "f":
        return [0.0, 1.5, math.nan, math.inf, -math.inf, -0.0]
    return [0j, complex(1, 2), complex(math.nan, 1.0), complex(math.inf, -math.inf), complex(math.nan, math.nan)]


def fill_json(value: Any, dtype: np.dtype[Any]) -> JSON:
    def f(x: float) -> JSON:
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x

    if value is None:
        return None
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "f":
        return f(float(value))
    return [f(complex(value).real), f(complex(value).imag)]


def fill_scalar(spec: Spec) -> Any:
    """The fill value as a numpy scalar (v2 null: zero)."""
    dt = np.dtype(spec.dtype).newbyteorder("=")
    return np.asarray(0 if spec.fill_value is None else spec.fill_value).astype(dt, casting="unsafe")[()]


# ---- data -----------------------------------------------------------------------------------------------------------


def random_data(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype).newbyteorder("=")
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    if dt.kind == "f":
        a = (rng.standard_normal(shape) * 1000).astype(dt)
    else:
        a = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt) * 100
    flat = a.reshape(-1)
    if flat.size >= 8:  # a few special values in the data itself
        k = rng.choice(flat.size, 3, replace=False)
        flat[k[0]], flat[k[1]], flat[k[2]] = np.nan, np.inf, -np.inf
    return a


def regions(spec: Spec) -> list[tuple[slice, ...]]:
    """What gets written: the first ~60% along dimension 0, and a small box in the far corner."""
    shape = spec.shape
    if not shape:
        return [()]
    first = (slice(0, max(1, math.ceil(shape[0] * 0.6))),) + tuple(slice(None) for _ in shape[1:])
    corner = tuple(slice(max(0, n - 2), n) for n in shape)
    return [first, corner]


def reference(spec: Spec, seed: int) -> np.ndarray:
    """The array as it must read back: data in the written regions, the fill value elsewhere; the first chunk
    (inner chunk when sharded) of the written region is all fill value, so writers omit it (unless it is the
    array's only chunk)."""
    dt = np.dtype(spec.dtype).newbyteorder("=")
    ref = np.full(spec.shape, fill_scalar(spec), dtype=dt)
    data = random_data(spec.shape, spec.dtype, seed)
    for r in regions(spec):
        ref[r] = data[r]
    if spec.shape and math.prod(-(-n // c) for n, c in zip(spec.shape, spec.chunks)) > 1:
        ref[tuple(slice(0, c) for c in spec.chunks)] = fill_scalar(spec)
    return ref


# ---- writers --------------------------------------------------------------------------------------------------------


def _write_regions(spec: Spec, ref: np.ndarray, assign: Any) -> None:
    for r in regions(spec):
        assign(r, ref[r])


def _key_encoding(spec: Spec) -> JSON:
    name, sep = spec.key_encoding or ("default", "/")
    return {"name": name, "configuration": {"separator": sep}}


def write_zarr_python(spec: Spec, path: str, ref: np.ndarray) -> None:
    dt = np.dtype(spec.dtype)
    if spec.zarr_format == 3:
        z = zarr.create(
            shape=spec.shape,
            chunks=spec.shards or spec.chunks,
            dtype=dt.newbyteorder("="),
            codecs=v3_array_codecs(spec),
            chunk_key_encoding=_key_encoding(spec),
            zarr_format=3,
            fill_value=fill_scalar(spec),
            store=path,
            attributes={"writer": "zarr-python", "id": spec.id},
        )
    else:
        z = zarr.create(
            shape=spec.shape,
            chunks=spec.chunks,
            dtype=dt,
            compressor=numcodecs.get_codec(dict(spec.codecs)) if spec.codecs is not None else None,
            zarr_format=2,
            fill_value=spec.fill_value,
            order=spec.order,
            dimension_separator=spec.separator,
            store=path,
            attributes={"writer": "zarr-python", "id": spec.id},
        )

    def assign(r: Any, v: np.ndarray) -> None:
        z[r] = v

    _write_regions(spec, ref, assign)


def tensorstore_spec(spec: Spec, path: str) -> JSON:
    dt = np.dtype(spec.dtype)
    kvstore = {"driver": "file", "path": path}
    if spec.zarr_format == 3:
        metadata: JSON = {
            "shape": list(spec.shape),
            "data_type": str(dt.newbyteorder("=")) if dt.kind != "b" else "bool",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(spec.shards or spec.chunks)}},
            "codecs": v3_array_codecs(spec),
            "chunk_key_encoding": _key_encoding(spec),
            "fill_value": fill_json(spec.fill_value, dt),
            "attributes": {"writer": "tensorstore", "id": spec.id},
        }
        return {"driver": "zarr3", "kvstore": kvstore, "metadata": metadata, "create": True, "delete_existing": True}
    metadata = {
        "shape": list(spec.shape),
        "chunks": list(spec.chunks),
        "dtype": dt.str,
        "fill_value": fill_json(spec.fill_value, dt),
        "order": spec.order,
        "compressor": spec.codecs,
        "filters": None,
        "dimension_separator": spec.separator,
    }
    return {"driver": "zarr", "kvstore": kvstore, "metadata": metadata, "create": True, "delete_existing": True}


def write_tensorstore(spec: Spec, path: str, ref: np.ndarray) -> None:
    t = ts.open(tensorstore_spec(spec, path)).result()

    def assign(r: Any, v: np.ndarray) -> None:
        t[r].write(v).result()

    _write_regions(spec, ref, assign)


def write(spec: Spec, path: str, seed: int = 0) -> np.ndarray:
    """Writes the array of `spec` at `path` with its writer library; returns the reference content."""
    ref = reference(spec, seed)
    if spec.writer == "zarr":
        write_zarr_python(spec, path, ref)
    else:
        write_tensorstore(spec, path, ref)
    return ref


# ---- the matrix -----------------------------------------------------------------------------------------------------

# (shape, chunks) for unsharded arrays: edge chunks that do not divide the shape. Few chunks per array: zarr-python,
# the oracle, spends most of the test time per chunk.
PLAIN_SHAPES = [((13, 17, 11), (5, 6, 4)), ((29, 23), (8, 6)), ((61,), (9,)), ((6, 7, 5, 4), (4, 4, 3, 3))]
# (shape, shards, inner chunks).
SHARD_SHAPES = [
    ((11, 13, 9), (8, 10, 6), (4, 5, 3)),
    ((29, 23), (10, 16), (5, 8)),
    ((61,), (16,), (4,)),
    ((9, 9, 9), (12, 6, 4), (3, 6, 4)),  # a shard longer than the array
    ((20, 12), (20, 12), (20, 12)),  # one inner chunk per shard, one shard
]


def _v3(writer: str, tag: str, dtype: str, recipe: str, fill: Any, shape: Any, chunks: Any, shards: Any = None,
        location: str = "end", crc: bool = True, key: Optional[tuple[str, str]] = None) -> Spec:  # fmt: skip
    prefix = "zp" if writer == "zarr" else "ts"
    sharding = f"-shard{'x'.join(map(str, shards))}-inner{'x'.join(map(str, chunks))}-{location}" if shards else ""
    sharding += "" if crc or not shards else "-nocrc"
    fid = repr(fill).replace(" ", "")
    keys = f"-key-{key[0]}-{'dot' if key[1] == '.' else 'slash'}" if key else ""
    return Spec(
        id=f"{prefix}-v3-{tag}-{dtype}-{recipe}{sharding}{keys}-fill{fid}-{'x'.join(map(str, shape))}",
        writer=writer, zarr_format=3, shape=shape, dtype=dtype, chunks=chunks, shards=shards, codecs=recipe,
        fill_value=fill, index_location=location, index_crc32c=crc, key_encoding=key,
    )  # fmt: skip


def _v2(writer: str, tag: str, dtype: str, comp: tuple[str, Optional[JSON]], fill: Any, order: str, sep: str,
        shape: Any, chunks: Any) -> Spec:  # fmt: skip
    prefix = "zp" if writer == "zarr" else "ts"
    name, config = comp
    skip = None
    if writer == "tensorstore" and name == "lz4":
        skip = "tensorstore cannot write the v2 lz4 compressor (not registered in its zarr driver)"
        name = "lz4-WRITER-CANNOT"
    fid = repr(fill).replace(" ", "")
    sep_name = "dot" if sep == "." else "slash"
    return Spec(
        id=f"{prefix}-v2-{tag}-{dtype}-{name}-{order}-{sep_name}-fill{fid}-{'x'.join(map(str, shape))}",
        writer=writer, zarr_format=2, shape=shape, dtype=dtype, chunks=chunks, codecs=config, fill_value=fill,
        order=order, separator=sep, skip=skip,
    )  # fmt: skip


def _v2_dtype(dtype: str, k: int) -> str:
    """Alternates little and big endian typestrs for multi-byte types."""
    dt = np.dtype(dtype)
    if dt.itemsize == 1:
        return dt.str
    return dt.newbyteorder("<" if k % 2 == 0 else ">").str


def build_matrix() -> list[Spec]:
    specs: list[Spec] = []
    fills: list[Any]
    for writer in ("zarr", "tensorstore"):
        # Every dtype, unsharded and sharded; codec recipes and fill value kinds cycle, so every recipe shows up.
        recipes = itertools.cycle(RECIPES)
        sharded_with: dict[str, bool] = {}
        for k, dtype in enumerate(DTYPES):
            fills = fill_values(dtype)
            shape, chunks = PLAIN_SHAPES[k % len(PLAIN_SHAPES)]
            recipe = next(recipes)
            sharded_with.setdefault(recipe, False)
            specs.append(_v3(writer, "dtype", dtype, recipe, fills[k % len(fills)], shape, chunks))
            shape, shards, inner = SHARD_SHAPES[k % len(SHARD_SHAPES)]
            loc = "start" if k % 2 else "end"
            recipe = next(recipes)
            sharded_with.setdefault(recipe, True)
            fill = fills[(k + 1) % len(fills)]
            specs.append(_v3(writer, "dtype", dtype, recipe, fill, shape, inner, shards, loc, crc=k % 5 != 3))
        # Every codec recipe in the other mode (sharded or not) than the dtype sweep used it in.
        for k, recipe in enumerate(RECIPES):
            dtype = ["uint16", "float32", "int64", "complex64", "uint8"][k % 5]
            fill = fill_values(dtype)[1]
            if sharded_with[recipe]:
                shape, chunks = PLAIN_SHAPES[k % len(PLAIN_SHAPES)]
                specs.append(_v3(writer, "codec", dtype, recipe, fill, shape, chunks))
            else:
                shape, shards, inner = SHARD_SHAPES[k % len(SHARD_SHAPES)]
                specs.append(_v3(writer, "codec", dtype, recipe, fill, shape, inner, shards, ["end", "start"][k % 2]))
        # Every shard shape with both index locations.
        for shape, shards, inner in SHARD_SHAPES:
            for loc in ("start", "end"):
                specs.append(_v3(writer, "shard", "int32", "zstd", -7, shape, inner, shards, loc))
        # Every special fill value of the float and complex types, on unsharded and sharded arrays.
        specials = [
            ("float16", math.nan), ("float32", math.inf), ("float64", -math.inf), ("float32", -0.0),
            ("float64", math.nan), ("float16", -math.inf), ("complex64", complex(math.nan, 1.0)),
            ("complex128", complex(math.inf, -math.inf)), ("complex64", complex(math.nan, math.nan)),
        ]  # fmt: skip
        for k, (dtype, fill) in enumerate(specials):
            if k % 2 == 0:
                shape, chunks = PLAIN_SHAPES[1]
                specs.append(_v3(writer, "fill", dtype, "zstd", fill, shape, chunks))
            else:
                shape, shards, inner = SHARD_SHAPES[1]
                specs.append(_v3(writer, "fill", dtype, "raw", fill, shape, inner, shards))
        # Chunk key encodings other than the default "c/1/2": default with ".", and v2 with either separator.
        for k, key in enumerate([("default", "."), ("v2", "."), ("v2", "/")]):
            shape, chunks = PLAIN_SHAPES[[0, 1, 3][k]]  # multi-dimensional: the separator shows
            specs.append(_v3(writer, "keys", "uint16", "zstd", 9, shape, chunks, key=key))
            shape, shards, inner = SHARD_SHAPES[[0, 1, 0][k]]
            specs.append(_v3(writer, "keys", "float32", "zstd", 9.5, shape, inner, shards, key=key))
        # A 0-d array.
        specs.append(_v3(writer, "scalar", "float64", "zstd", 1.5, (), ()))
        # v2: every compressor in C order with "." and F order with "/" (zstd and none: all four); dtypes, byte
        # orders and fill values cycle.
        k = 0
        for comp in V2_COMPRESSORS:
            for order, sep in (("C", "."), ("F", "/"), ("C", "/"), ("F", ".")):
                if (order, sep) in (("C", "/"), ("F", ".")) and comp[0] not in ("zstd", "none"):
                    continue
                dtype = DTYPES[k % len(DTYPES)]
                fills = [None, *fill_values(dtype)[1:]]
                shape, chunks = PLAIN_SHAPES[k % len(PLAIN_SHAPES)]
                specs.append(_v2(writer, "comp", _v2_dtype(dtype, k), comp, fills[k % len(fills)], order, sep, shape, chunks))
                k += 1
        # v2: the multi-byte dtypes in the byte order the compressor sweep did not give them.
        for j, dtype in enumerate(DTYPES):
            if np.dtype(dtype).itemsize == 1:
                continue
            shape, chunks = PLAIN_SHAPES[j % len(PLAIN_SHAPES)]
            fills = [None, *fill_values(dtype)[1:]]
            specs.append(_v2(writer, "dtype", _v2_dtype(dtype, j + 1), V2_COMPRESSORS[3], fills[j % len(fills)], "F" if j % 2 else "C", "/" if j % 3 else ".", shape, chunks))
    ids = [s.id for s in specs]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, dupes
    return specs


MATRIX = build_matrix()


# ---- random selections ----------------------------------------------------------------------------------------------


def _random_int(rng: np.random.Generator, n: int) -> int:
    i = int(rng.integers(0, n))
    return i - n if rng.random() < 0.3 else i


def _random_slice(rng: np.random.Generator, n: int) -> slice:
    r = rng.random()
    if r < 0.15:
        return slice(None)
    a, b = sorted(int(x) for x in rng.integers(0, n + 1, 2))
    step = int(rng.choice([1, 1, 1, 2, 3, 5]))
    start: Optional[int] = a - n if rng.random() < 0.2 else a
    stop: Optional[int] = b - n if (rng.random() < 0.2 and b < n) else b
    if rng.random() < 0.1:
        start = None
    if rng.random() < 0.1:
        stop = None
    return slice(start, stop, None if step == 1 and rng.random() < 0.5 else step)


def random_basic(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    if not shape:
        return () if rng.random() < 0.5 else (Ellipsis,)
    key: list[Any] = []
    for n in shape:
        key.append(_random_int(rng, n) if rng.random() < 0.25 else _random_slice(rng, n))
    if len(shape) > 1 and rng.random() < 0.25:  # an Ellipsis standing for some dimensions
        i = int(rng.integers(0, len(key)))
        j = int(rng.integers(i, len(key) + 1))
        key[i:j] = [Ellipsis]
    return tuple(key)


def random_orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    if not shape:
        return ()
    key: list[Any] = []
    for n in shape:
        r = rng.random()
        if r < 0.35:  # unsorted integer list with repeats and negative indices
            idx = rng.integers(-n, n, int(rng.integers(1, 6)))
            key.append(list(map(int, idx)) if rng.random() < 0.5 else idx)
        elif r < 0.55:
            key.append(rng.random(n) < 0.4)
        elif r < 0.65:
            key.append(_random_int(rng, n))
        else:
            key.append(_random_slice(rng, n))
    return tuple(key)
