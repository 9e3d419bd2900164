"""The GRIB2 subcommands of the ``lsio`` command (see lsio.cli):

    lsio grib index FILES... -o idx.json [--root DIR] [--strict] [--inventories auto|ignore|require]
    lsio grib2zarr FILES... -o out.zarr [--chunks dim=n,...] [--shards dim=n,...] [--zstd LEVEL] [--float64]
                   [--overwrite | --resume]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any, Optional


def _dims(text: Optional[str]) -> Optional[dict[str, int]]:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if not value:
            raise argparse.ArgumentTypeError(f"expected dim=size, got {part!r}")
        out[name.strip()] = int(value)
    return out


def cmd_grib_index(args: argparse.Namespace) -> int:
    from lsio import grib as lg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lg.GribWarning)
        idx = lg.index(args.files, skip_garbage=not args.strict, inventories=args.inventories)
    for w in idx.warnings:
        print(f"warning: {w}", file=sys.stderr)
    idx.to_json(args.output, root=args.root)
    print(f"{len(idx)} messages in {len(set(r.path for r in idx))} files -> {args.output}")
    return 0


def cmd_grib2zarr(args: argparse.Namespace) -> int:
    from lsio import grib as lg

    compressors = None if args.zstd is None else [{"name": "zstd", "configuration": {"level": args.zstd}}]
    idx = lg.index(args.files)
    lg.to_zarr(idx, args.output, chunks=args.chunks, shards=args.shards, compressors=compressors,
               dtype="float64" if args.float64 else "float32", overwrite=args.overwrite, resume=args.resume)  # fmt: skip
    print(f"{len(idx)} messages -> {args.output}")
    return 0


def add_grib_commands(sub: Any) -> None:
    """Adds `grib index` and `grib2zarr` to the lsio command's subparsers."""
    grib = sub.add_parser("grib", help="GRIB2 files").add_subparsers(dest="grib_command", required=True)
    ix = grib.add_parser("index", help="index GRIB2 files (no values decoded) into a portable JSON index")
    ix.add_argument("files", nargs="+")
    ix.add_argument("-o", "--output", required=True, help="the JSON index to write")
    ix.add_argument("--root", help="paths in the index are relative to this (default: the JSON file's directory)")
    ix.add_argument("--strict", action="store_true", help="refuse bytes between messages instead of skipping them")
    ix.add_argument("--inventories", choices=("auto", "ignore", "require"), default="auto",
                    help="use wgrib2 FILE.idx / ECMWF .index inventories beside the files (default: auto)")
    ix.set_defaults(fn=cmd_grib_index)
    gz = sub.add_parser("grib2zarr", help="convert GRIB2 files to a Zarr v3 group")
    gz.add_argument("files", nargs="+")
    gz.add_argument("-o", "--output", required=True)
    gz.add_argument("--chunks", type=_dims, help="dim=size,... (leading dims default 1, lat/lon whole)")
    gz.add_argument("--shards", type=_dims, help="dim=size,... (default: unsharded)")
    gz.add_argument("--zstd", type=int, default=None, help="zstd level (default: lsio.zarr's default codecs)")
    gz.add_argument("--float64", action="store_true", help="write float64 (default float32)")
    once = gz.add_mutually_exclusive_group()
    once.add_argument("--overwrite", action="store_true", help="replace the arrays already there")
    once.add_argument("--resume", action="store_true",
                      help="continue a stopped conversion: shards already stored whole are skipped")
    gz.set_defaults(fn=cmd_grib2zarr)
