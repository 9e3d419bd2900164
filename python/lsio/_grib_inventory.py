"""Inventories beside GRIB files: NOAA's wgrib2 ``FILE.idx`` and ECMWF's ``.index``, read through the Store.

An inventory gives where each message is, so lsio.grib.index skips the section-0 walk (one dependent read
after another in each file) and reads the headers of every message of every file in one batch.

- wgrib2 (NOAA GFS, HRRR, ...): ``FILE.idx``, lines ``n:offset:d=YYYYMMDDHH:VAR:LEVEL:FCST:`` (``n.m`` for the
  fields of a multi-field message, at the same offset). Message n ends where the next offset starts, the last
  one at the end of the file.
- ECMWF (open data): ``FILE.index`` or, for ``x.grib2``, ``x.index``: one JSON object per line with
  ``_offset`` and ``_length`` (and param, levtype, step, ... which lsio does not need: the keys are read from
  the messages themselves, so both kinds give exactly the index a walk gives).

Which inventory kind a file is, is told by its content (JSON lines or not), not by its name. An inventory is
checked against the file: its messages must cover the file to its last byte (a file that grew or shrank since
the inventory was written is caught), and each must start with "GRIB" and have the length section 0 gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    from . import Store

_GRIB_SUFFIXES = (".grib2", ".grib", ".grb2", ".grb")
_WGRIB2_NUMBER = re.compile(r"^\d+(\.\d+)?$")


class GribInventoryError(ValueError):
    """An inventory beside a GRIB file that cannot be read or disagrees with the file, or (with
    ``inventories="require"``) a file without one; the message names the inventory, the line and the offset."""


@dataclass(frozen=True)
class Span:
    offset: int
    length: int
    line: int  # 1-based line of the inventory that gives this message


@dataclass(frozen=True)
class Inventory:
    key: str  # the inventory's store key
    name: str  # how errors name it (the full path or URL)
    kind: str  # "wgrib2" or "ecmwf"
    starts: tuple[tuple[int, int, Optional[int]], ...]  # (offset, line, length or None), by offset, one per message

    def spans(self, size: int) -> list[Span]:
        """Each message's (offset, length), checked against the file's size."""
        out: list[Span] = []
        for i, (offset, line, length) in enumerate(self.starts):
            nxt = self.starts[i + 1][0] if i + 1 < len(self.starts) else size
            if length is None:  # wgrib2: up to the next message
                length = nxt - offset
            elif offset + length > nxt:
                what = "the next message" if i + 1 < len(self.starts) else f"the end of the file ({size} bytes)"
                raise self.error(line, offset, f"the message ({length} bytes) runs past {what}")
            if offset >= size:
                raise self.error(line, offset, f"the file has only {size} bytes (it changed since the inventory?)")
            out.append(Span(offset, length, line))
        if out and out[-1].offset + out[-1].length != size:
            last = out[-1]
            raise self.error(last.line, last.offset,
                             f"the inventory's messages end at byte {last.offset + last.length}, the file has "
                             f"{size} bytes (it changed since the inventory?)")  # fmt: skip
        return out

    def error(self, line: int, offset: Optional[int], why: str) -> GribInventoryError:
        at = f" offset {offset}:" if offset is not None else ""
        return GribInventoryError(f"GRIB inventory {self.name}: line {line}:{at} {why}")


def candidates(key: str) -> list[str]:
    """Inventory keys to look for beside a GRIB file: FILE.idx, FILE.index, and STEM.index for STEM.grib2."""
    out = [key + ".idx", key + ".index"]
    low = key.lower()
    for suffix in _GRIB_SUFFIXES:
        if low.endswith(suffix):
            out.append(key[: -len(suffix)] + ".index")
            break
    return out


def parse(key: str, name: str, text: str) -> Inventory:
    """An inventory from its text; GribInventoryError (naming ``name`` and the line) when it is not one."""
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    kind = "ecmwf" if first.lstrip().startswith("{") else "wgrib2"
    inv = Inventory(key, name, kind, ())
    starts: dict[int, tuple[int, int, Optional[int]]] = {}
    for n, raw in enumerate(lines, 1):
        ln = raw.strip()
        if not ln:
            continue
        offset, length = _parse_ecmwf(inv, n, ln) if kind == "ecmwf" else (_parse_wgrib2(inv, n, ln), None)
        seen = starts.get(offset)
        if seen is None:
            starts[offset] = (offset, n, length)
        elif kind == "ecmwf" and seen[2] != length:
            raise inv.error(n, offset, f"a second message at this offset with another length ({length}, "
                                       f"line {seen[1]} says {seen[2]})")  # fmt: skip
    if not starts:
        raise inv.error(1, None, "no messages in the inventory")
    return Inventory(key, name, kind, tuple(starts[o] for o in sorted(starts)))


def _parse_wgrib2(inv: Inventory, n: int, ln: str) -> int:
    parts = ln.split(":")
    if len(parts) < 3 or not _WGRIB2_NUMBER.match(parts[0]) or not parts[1].isdigit():
        raise inv.error(n, None, f"not a wgrib2 inventory line (n:offset:d=...): {ln[:80]!r}")
    return int(parts[1])


def _parse_ecmwf(inv: Inventory, n: int, ln: str) -> tuple[int, int]:
    try:
        doc = json.loads(ln)
    except ValueError as e:
        raise inv.error(n, None, f"not a JSON line of an ECMWF index ({e})") from None
    offset, length = (doc.get("_offset"), doc.get("_length")) if isinstance(doc, dict) else (None, None)
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length <= 0:
        raise inv.error(n, None, "an ECMWF index line needs integer _offset and _length")
    return offset, length


def find(store: Store, keys: Sequence[str], name_of: "NameOf", timeout: Optional[float]) -> list[
        Union[Inventory, GribInventoryError, None]]:  # fmt: skip
    """The inventory of each GRIB file (its first candidate that exists), an GribInventoryError for one that cannot be
    parsed, or None (no inventory). All candidates are read in one batch."""
    cands = [candidates(k) for k in keys]
    flat = [c for cs in cands for c in cs]
    got = store.read_ranges(flat, [0] * len(flat), None, on_error="return", timeout=timeout)
    out: list[Union[Inventory, GribInventoryError, None]] = []
    i = 0
    for cs in cands:
        found: Union[Inventory, GribInventoryError, None] = None
        for c in cs:
            data = got[i]
            i += 1
            if found is not None:
                continue
            if isinstance(data, FileNotFoundError):
                continue
            if isinstance(data, Exception):
                found = GribInventoryError(f"GRIB inventory {name_of(c)}: cannot be read: {data}")
                continue
            try:
                found = parse(c, name_of(c), bytes(data).decode("utf-8"))
            except UnicodeDecodeError:
                found = GribInventoryError(f"GRIB inventory {name_of(c)}: not a text file (not an inventory)")
            except GribInventoryError as e:
                found = e
        out.append(found)
    return out


if TYPE_CHECKING:
    from collections.abc import Callable

    NameOf = Callable[[str], str]
