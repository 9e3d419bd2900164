"""lsio.tune / `lsio tune`: choices on local files and on a slow HTTP server (the fault server's latency mode),
saved profiles applied by lsio.open (explicit keywords win, tune=False ignores), presets, a corrupt profile file.
No timing asserts beyond orderings that hold by a wide margin (50 ms of latency against none)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lsio
from lsio._tune import FILE_SETTINGS, REMOTE_SETTINGS, TuneProfile, _remote_byte_budget, storage_key
from remote_servers import S3Bucket
from tests.servers.launch import FaultServer

MiB = 1 << 20


@pytest.fixture
def profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cfg" / "tune.json"
    monkeypatch.setenv("LSIO_TUNE_PROFILE", str(path))
    yield path


@pytest.fixture(scope="module")
def local_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TuneProfile]:
    root = tmp_path_factory.mktemp("tune-local")
    return root, lsio.tune(root, quick=True, save=False)


def test_local_quick_probe_chooses_every_file_setting_and_cleans_up(local_profile: tuple[Path, TuneProfile]) -> None:
    root, p = local_profile
    assert p.kind == "file" and p.source == "measured" and p.key == storage_key(str(root))
    assert set(p.settings) == set(FILE_SETTINGS) and set(p.reasons) >= set(FILE_SETTINGS)
    s = p.settings
    assert s["engine"] in ("uring", "posix") and s["queue_depth"] in (1, 4, 16, 64, 128)
    assert s["part_size"] >= MiB and s["max_merged"] >= max(16 * MiB, s["part_size"])
    assert s["coalesce_gap"] == 0 or s["coalesce_gap"] & (s["coalesce_gap"] - 1) == 0  # a power of two
    m = p.measurements
    assert isinstance(m["o_direct"], bool) and m["latency_hot_s"] > 0
    if m["o_direct"]:
        assert m["latency_device_s"] > 0
        # O_DIRECT only where it beats buffered reads of a cold file (dropped with fadvise) by 10%
        cold, direct = m["bandwidth_by_size_cold_buffered"], m["bandwidth_by_size_device"]
        wins = [int(k) for k in cold if direct[k] >= 1.1 * cold[k]]
        assert s["direct_threshold"] == (min(wins) if wins else 0)
        assert "cold buffered" in p.reasons["direct_threshold"]
    else:
        assert s["direct_threshold"] == 0
    by_budget = {int(k): v for k, v in m["bandwidth_by_inflight_bytes_hot"].items()}
    assert sorted(by_budget) == [2 * MiB, 16 * MiB, 64 * MiB] and s["max_inflight_bytes"] in by_budget
    assert by_budget[s["max_inflight_bytes"]] >= 0.9 * max(by_budget.values())
    assert "reads/s" in p.reasons["engine"] and "/s" in p.reasons["coalesce_gap"]
    assert list(root.iterdir()) == []  # the scratch file is gone
    assert "queue_depth" in p.explain()


def test_saved_profile_is_applied_by_open_and_explicit_keywords_win(
    local_profile: tuple[Path, TuneProfile], profile_file: Path
) -> None:
    root, measured = local_profile
    # A profile unlike any default, so that applying it is visible.
    p = TuneProfile(key=measured.key, kind="file", source="measured", created="now", target=str(root),
                    settings={**measured.settings, "engine": "posix", "queue_depth": 7, "coalesce_gap": 8192,
                              "direct_threshold": 4 * MiB})  # fmt: skip
    from lsio._tune import save_profile

    assert save_profile(p) == profile_file
    (root / "f.bin").write_bytes(bytes(range(256)) * 64)
    store = lsio.open(root)
    assert store.options["queue_depth"] == 7 and store.options["coalesce_gap"] == 8192
    assert store.options["direct_threshold"] == 4 * MiB and store.engine.startswith("posix")
    assert store.option_sources["queue_depth"] == f"profile {p.key} ({profile_file})"
    assert bytes(store.read_ranges("f.bin", [0, 9000], [10, 9010])[1]) == (bytes(range(256)) * 64)[9000:9010]
    explicit = lsio.open(root, queue_depth=3, coalesce_gap=0)
    assert explicit.options["queue_depth"] == 3 and explicit.options["coalesce_gap"] == 0
    assert explicit.option_sources["queue_depth"] == "explicit" and explicit.options["engine"] == "posix"
    # A pickled store reopens with the settings it was opened with.
    assert pickle.loads(pickle.dumps(store)).options == store.options
    ignored = lsio.open(root, tune=False)
    assert ignored.options["queue_depth"] == 128 and "coalesce_gap" not in ignored.options
    assert set(ignored.option_sources.values()) == {"default"}
    # Another device has no profile (memory:// and "" are never tuned).
    assert lsio.open("memory://").option_sources == {}


def test_tune_saves_the_profile_keyed_by_device(tmp_path: Path, profile_file: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    p = lsio.tune(root, preset="nvme")
    saved = json.loads(profile_file.read_text())
    assert saved["version"] == 1 and saved["profiles"][p.key]["settings"] == p.settings
    assert p.key == f"file:dev={os.major(root.stat().st_dev)}:{os.minor(root.stat().st_dev)}"
    assert lsio.open(root / "not" / "made" / "yet").option_sources["queue_depth"].startswith("profile")


def test_presets_without_probing(tmp_path: Path) -> None:
    hdd = lsio.open(tmp_path, tune="hdd")
    assert hdd.options["coalesce_gap"] == MiB and hdd.options["queue_depth"] == 32
    assert hdd.option_sources["coalesce_gap"] == "preset hdd"
    nvme = lsio.tune(tmp_path, preset="nvme", save=False)
    assert nvme.settings["queue_depth"] == 128 and nvme.source == "preset nvme"
    s3 = lsio.tune("s3://bucket/prefix", preset="s3", save=False)
    assert set(s3.settings) <= set(REMOTE_SETTINGS) and s3.settings["coalesce_gap"] == MiB
    with pytest.raises(ValueError, match="remote stores"):
        lsio.open(tmp_path, tune="s3")
    with pytest.raises(ValueError, match="unknown tune preset 'ssd'"):
        lsio.open(tmp_path, tune="ssd")


def test_corrupt_profile_warns_on_open_and_refuses_to_be_overwritten(tmp_path: Path, profile_file: Path) -> None:
    profile_file.parent.mkdir(parents=True)
    profile_file.write_text("{not json")
    with pytest.warns(RuntimeWarning, match=f"{profile_file}.*corrupt"):
        store = lsio.open(tmp_path)
    assert store.options["queue_depth"] == 128  # opened without a profile
    with pytest.raises(ValueError, match=f"{profile_file} is corrupt"):
        lsio.tune(tmp_path, preset="hdd")
    assert profile_file.read_text() == "{not json"
    profile_file.write_text('{"version": 1, "profiles": {"x": 3}}')
    with pytest.warns(RuntimeWarning, match="corrupt: expected"):
        lsio.open(tmp_path)


@pytest.fixture(scope="module")
def slow_and_fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TuneProfile, TuneProfile]]:
    with FaultServer(tmp_path_factory.mktemp("tune-http")) as server:
        (server.root / "probe.bin").write_bytes(os.urandom(8 * MiB))
        fast = lsio.tune(server.url_for("ok", "probe.bin"), quick=True, save=False)
        slow = lsio.tune(server.url_for("latency:50", "probe.bin"), quick=True, save=False)
        yield fast, slow


def test_slow_server_gets_a_larger_gap_and_more_requests_in_flight(
    slow_and_fast: tuple[TuneProfile, TuneProfile],
) -> None:
    fast, slow = slow_and_fast
    assert fast.kind == slow.kind == "http" and set(slow.settings) == set(REMOTE_SETTINGS)
    assert slow.measurements["latency_s"] > 0.045 > fast.measurements["latency_s"]
    assert slow.settings["coalesce_gap"] > fast.settings["coalesce_gap"], (fast.reasons, slow.reasons)
    assert slow.settings["max_inflight"] > fast.settings["max_inflight"], (fast.reasons, slow.reasons)
    assert "latency x per-request bandwidth" in slow.reasons["coalesce_gap"]
    # Applied to an HTTP store of that server.
    store = lsio.open(slow.target.rsplit("/", 1)[0] + "/", tune=slow)
    assert store.options["coalesce_gap"] == slow.settings["coalesce_gap"]
    assert store.option_sources["max_inflight"].startswith("profile")


class _FakeLink:
    """A remote object whose part-sized GETs reach a bandwidth set per count in flight (the shape of a link
    that big responses share), for the byte-budget rule of the remote tuner; no network, no timing."""

    def __init__(self, size: int, bandwidth: dict[int, float]) -> None:
        self.size, self.bandwidth, self.asked = size, bandwidth, []

    def store_for(self, **settings: Any) -> dict[str, Any]:
        return settings

    def random_reads(self, store: dict[str, Any], n: int, length: int) -> float:
        self.asked.append((store["max_inflight"], n))
        assert store["part_size"] == length and store["coalesce_gap"] == 0 and n >= 2 * store["max_inflight"]
        return self.bandwidth[store["max_inflight"]] / length


def test_remote_byte_budget_is_the_most_parts_in_flight_that_keep_the_bandwidth() -> None:
    part = 1 * MiB
    link = _FakeLink(1 << 30, {1: 300e6, 2: 950e6, 4: 1000e6, 8: 920e6, 16: 700e6})  # flat from 2 to 8
    budget, why, seen = _remote_byte_budget(link, link.store_for, part, False, lambda _m: None)  # type: ignore[arg-type]
    assert budget == 8 * part and "8 x part size" in why and seen["16"] == 700_000_000
    assert [n for n, _ in link.asked] == [1, 2, 4, 8, 16]
    climbing = _FakeLink(1 << 30, {1: 1e8, 2: 2e8, 4: 4e8, 8: 8e8, 16: 16e8})  # a far link: more is better
    assert _remote_byte_budget(climbing, climbing.store_for, part, False, lambda _m: None)[0] == 0  # type: ignore[arg-type]
    tiny = _FakeLink(3 * MiB, {})  # two non-touching parts: nothing to compare
    budget, why, _ = _remote_byte_budget(tiny, tiny.store_for, part, True, lambda _m: None)  # type: ignore[arg-type]
    assert budget == 0 and "too few" in why and tiny.asked == []


def test_page_cache_probes_measure_the_page_cache(local_profile: tuple[Path, TuneProfile]) -> None:
    """The scratch file is written with O_DIRECT and the cold probe drops it: the hot probes after that must
    read it into the page cache first (not with O_DIRECT, as large reads of an uncached file go), or they
    measure the device. Page-cache hits are several times the device's bandwidth on any machine we run on."""
    _, p = local_profile
    m = p.measurements
    assert m["o_direct"], "this test needs O_DIRECT on the file system of the temporary folder"
    device = max(m["bandwidth_by_size_device"].values())
    assert min(m["bandwidth_by_inflight_bytes_hot"].values()) > 2 * device, m
    assert max(m["bandwidth_by_size_hot"].values()) > 2 * device, m


def test_a_read_only_folder_is_probed_through_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(8 * MiB))
    (tmp_path / "small.bin").write_bytes(b"x")
    p = lsio.tune(tmp_path, quick=True, save=False, probe_key="big.bin")
    assert p.measurements["probed"] == "big.bin" and set(p.settings) == set(FILE_SETTINGS)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["big.bin", "small.bin"]  # left as it was
    with pytest.raises(ValueError, match="small.bin .* has 1 bytes"):
        lsio.tune(tmp_path, quick=True, save=False, probe_key="small.bin")


def test_http_needs_an_object_to_probe() -> None:
    with pytest.raises(ValueError, match="read only: name an existing object"):
        lsio.tune("http://127.0.0.1:9/base/", quick=True, save=False)


def test_cli_json_parses_and_saves(tmp_path: Path) -> None:
    env = {**os.environ, "LSIO_TUNE_PROFILE": str(tmp_path / "p.json")}
    root = tmp_path / "d"
    root.mkdir()
    r = subprocess.run([sys.executable, "-m", "lsio.cli", "tune", str(root), "--quick", "--json"], env=env,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["kind"] == "file" and set(j["settings"]) == set(FILE_SETTINGS)
    assert j["key"] in json.loads((tmp_path / "p.json").read_text())["profiles"]
    r = subprocess.run([sys.executable, "-m", "lsio.cli", "tune", str(root), "--preset", "hdd", "--no-save"],
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "coalesce_gap" in r.stdout and "1 MiB" in r.stdout
    r = subprocess.run([sys.executable, "-m", "lsio.cli", "tune", "memory://"], env=env, capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "nothing to tune" in r.stderr


def test_s3_probe_writes_and_removes_a_scratch_object(s3_bucket: S3Bucket, profile_file: Path) -> None:
    m = s3_bucket.server
    creds = {"endpoint": m.endpoint, "region": m.region, "access_key_id": m.access_key_id,
             "secret_access_key": m.secret_access_key}  # fmt: skip
    url = f"s3://{s3_bucket.name}/tuned/"
    p = lsio.tune(url, quick=True, **creds)
    assert p.kind == "s3" and p.key == f"s3:{m.endpoint}/{s3_bucket.name}" and set(p.settings) == set(REMOTE_SETTINGS)
    assert p.measurements["object_size"] == 8 * MiB and p.measurements["latency_s"] > 0
    assert s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name).get("KeyCount", 0) == 0  # scratch removed
    store = lsio.open(url, **creds)
    assert store.option_sources["coalesce_gap"] == f"profile {p.key} ({profile_file})"
    assert store.options["max_inflight"] == p.settings["max_inflight"]
    assert "secret_access_key" not in json.dumps(json.loads(profile_file.read_text()))


def test_zarr_array_of_a_tuned_store_pickles_and_reopens(tmp_path: Path) -> None:
    import numpy as np

    import lsio.zarr

    store = lsio.open(tmp_path, tune="hdd", direct_threshold="4MiB")  # not the default (8 MiB): options list it
    a = lsio.zarr.create(store, shape=(10, 10), chunks=(5, 5), dtype="int32", path="a")
    a[...] = np.arange(100, dtype=np.int32).reshape(10, 10)
    b = pickle.loads(pickle.dumps(a))
    assert np.array_equal(b[...], np.arange(100, dtype=np.int32).reshape(10, 10))
    assert b.store.options["coalesce_gap"] == 1 << 20 and b.store.options["direct_threshold"] == 4 * MiB
    off = pickle.loads(pickle.dumps(lsio.open(tmp_path, direct_threshold=0)))
    assert off.options["direct_threshold"] == 0  # switching O_DIRECT off survives pickling


def test_probe_counts_only_bytes_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bandwidth probe asks for more reads than the file has slots: the reads it counts must all be read
    (the planner serves a repeated or touching range once, so such reads would be counted but not read)."""
    from lsio import _tune

    size, length = 8 * MiB, MiB
    (tmp_path / "probe.bin").write_bytes(os.urandom(size))
    monkeypatch.setattr(_tune, "_timed", lambda fn, budget, min_runs=1: (fn(), 1.0)[1])  # one call = 1 s
    store = lsio.open(tmp_path, tune=False, engine="posix", workers=1)
    probe = _tune._Probe(lambda **_: store, "probe.bin", size, 0.0, __import__("numpy").random.default_rng(0))

    def bytes_read() -> int:  # read(2)/pread(2) bytes of this process, its worker threads included
        return next(int(line.split()[1]) for line in Path("/proc/self/io").read_text().splitlines()
                    if line.startswith("rchar"))  # fmt: skip

    before = bytes_read()
    counted = probe.random_reads(store, 32, length)  # reads per (patched) second = reads counted
    read = bytes_read() - before
    assert read >= counted * length, f"counted {counted:.0f} reads of 1 MiB, read {read / MiB:.1f} MiB"
    assert 1 <= counted <= size // length


def test_io_uring_is_never_given_more_workers_than_cpus() -> None:
    """An io_uring worker never blocks: more of them than CPUs only compete with decodes (bench/tune_bench.py)."""
    from lsio._tune import _worker_counts

    assert max(_worker_counts("uring", 2, quick=False)) == 2
    assert max(_worker_counts("posix", 2, quick=False)) == 4  # blocking preads: more threads keep a device busy
    assert _worker_counts("posix", 8, quick=True) == [1, 8]
