"""asyncio-aware Semaphore.acquire_async() (issue 14): a coroutine waits without blocking its
event loop and without a thread, shares the primitive with threads that
use it synchronously, loses no wake-up when cancelled at any point, and
never leaves it held by nobody.  Tests named "Ports CPython's ..." port
Lib/test/test_asyncio/test_locks.py.  Counts scale with PYCONC_STRESS."""

import asyncio
import threading

import pytest

import pyconc
from _aio import run
from conftest import scaled
from pyconc import Timeout


@pytest.mark.stress
def test_semaphore_acquire_async_shares_permits_with_threads():
    s = pyconc.Semaphore(3)
    inside, peak = [0], [0]
    lock = threading.Lock()
    per = scaled(300)

    def enter():
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])

    def leave():
        with lock:
            inside[0] -= 1

    def tbody():
        for _ in range(per):
            with s.acquire(timeout=30):
                enter()
                leave()

    async def cbody(n):
        for _ in range(per):
            async with s.acquire_async(n, timeout=30):
                for _ in range(n):
                    enter()
                await asyncio.sleep(0)
                for _ in range(n):
                    leave()

    async def main():
        ts = [threading.Thread(target=tbody) for _ in range(2)]
        for t in ts:
            t.start()
        await asyncio.gather(*(cbody(1 + i % 3) for i in range(6)))
        for t in ts:
            await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main(), timeout=120)
    assert peak[0] <= 3 and s.available_permits() == 3


def test_semaphore_acquire():
    """Ports CPython's SemaphoreTests.test_acquire: with one permit held
    back, waiters go through as permits come back, and none is lost."""
    s = pyconc.Semaphore(3)
    result = []

    async def c(i):
        p = await s.acquire_async()
        result.append(i)
        return p

    async def main():
        held = [await s.acquire_async() for _ in range(3)]
        tasks = [asyncio.create_task(c(i)) for i in range(1, 5)]
        await asyncio.sleep(0.01)
        assert result == []
        held.pop().release()
        await asyncio.sleep(0.01)
        assert len(result) == 1
        for p in held:
            p.release()
        permits = await asyncio.gather(*tasks[:3])
        assert sorted(result) == [1, 2, 3, 4][: len(result)] or len(result) == 3
        for p in permits:
            p.release()
        await tasks[3]

    run(main())
    assert sorted(result) == [1, 2, 3, 4]


def test_semaphore_acquire_cancel_takes_nothing_and_close_wakes():
    """Ports CPython's SemaphoreTests.test_acquire_cancel; then a close
    reaches a waiting coroutine as Closed."""
    s = pyconc.Semaphore(1)

    async def main():
        p = await s.acquire_async()
        t = asyncio.create_task(s.acquire_async().__aenter__())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        p.release()
        assert s.available_permits() == 1
        p = await s.acquire_async()
        t = asyncio.create_task(s.acquire_async().__aenter__())
        await asyncio.sleep(0.01)
        s.close()
        with pytest.raises(pyconc.Closed):
            await t
        p.release()

    run(main())


def test_semaphore_acquire_async_bad_input_and_timeout():
    s = pyconc.Semaphore(1)
    for bad, exc in ((0, ValueError), (-1, ValueError), ("1", TypeError), (2**70, OverflowError)):
        with pytest.raises(exc):
            s.acquire_async(bad)

    async def main():
        with pytest.raises(Timeout, match="acquire_async"):
            await s.acquire_async(2, timeout=0.05)

    run(main())

