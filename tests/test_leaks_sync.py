"""Leaks: create and drop very many channels (with values inside), Mutex and
RwLock guards, JoinHandles and broadcast receivers (with values in their
ring); memory returns to where it started, both the Python heap
(tracemalloc) and the process (RSS, which also sees C allocations:
pc_chan_t, queue slabs, the Python objects' own memory).

Counts: a million channels (half of them bounded), 600,000 guards and
receivers and 10,000 threads in the default run, scaled by
PYCONC_STRESS.  Thresholds, and why a real leak fails them: every object
below, if leaked, costs far more than the allowance per object --
  * a channel is a pc_chan_t (several 128-byte cache lines) plus the
    handles (~100 B each) plus its values; a leaked broadcast receiver is a
    Python object of ~100 B plus its ring slot references; a guard ~50 B;
    a JoinHandle with its threading.Thread several hundred bytes;
  * the RSS allowance is 4 MiB, or 8 bytes per object when that is larger,
    so leaking even one small object per iteration (>= 16 B with malloc's
    overhead) fails at these counts;
  * the tracemalloc allowance is 64 KiB in total: one leaked Python object
    per iteration is megabytes.
tests/test_leaks_sync.py::test_the_thresholds_catch_a_real_leak checks
the argument: the same measurement fails on a deliberate leak of one
small object per iteration."""

import gc
import os
import tracemalloc

import pytest

import pyconc
from conftest import scaled
from pyconc import Mutex, RwLock, broadcast, channel, sync_channel

pytestmark = pytest.mark.leaks  # the kind of test (tests/README.md)

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(work, n):
    """(tracemalloc growth, RSS growth) in bytes over work(n), after a warm-up."""
    work(max(1000, n // 20))  # warm up allocator pools, caches, slabs
    gc.collect()
    rss0 = _rss()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    work(n)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    heap = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    return heap, _rss() - rss0


def _assert_no_leak(work, n, what):
    heap, rss = _growth(work, n)
    assert heap < 64 * 1024, f"{what}: Python heap grew {heap} B over {n}"
    allowance = max(4 * 2**20, 8 * n)
    assert rss < allowance, f"{what}: RSS grew {rss / 2**20:.1f} MiB over {n}"


def _channels(n):
    for i in range(n // 2):
        tx, rx = channel()
        tx.send([i])  # left inside: freed with the channel
        tx.send_many([(i,), {i}])
        a, b = sync_channel(2)
        a.send(str(i))  # left inside a bounded ring
        del tx, rx, a, b


def _mutex_guards(n):
    m, rw = Mutex([0]), RwLock([0])
    for i in range(n // 3):
        with m.lock() as g:
            g.value = [i]
        with rw.write() as w:
            w.value = [i]
        with rw.read() as r:
            r.value
        g2 = m.try_lock()  # dropped unused: unlocks
        del g2


def _broadcast_receivers(n):
    tx, rx = broadcast(8)
    for i in range(n):
        r = tx.subscribe()
        tx.send([i])  # the ring holds the newest 8; the old ones must go
        if i % 2:
            r.try_recv()
        del r
    del rx


def _join_handles(n):
    for i in range(n):
        h = pyconc.spawn(lambda i=i: [i])
        h.join()
        del h


@needs_proc
@pytest.mark.parametrize("work, n", [
    (_channels, scaled(1_000_000)),
    (_mutex_guards, scaled(600_000)),
    (_broadcast_receivers, scaled(600_000)),
    (_join_handles, scaled(10_000)),
], ids=["channels", "guards", "broadcast_receivers", "join_handles"])
def test_create_and_drop_many(work, n):
    _assert_no_leak(work, n, work.__name__)


@needs_proc
def test_the_thresholds_catch_a_real_leak():
    """The measurement above must fail when one small object per iteration
    stays behind (here: a one-element list per channel, kept in a list)."""
    kept = []

    def leaky(n):
        for i in range(n // 2):
            tx, rx = channel()
            tx.send([i])
            kept.append(rx.recv())

    with pytest.raises(AssertionError, match="grew"):
        _assert_no_leak(leaky, scaled(200_000), "leaky")


def _rwonce_objects(n):
    """RwLocks, OnceLocks (values inside, some in reference cycles, freed
    by the cyclic GC), Once, Barrier, and guards that come from and go back
    to the guard free list, held and dropped unentered."""
    from pyconc import Barrier, Once, OnceLock

    for i in range(n // 4):
        rw = RwLock([i])
        with rw.write() as w:
            w.value = [i, i]
        with rw.read() as r:
            r.value
        g = rw.try_read()  # dropped unused: releases
        del g
        cell = OnceLock()
        cell.get_or_init(lambda c=cell: [c])  # a cycle: cell -> list -> cell
        once = Once()
        once.call_once(lambda: None)
        b = Barrier(1)
        b.wait()
        if i % 1000 == 0:
            gc.collect()
        del rw, cell, once, b


@needs_proc
def test_rwlock_once_barrier_create_and_drop_many():
    _assert_no_leak(_rwonce_objects, scaled(400_000), "_rwonce_objects")
