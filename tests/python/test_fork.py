"""Stores across os.fork(): a forked child rebuilds the workers of the stores it uses (the parent's threads and rings
are not there), reads exact bytes, and exits without hanging, by os._exit or by a normal exit (atexit handlers run).
The same through multiprocessing's fork Pool and torch's DataLoader workers, reading Zarr arrays.

Every scenario runs in a child process under a hard timeout (subproc.run_python), so a hang fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from subproc import merged, require_engine, run_python
from util import pattern, write_file

SIZE = 3_000_000

FORK_CHILD = r"""
import atexit, json, os, signal, sys, time, traceback
import numpy as np

cfg = json.loads(sys.argv[1])
path, engine = cfg["path"], cfg["engine"]
data = open(path, "rb").read()
starts = np.arange(0, len(data) - 4096, 997, dtype=np.int64)
expected = [data[s : s + 4096] for s in starts]


def check_reads(store):
    # the default store (module-level functions) and an explicitly opened one, every API
    assert bytes(lsio.read_ranges(path, [0], [None])[0]) == data
    assert [bytes(b) for b in lsio.read_ranges(path, starts, starts + 4096)] == expected
    assert [bytes(b) for b in store.read_ranges([path] * len(starts), starts, starts + 4096)] == expected
    assert bytes(store.read_ranges(path, [-5000], [None])[0]) == data[-5000:]
    outs = np.zeros((len(starts), 4096), np.uint8)
    store.read_into(path, starts, list(outs))
    assert [r.tobytes() for r in outs] == expected
    seen = {}
    store.for_each(path, starts, starts + 4096, lambda i, b: seen.__setitem__(i, bytes(b)))
    assert [seen[i] for i in range(len(starts))] == expected
    pending = store.submit_read(path, starts[:100], starts[:100] + 4096)
    pending.wait(60)
    assert [bytes(b) for b in pending.result()] == expected[:100]


store = lsio.open("", engine=engine)
check_reads(store)  # the parent has used both stores: workers started, files opened and closed
busy = store.submit_read(path, starts, starts + 4096) if cfg["busy"] else None
marker = cfg["marker"]

pid = os.fork()
if pid == 0:
    code = 3
    try:
        if cfg["use_in_child"]:
            check_reads(store)
        if cfg["exit"] == "sys.exit":
            atexit.register(lambda: open(marker, "w").write("atexit ran"))
            sys.exit(0)  # interpreter shutdown: atexit, the stores' destructors
        code = 0
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        if cfg["exit"] == "os._exit" or code != 3:
            sys.stdout.flush()
            os._exit(code)

deadline = time.monotonic() + 60
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        emit(child="hung")
        sys.exit(1)
    time.sleep(0.01)
emit(child=os.waitstatus_to_exitcode(status), marker=os.path.exists(marker))
# the parent's stores (and the batch that ran across the fork) are unaffected
if busy is not None:
    busy.wait(60)
    assert [bytes(b) for b in busy.result()] == expected
check_reads(store)
emit(parent="ok")
"""


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "batch-running"])
@pytest.mark.parametrize("exit", ["os._exit", "sys.exit"])
def test_forked_child_reads(tmp_path: Path, engine: str, exit: str, busy: bool) -> None:
    """The child uses the default store and a store the parent opened and used (optionally while a batch of the
    parent's is running); it reads exact bytes with every API, and exits without hanging."""
    require_engine(engine)
    path = write_file(tmp_path / "data.bin", pattern(SIZE, seed=3))
    cfg = dict(path=path, engine=engine, busy=busy, exit=exit, use_in_child=True, marker=str(tmp_path / "marker"))
    r = merged(run_python(FORK_CHILD, json.dumps(cfg), timeout=120))
    assert r["child"] == 0
    assert r["marker"] == (exit == "sys.exit")  # the atexit handler ran
    assert r["parent"] == "ok"


def test_forked_child_that_never_reads_exits(tmp_path: Path, engine: str) -> None:
    """A child that inherits used stores but never touches them exits normally (the stores' destructors must not
    join the parent's worker threads, which do not exist in the child)."""
    require_engine(engine)
    path = write_file(tmp_path / "data.bin", pattern(SIZE, seed=4))
    cfg = dict(path=path, engine=engine, busy=True, exit="sys.exit", use_in_child=False,
               marker=str(tmp_path / "marker"))
    r = merged(run_python(FORK_CHILD, json.dumps(cfg), timeout=120))
    assert r["child"] == 0 and r["marker"] is True and r["parent"] == "ok"


FORK_DURING_CALLBACKS = r"""
import json, os, sys, threading, time
import numpy as np

cfg = json.loads(sys.argv[1])
path = cfg["path"]
store = lsio.open("", engine=cfg["engine"])
starts = np.arange(0, 1_000_000, 512, dtype=np.int64)
stop = threading.Event()


def callbacks():
    # for_each calls back on the store's workers: each call gives a worker (a thread Python did not start) the GIL
    while not stop.is_set():
        store.for_each(path, starts, starts + 16, lambda i, b: None)


threads = [threading.Thread(target=callbacks) for _ in range(3)]
for t in threads:
    t.start()
hung = 0
for _ in range(cfg["forks"]):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    limit = time.monotonic() + 10
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > limit:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            hung += 1
            break
        time.sleep(0.001)
    if hung:
        break
stop.set()
for t in threads:
    t.join()
emit(hung=hung)
"""


def test_fork_while_workers_call_back(tmp_path: Path, engine: str) -> None:
    """Forks while for_each callbacks run on the store's workers never leave a child hung in Python's own fork
    handling (CPython 3.11 hangs the child when the fork lands while another thread creates its thread state, which
    a worker entering the GIL used to do on every callback)."""
    require_engine(engine)
    path = write_file(tmp_path / "data.bin", pattern(SIZE, seed=5))
    r = merged(run_python(FORK_DURING_CALLBACKS, json.dumps(dict(path=path, engine=engine, forks=300)), timeout=240))
    assert r["hung"] == 0


def zarr_array(tmp_path: Path, sharded: bool) -> tuple[str, str]:
    """A Zarr v3 array written by zarr-python (sharded or v2), and the .npy file of its values."""
    ref = (np.arange(40 * 30 * 20, dtype=np.int32).reshape(40, 30, 20) * 7) % 100_003
    path = str(tmp_path / ("sharded.zarr" if sharded else "v2.zarr"))
    if sharded:
        z = zarr.create_array(path, shape=ref.shape, dtype="int32", chunks=(3, 8, 8), shards=(6, 16, 16))
    else:
        z = zarr.create_array(path, shape=ref.shape, dtype="int32", chunks=(4, 7, 20), zarr_format=2)
    z[...] = ref
    npy = str(tmp_path / "ref.npy")
    np.save(npy, ref)
    return path, npy


POOL_CHILD = r"""
import json, multiprocessing, sys
import numpy as np
import lsio.zarr

cfg = json.loads(sys.argv[1])
ref = np.load(cfg["npy"])
A = lsio.zarr.open_array(cfg["zarr"], mode="r")
np.testing.assert_array_equal(A[...], ref)  # the parent used LSIO (the same array) before forking


def read(task):
    kind, i = task
    arr = A if kind == "inherited" else lsio.zarr.open_array(cfg["zarr"], mode="r")
    return kind, i, arr[i], arr[i : i + 3, 5:27, 3:19], arr.oindex[[i, 0], :, [1, 19]]


tasks = [(kind, i) for i in range(ref.shape[0]) for kind in ("inherited", "fresh")]
with multiprocessing.get_context("fork").Pool(2) as pool:
    results = pool.map_async(read, tasks, chunksize=3).get(timeout=90)
for kind, i, row, block, picked in results:
    np.testing.assert_array_equal(row, ref[i])
    np.testing.assert_array_equal(block, ref[i : i + 3, 5:27, 3:19])
    np.testing.assert_array_equal(picked, ref[[i, 0]][:, :, [1, 19]])
np.testing.assert_array_equal(A[...], ref)  # and the parent still reads
emit(checked=len(results))
"""


@pytest.mark.parametrize("sharded", [True, False], ids=["v3-sharded", "v2"])
def test_fork_pool_reads_zarr(tmp_path: Path, sharded: bool) -> None:
    path, npy = zarr_array(tmp_path, sharded)
    r = merged(run_python(POOL_CHILD, json.dumps(dict(zarr=path, npy=npy)), timeout=120))
    assert r["checked"] == 80


LOADER_CHILD = r"""
import json, sys
import numpy as np
import torch
import torch.utils.data as tud
import lsio.zarr

cfg = json.loads(sys.argv[1])
ref = np.load(cfg["npy"])


class LazyOpen(tud.Dataset):
    # opens the array once per process, on first use (in each DataLoader worker)
    def __init__(self, path, n):
        self.path, self.n, self.array = path, n, None

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.array is None:
            self.array = lsio.zarr.open_array(self.path, mode="r")
        return torch.from_numpy(self.array[i])


class Held(tud.Dataset):
    # holds an array opened (and used) in the parent
    def __init__(self, array):
        self.array = array

    def __len__(self):
        return self.array.shape[0]

    def __getitem__(self, i):
        return torch.from_numpy(self.array[i])


held = lsio.zarr.open_array(cfg["zarr"], mode="r")
np.testing.assert_array_equal(held[...], ref)  # the parent used LSIO before forking
for name, ds in [("lazy", LazyOpen(cfg["zarr"], ref.shape[0])), ("held", Held(held))]:
    for epoch in range(2):  # each epoch forks new workers
        dl = tud.DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="fork", timeout=60)
        got = torch.cat(list(dl)).numpy()
        np.testing.assert_array_equal(got, ref)
        emit(**{f"{name}{epoch}": int(got.shape[0])})
np.testing.assert_array_equal(held[...], ref)
"""


def test_dataloader_fork_workers_read_zarr(tmp_path: Path) -> None:
    path, npy = zarr_array(tmp_path, sharded=True)
    r = merged(run_python(LOADER_CHILD, json.dumps(dict(zarr=path, npy=npy)), timeout=180))
    assert r == {"lazy0": 40, "lazy1": 40, "held0": 40, "held1": 40}
