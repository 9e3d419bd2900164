"""The ``lsio`` command: look at, summarise and copy Zarr arrays (local paths, file://, s3://, http(s):// URLs).

    lsio info URL [--json]
    lsio stats URL [--axis 0] [--skipna] [--json]
    lsio copy SRC DST [--chunks 1,721,1440] [--shards 24,721,1440] [--codec zstd:3] [--format 3]
                      [--max-memory 4GiB] [--temp-store DIR] [--overwrite | --resume] [--json]
    lsio grib index FILES... -o idx.json        (see lsio.grib_cli)
    lsio grib2zarr FILES... -o out.zarr

Exit status: 0 on success, 1 on an error (one line on stderr: "lsio: error: ..."), 2 on a usage error, 130 when
interrupted (Ctrl-C stops the reads in flight, then exits; a stopped copy continues with --resume).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument value found after parsing (exit status 2)."""


def _shape(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _axes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an axis or comma-separated axes, got {text!r}") from None


def parse_codec(text: str) -> list[dict[str, Any]]:
    """'zstd[:level]', 'gzip[:level]' or 'none': the compressors argument of lsio.zarr.copy."""
    name, _, level = text.partition(":")
    name = name.lower()
    if name in ("none", "raw"):
        if level:
            raise argparse.ArgumentTypeError(f"codec {name} takes no level: {text!r}")
        return []
    if name not in ("zstd", "gzip"):
        raise argparse.ArgumentTypeError(f"unknown codec {text!r} (zstd[:level], gzip[:level] or none)")
    try:
        lvl = int(level) if level else (3 if name == "zstd" else 5)
    except ValueError:
        raise argparse.ArgumentTypeError(f"codec level must be an integer: {text!r}") from None
    return [{"name": name, "configuration": {"level": lvl}}]


def _json_value(v: Any) -> Any:
    """numpy values as JSON (NaN and infinities as null)."""
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()] if v.ndim else _json_value(v[()])
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class _NoProgress:
    """Stands in for rich.progress.Progress when rich is not installed (pip install lsio[cli])."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        return 0

    def update(self, task: int, completed: int, total: Optional[int] = None) -> None:
        return None


def _progress(enabled: bool) -> Any:
    try:
        import rich  # noqa: F401
    except ImportError:
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_console(),
        disable=not enabled or not sys.stderr.isatty(),
        transient=True,
    )


def _open_array(url: str) -> Any:
    import lsio.zarr

    node = lsio.zarr.open(url, mode="r")
    if not isinstance(node, lsio.zarr.Array):
        raise UsageError(f"{url} is a group, not an array (members: {', '.join(sorted(node)) or 'none'})")
    return node


# ---- commands --------------------------------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    import lsio.zarr

    node = lsio.zarr.open(args.url, mode="r")
    if isinstance(node, lsio.zarr.Group):
        members = {name: ("group" if isinstance(m, lsio.zarr.Group) else "array") for name, m in node.members()}
        info: dict[str, Any] = {"url": args.url, "node_type": "group", "zarr_format": node.zarr_format,
                                "attributes": node.attrs, "members": members}  # fmt: skip
    else:
        a = node
        info = {
            "url": args.url,
            "node_type": "array",
            "zarr_format": a.zarr_format,
            "shape": list(a.shape),
            "dtype": str(a.dtype),
            "chunks": list(a.chunks),
            "shards": list(a.shards) if a.shards else None,
            "fill_value": _json_value(a.fill_value),
            "nbytes": a.nbytes,
            "dimension_names": list(a.dimension_names) if a.dimension_names else None,
            "attributes": a.attrs,
            "metadata": a.metadata,
        }
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key, value in info.items():
        if key == "metadata":
            continue
        if key == "nbytes":
            value = f"{value} ({_size(value)})"
        print(f"{key:16} {value}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    a = _open_array(args.url)
    axis: Optional[tuple[int, ...]] = args.axis
    start = time.perf_counter()
    with _progress(args.progress) as bar:
        task = bar.add_task("stats", total=a.nbytes)
        st = a.reduce_stats(axis, progress=lambda done, total: bar.update(task, completed=done))
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"url": args.url, "axis": list(axis) if axis is not None else None,
                           "shape": list(st.shape), "count": st.count, "nan_count": st.nan_count}  # fmt: skip
    skipna = args.skipna
    if st.count.size and (st.count + st.nan_count).min() > 0:
        out["min"] = st.min_(skipna)
        out["max"] = st.max_(skipna)
    else:
        out["min"] = out["max"] = None
    out["mean"] = st.mean_(skipna, np.float64)
    out["std"] = st.std_(skipna, np.float64)
    out["sum"] = st.sum_(skipna, None if st.int_sum is not None else np.float64)
    out["seconds"] = round(seconds, 3)
    out["gb_per_s"] = round(a.nbytes / seconds / 1e9, 3) if seconds > 0 else None
    if args.json:
        print(json.dumps({k: _json_value(v) for k, v in out.items()}, indent=2))
        return 0
    for key in ("count", "nan_count", "min", "max", "mean", "std", "sum"):
        value = _json_value(out[key])
        print(f"{key:10} {value}")
    print(f"{'read':10} {_size(a.nbytes)} in {seconds:.2f} s", file=sys.stderr)
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    import lsio.zarr

    a = _open_array(args.src)
    kw: dict[str, Any] = {}
    if args.chunks is not None:
        kw["chunks"] = args.chunks
        kw["shards"] = args.shards  # None: unsharded
    elif args.shards is not None:
        raise UsageError("--shards needs --chunks (the inner chunk shape)")
    for name, value in (("chunks", args.chunks), ("shards", args.shards)):
        if value is not None and len(value) != len(a.shape):
            raise UsageError(f"--{name} has {len(value)} values, the array has {len(a.shape)} dimensions")
    if args.codec is not None:
        kw["compressors"] = args.codec
    if args.format is not None:
        kw["zarr_format"] = args.format
    start = time.perf_counter()
    with _progress(args.progress) as bar:
        task = bar.add_task("copy", total=a.nbytes)
        out = lsio.zarr.copy(
            a,
            args.dst,
            max_memory=args.max_memory,
            overwrite=args.overwrite,
            resume=args.resume,
            temp_store=args.temp_store,
            progress=lambda done, total: bar.update(task, completed=done, total=total),  # a two-pass copy: 2x
            **kw,
        )
    seconds = time.perf_counter() - start
    result = {
        "src": args.src,
        "dst": args.dst,
        "shape": list(out.shape),
        "dtype": str(out.dtype),
        "chunks": list(out.chunks),
        "shards": list(out.shards) if out.shards else None,
        "zarr_format": out.zarr_format,
        "nbytes": out.nbytes,
        "seconds": round(seconds, 3),
        "gb_per_s": round(out.nbytes / seconds / 1e9, 3) if seconds > 0 else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"copied {_size(out.nbytes)} to {args.dst} in {seconds:.2f} s "
              f"(chunks {tuple(out.chunks)}, shards {out.shards})")  # fmt: skip
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    import lsio

    def log(msg: str) -> None:
        if args.progress:
            print(f"lsio tune: {msg}", file=sys.stderr)

    profile = lsio.tune(args.url, quick=args.quick, save=args.save, preset=args.preset, probe_key=args.probe_key,
                        log=log)  # fmt: skip
    if args.json:
        print(json.dumps(profile.to_dict(), indent=2))
        return 0
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(profile.explain())
        return 0
    from lsio._tune import _show

    table = Table(title=f"{profile.target}: {profile.source} profile for {profile.key}")
    table.add_column("setting")
    table.add_column("chosen", justify="right")
    table.add_column("why (measured)")
    for name, value in profile.settings.items():
        table.add_row(name, _show(name, value), profile.reasons.get(name, ""))
    Console().print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lsio", description="Look at, summarise and copy Zarr arrays; index and "
                                "convert GRIB2 files with LSIO.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        sp.add_argument("--no-progress", dest="progress", action="store_false", help="no progress display")

    info = sub.add_parser("info", help="shape, dtype, chunks, codecs and attributes of an array or group")
    info.add_argument("url", help="a local path or a file://, s3://, http(s):// URL")
    common(info)
    info.set_defaults(fn=cmd_info)

    stats = sub.add_parser("stats", help="count, NaN count, min, max, mean, std and sum, in one streamed pass")
    stats.add_argument("url")
    stats.add_argument("--axis", type=_axes, default=None, help="reduce over these axes only (e.g. 0 or 1,2)")
    stats.add_argument("--skipna", action="store_true", help="leave NaN out (numpy's nanmean...)")
    common(stats)
    stats.set_defaults(fn=cmd_stats)

    cp = sub.add_parser("copy", help="copy an array into a new one with other chunks, shards, codec or format")
    cp.add_argument("src")
    cp.add_argument("dst")
    cp.add_argument("--chunks", type=_shape, help="chunk shape (inner chunks when sharded), e.g. 1,721,1440")
    cp.add_argument("--shards", type=_shape, help="shard shape, e.g. 24,721,1440 (needs --chunks)")
    cp.add_argument("--codec", type=parse_codec, help="zstd[:level] (default zstd:3), gzip[:level] or none")
    cp.add_argument("--format", type=int, choices=(2, 3), help="Zarr format of the copy (default: the source's)")
    cp.add_argument("--max-memory", default="4GiB", help="memory budget (default 4GiB)")
    cp.add_argument("--temp-store", help="where shards larger than a third of --max-memory are staged (path or "
                    "URL; default: a hidden prefix in the destination, removed afterwards)")  # fmt: skip
    mode = cp.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    mode.add_argument("--resume", action="store_true", help="continue a stopped copy, skipping stored shards")
    common(cp)
    cp.set_defaults(fn=cmd_copy)
    tn = sub.add_parser("tune", help="measure a storage and save the settings lsio.open applies to it")
    tn.add_argument("url", help="a directory (a scratch file is written there and removed), s3://bucket/prefix, "
                    "or an http(s):// URL of an existing object")  # fmt: skip
    tn.add_argument("--preset", choices=("nvme", "hdd", "s3", "http"), help="nominal settings, without probing")
    tn.add_argument("--quick", action="store_true", help="probe for about a second (smaller scratch file)")
    tn.add_argument("--probe-key", help="an existing file or object to probe instead of writing a scratch one (HTTP, read-only folders)")
    tn.add_argument("--no-save", dest="save", action="store_false",
                    help="print the choice only (default: save to $LSIO_TUNE_PROFILE or ~/.config/lsio/tune.json)")
    common(tn)
    tn.set_defaults(fn=cmd_tune)
    from lsio.grib_cli import add_grib_commands

    add_grib_commands(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on usage errors
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        print("lsio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as e:
        parser.print_usage(sys.stderr)
        print(f"lsio: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # `lsio info ... | head`: not an error worth a message
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001  (one line for the shell user, not a traceback)
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"lsio: error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
