"""Leaks: create and drop many primitives; memory returns to where it started."""

import gc
import tracemalloc

import pytest

from pyconc import AtomicBool, AtomicInt, AtomicUInt, SpinLock

from conftest import scaled


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


@pytest.mark.parametrize(
    "make",
    [
        lambda i: AtomicInt(i),
        lambda i: AtomicUInt(i),
        lambda i: AtomicBool(i & 1),
        lambda i: SpinLock(),
        lambda i: AtomicInt.from_buffer(bytearray(16), 8),
    ],
    ids=["AtomicInt", "AtomicUInt", "AtomicBool", "SpinLock", "from_buffer"],
)
def test_create_and_drop_many(make):
    n = scaled(200_000)
    _churn(make, 10_000)  # warm up allocator pools and caches
    gc.collect()
    rss0 = _rss_kib()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    _churn(make, n)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert grown < 64 * 1024, f"Python heap grew by {grown} bytes over {n} objects"
    rss1 = _rss_kib()
    if rss0 is not None:
        # C allocations (cffi's ffi.new) are not traced: check the RSS too.
        # n objects leaked would cost at least 8 bytes each.
        assert rss1 - rss0 < max(4096, n * 8 // 1024 // 2), f"RSS grew {rss1 - rss0} KiB"


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
