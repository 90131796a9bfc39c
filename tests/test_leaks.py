"""Leaks: create and drop many primitives; memory returns to where it started."""

import gc
import tracemalloc

import pytest

import pyconc
from pyconc import AtomicBool, AtomicInt, AtomicRef, AtomicUInt, Parker, Semaphore, SpinLock, WaitGroup

from conftest import scaled

pytestmark = pytest.mark.leaks  # the kind of test (tests/README.md)


def _rss_kib():
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return None
    import resource

    return pages * resource.getpagesize() // 1024


def _churn(make, n):
    for i in range(n):
        obj = make(i)
        del obj


def _growth(churn, n, warm):
    """Run churn(n) after churn(warm); return (Python heap growth in bytes,
    RSS growth in KiB or None)."""
    churn(warm)  # warm up allocator pools and caches
    gc.collect()
    rss0 = _rss_kib()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    churn(n)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    rss1 = _rss_kib()
    return grown, None if rss0 is None else rss1 - rss0


@pytest.mark.parametrize(
    "make",
    [
        lambda i: AtomicInt(i),
        lambda i: AtomicUInt(i),
        lambda i: AtomicBool(i & 1),
        lambda i: SpinLock(),
        lambda i: AtomicInt.from_buffer(bytearray(16), 8),
        lambda i: AtomicRef([i]),
        lambda i: Parker().unparker(),
        lambda i: Semaphore(2).acquire(),
        lambda i: WaitGroup().clone(),
    ],
    ids=["AtomicInt", "AtomicUInt", "AtomicBool", "SpinLock", "from_buffer", "AtomicRef",
         "Parker", "Semaphore", "WaitGroup"],
)
def test_create_and_drop_many(make):
    n = scaled(200_000)
    grown, rss = _growth(lambda k: _churn(make, k), n, 10_000)
    assert grown < 64 * 1024, f"Python heap grew by {grown} bytes over {n} objects"
    if rss is not None:
        # C allocations (cffi's ffi.new) are not traced: check the RSS too.
        # n objects leaked would cost at least 8 bytes each.
        assert rss < max(4096, n * 8 // 1024 // 2), f"RSS grew {rss} KiB"


def test_a_million_atomics():
    """The issue's "a million": the C cells are freed with their objects."""
    n = scaled(1_000_000)
    _churn(lambda i: AtomicInt(i), 10_000)
    gc.collect()
    rss0 = _rss_kib()
    _churn(lambda i: AtomicInt(i), n)
    gc.collect()
    rss1 = _rss_kib()
    if rss0 is not None:
        assert rss1 - rss0 < 8 * 1024, f"RSS grew {rss1 - rss0} KiB over {n} atomics"


def _chan_with_values(make):
    def run(i):
        tx, rx = make()
        tx.send(i)
        tx.send([i])  # a GC-tracked value, queued
        if i & 1:
            rx.recv()
        rx2 = tx.clone()
        del rx2

    return run


def _actor_cycle(i):
    # The cycle through a queued value (issue 12): collected, not leaked.
    class _A:
        pass

    a = _A()
    a.tx, a.rx = pyconc.channel()
    a.tx.send(a)


def _broadcast_churn(i):
    tx, rx = pyconc.broadcast(4)
    rx2 = tx.subscribe()
    tx.send(i)
    tx.send([i, rx2])  # a cycle through the ring
    rx.recv()


@pytest.mark.parametrize(
    "run",
    [_chan_with_values(pyconc.channel), _chan_with_values(lambda: pyconc.sync_channel(4)),
     _actor_cycle, _broadcast_churn],
    ids=["channel", "sync_channel(4)", "actor-cycle", "broadcast"],
)
def test_channels_create_and_drop_many(run):
    n = scaled(50_000)

    def churn(k):
        for i in range(k):
            run(i)
            if i % 1000 == 0:
                gc.collect()

    grown, rss = _growth(churn, n, 2_000)
    assert grown < 256 * 1024, f"Python heap grew by {grown} bytes over {n} channels"
    if rss is not None:
        # a leaked pc_chan_t is over 1 KiB: n of them would show at once.
        assert rss < max(8192, n // 4), f"RSS grew {rss} KiB"
