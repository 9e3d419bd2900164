"""GRIB2 test files made from the ecCodes sample templates (offline, libeccodes-data).

Each message is the sample GRIB2.tmpl re-encoded with a realistic field (smooth
function plus noise) on a regular lat/lon grid, in the requested packing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

import eccodes
import numpy as np

SAMPLES = "/usr/share/eccodes/samples"
TEMPLATE = os.path.join(SAMPLES, "GRIB2.tmpl")
XARRAY_EXAMPLE = None
try:  # xarray's shipped example.grib (24 messages), when the wheel has it
    import xarray

    _p = Path(xarray.__file__).parent / "tests" / "data" / "example.grib"
    XARRAY_EXAMPLE = str(_p) if _p.exists() else None
except ImportError:  # pragma: no cover
    pass

# shortName -> (discipline, parameterCategory, parameterNumber) in GRIB2 table 4.2
PARAMS = {"t": (0, 0, 0), "u": (0, 2, 2), "v": (0, 2, 3), "gh": (0, 3, 5)}


def field(nj: int, ni: int, seed: int, scale: float = 20.0, offset: float = 273.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = np.linspace(90, -90, nj)[:, None]
    lon = np.linspace(0, 360, ni, endpoint=False)[None, :]
    f = offset + scale * np.cos(np.radians(lat)) * np.sin(np.radians(lon) * 2 + seed) + rng.normal(0, 0.5, (nj, ni))
    return f.astype(np.float64)


def message(
    short_name: str = "t",
    level: int = 850,
    step: int = 0,
    *,
    type_of_level: str = "isobaricInhPa",
    packing: str = "grid_simple",
    nj: int = 181,
    ni: int = 360,
    date: int = 20240101,
    time: int = 0,
    seed: int = 0,
    missing: Optional[np.ndarray] = None,
    values: Optional[np.ndarray] = None,
) -> bytes:
    """One GRIB2 message (bytes) on a global regular lat/lon grid of nj x ni points."""
    with open(TEMPLATE, "rb") as f:
        h = eccodes.codes_grib_new_from_file(f)
    try:
        d, c, n = PARAMS[short_name]
        eccodes.codes_set(h, "discipline", d)
        eccodes.codes_set(h, "parameterCategory", c)
        eccodes.codes_set(h, "parameterNumber", n)
        eccodes.codes_set(h, "typeOfLevel", type_of_level)
        if type_of_level != "surface":
            eccodes.codes_set(h, "level", level)
        eccodes.codes_set(h, "dataDate", date)
        eccodes.codes_set(h, "dataTime", time)
        eccodes.codes_set(h, "stepUnits", 1)
        eccodes.codes_set(h, "forecastTime", step)
        eccodes.codes_set(h, "Ni", ni)
        eccodes.codes_set(h, "Nj", nj)
        eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", 90.0)
        eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", 0.0)
        eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", -90.0)
        eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / ni)
        eccodes.codes_set(h, "iDirectionIncrementInDegrees", 360.0 / ni)
        eccodes.codes_set(h, "jDirectionIncrementInDegrees", 180.0 / (nj - 1))
        v = field(nj, ni, seed) if values is None else np.asarray(values, dtype=np.float64)
        v = v.reshape(-1).copy()
        if missing is not None:
            eccodes.codes_set(h, "bitmapPresent", 1)
            eccodes.codes_set(h, "missingValue", 9999.0)
            v[np.asarray(missing).reshape(-1)] = 9999.0
        if packing == "grid_ieee":
            eccodes.codes_set(h, "packingType", packing)
            eccodes.codes_set(h, "precision", 2)  # 64-bit
        elif packing in ("grid_jpeg", "grid_png"):
            # Set after the values: switching the template's own values (another grid size) to these packings
            # first makes ecCodes complain that width x height != number of values.
            eccodes.codes_set(h, "bitsPerValue", 16)
            eccodes.codes_set_values(h, v)
            eccodes.codes_set(h, "packingType", packing)
        else:
            eccodes.codes_set(h, "bitsPerValue", 16)
            eccodes.codes_set(h, "packingType", packing)
        if packing not in ("grid_jpeg", "grid_png"):
            eccodes.codes_set_values(h, v)
        return bytes(eccodes.codes_get_message(h))
    finally:
        eccodes.codes_release(h)


def write(path: str | os.PathLike[str], messages: Iterable[bytes]) -> str:
    with open(path, "wb") as f:
        for m in messages:
            f.write(m)
    return str(path)


def wgrib2_idx(msgs: list[bytes], offsets: list[int]) -> str:
    """A wgrib2-style inventory: one line per field, "n.m" for the fields of a multi-field message."""
    lines = []
    for n, (m, off) in enumerate(zip(msgs, offsets), 1):
        nf = sum(1 for num, _ in sections(m) if num == 7)
        for k in range(nf):
            num = f"{n}.{k + 1}" if nf > 1 else str(n)
            lines.append(f"{num}:{off}:d=2024010100:TMP:850 mb:anl:")
    return "\n".join(lines) + "\n"


def ecmwf_index(msgs: list[bytes], offsets: list[int]) -> str:
    return "".join(json.dumps({"domain": "g", "date": "20240101", "time": "0000", "step": "0", "levtype": "pl",
                               "param": "t", "_offset": off, "_length": len(m)}) + "\n"
                   for m, off in zip(msgs, offsets))  # fmt: skip


def cube(
    short_names: Sequence[str] = ("t", "u"),
    levels: Sequence[int] = (500, 850, 1000),
    steps: Sequence[int] = (0, 6),
    packing: str = "grid_simple",
    nj: int = 181,
    ni: int = 360,
) -> list[bytes]:
    """Messages for every shortName x level x step (seeded so each field differs)."""
    out = []
    seed = 0
    for s in short_names:
        for st in steps:
            for lv in levels:
                out.append(message(s, lv, st, packing=packing, nj=nj, ni=ni, seed=seed))
                seed += 1
    return out


def decode(path: str) -> list[np.ndarray]:
    """ecCodes' own decode of every message of a file, missing values as NaN (reference values)."""
    out = []
    with open(path, "rb") as f:
        while True:
            h = eccodes.codes_grib_new_from_file(f)
            if h is None:
                break
            try:
                v = eccodes.codes_get_values(h).astype(np.float64)
                if eccodes.codes_get(h, "bitmapPresent"):
                    v[v == eccodes.codes_get(h, "missingValue")] = np.nan
                out.append(v)
            finally:
                eccodes.codes_release(h)
    return out


def sections(msg: bytes) -> list[tuple[int, bytes]]:
    """(number, bytes) of sections 1-7 of a single-field message."""
    out, s = [], 16
    while msg[s : s + 4] != b"7777":
        n = int.from_bytes(msg[s : s + 4], "big")
        out.append((msg[s + 4], msg[s : s + n]))
        s += n
    return out


def multi_field(first: bytes, *others: bytes) -> bytes:
    """A multi-field message: `first` whole, then sections 4-7 of each other message (same grid)."""
    body = b"".join(b for _, b in sections(first))
    for o in others:
        body += b"".join(b for n, b in sections(o) if n >= 4)
    total = 16 + len(body) + 4
    return first[:8] + total.to_bytes(8, "big") + body + b"7777"


# Grids other than regular lat/lon: ecCodes sample templates (GRIB2), and a Lambert conformal grid set on GRIB2.tmpl.
GRID_TEMPLATES = {
    "regular_gg": "regular_gg_pl_grib2.tmpl",
    "reduced_gg": "reduced_gg_pl_32_grib2.tmpl",
    "rotated_ll": "rotated_ll_sfc_grib2.tmpl",
    "polar_stereographic": "polar_stereographic_sfc_grib2.tmpl",
    "lambert": "GRIB2.tmpl",
    "sh": "sh_sfc_grib2.tmpl",  # spherical harmonics: ecCodes has no latitudes/longitudes
}
_LAMBERT = [("gridType", "lambert"), ("Nx", 40), ("Ny", 30), ("latitudeOfFirstGridPointInDegrees", 20.0),
            ("longitudeOfFirstGridPointInDegrees", 250.0), ("LaDInDegrees", 40.0), ("LoVInDegrees", 265.0),
            ("Latin1InDegrees", 40.0), ("Latin2InDegrees", 40.0), ("DxInMetres", 30000), ("DyInMetres", 30000)]  # fmt: skip


def grid_message(grid: str, short_name: str = "t", level: int = 850, step: int = 0, *, seed: int = 0,
                 packing: str = "grid_simple") -> bytes:  # fmt: skip
    """One GRIB2 message on the ecCodes sample grid `grid` (a key of GRID_TEMPLATES), with a field that varies
    with the points' latitude and longitude (as ecCodes computes them) and the seed."""
    with open(os.path.join(SAMPLES, GRID_TEMPLATES[grid]), "rb") as f:
        h = eccodes.codes_grib_new_from_file(f)
    try:
        if grid == "lambert":
            for k, v in _LAMBERT:
                eccodes.codes_set(h, k, v)
            eccodes.codes_set_values(h, np.zeros(40 * 30))  # the point count follows the values
        d, c, n = PARAMS[short_name]
        eccodes.codes_set(h, "discipline", d)
        eccodes.codes_set(h, "parameterCategory", c)
        eccodes.codes_set(h, "parameterNumber", n)
        eccodes.codes_set(h, "typeOfLevel", "isobaricInhPa")
        eccodes.codes_set(h, "level", level)
        eccodes.codes_set(h, "dataDate", 20240101)
        eccodes.codes_set(h, "dataTime", 0)
        eccodes.codes_set(h, "stepUnits", 1)
        eccodes.codes_set(h, "forecastTime", step)
        npts = eccodes.codes_get(h, "numberOfValues" if grid == "sh" else "numberOfDataPoints")
        rng = np.random.default_rng(seed)
        if grid == "sh":
            v = rng.normal(0, 1, npts)
        else:
            lat = eccodes.codes_get_array(h, "latitudes")
            lon = eccodes.codes_get_array(h, "longitudes")
            v = 273 + 20 * np.cos(np.radians(lat)) * np.sin(np.radians(lon) * 2 + seed) + rng.normal(0, 0.5, npts)
            eccodes.codes_set(h, "bitsPerValue", 16)
            eccodes.codes_set(h, "packingType", packing)
        eccodes.codes_set_values(h, v)
        return bytes(eccodes.codes_get_message(h))
    finally:
        eccodes.codes_release(h)
