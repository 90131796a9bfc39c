"""asyncio-aware RwLock.read_async() / write_async() (issue 14): a coroutine waits without blocking its
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
def test_rwlock_async_readers_share_writers_exclude_with_threads():
    rw = pyconc.RwLock(0)
    per = scaled(400)
    readers_inside, bad = [0], []
    lock = threading.Lock()

    def tw():
        for _ in range(per):
            with rw.write(timeout=30) as g:
                g.value += 1

    def tr():
        for _ in range(per):
            with rw.read(timeout=30) as g:
                g.value

    async def cw():
        for _ in range(per):
            async with rw.write_async(timeout=30) as g:
                v = g.value
                await asyncio.sleep(0)
                g.value = v + 1

    async def cr():
        for _ in range(per):
            async with rw.read_async(timeout=30) as g:
                with lock:
                    readers_inside[0] += 1
                v = g.value
                await asyncio.sleep(0)
                if g.value != v:
                    bad.append("a write inside a read hold")
                with lock:
                    readers_inside[0] -= 1

    async def main():
        ts = [threading.Thread(target=f) for f in (tw, tr)]
        for t in ts:
            t.start()
        await asyncio.gather(cw(), cw(), cr(), cr(), cr())
        for t in ts:
            await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main(), timeout=120)
    assert not bad and rw.get_mut() == 3 * per


def test_rwlock_async_readers_hold_together():
    rw = pyconc.RwLock(0)

    async def main():
        r1 = await rw.read_async()
        r2 = await asyncio.wait_for(rw.read_async(), 1)  # shared: no wait
        t = asyncio.create_task(rw.write_async().__aenter__())
        await asyncio.sleep(0.01)
        assert not t.done()
        r1.__exit__(None, None, None)
        await asyncio.sleep(0.01)
        assert not t.done()
        r2.__exit__(None, None, None)
        g = await asyncio.wait_for(t, 5)
        g.__exit__(None, None, None)

    run(main())


def test_rwlock_write_async_gives_up_without_blocking_readers():
    """A writer coroutine that times out or is cancelled leaves no
    writers-waiting bit behind (readers would wait for a writer that is
    gone): the async form of the abandoned-writer rule."""
    rw = pyconc.RwLock(0, poison=False)

    async def main():
        r = await rw.read_async()
        with pytest.raises(Timeout):
            await rw.write_async(timeout=0.02)
        r2 = await asyncio.wait_for(rw.read_async(), 1)
        t = asyncio.create_task(rw.write_async().__aenter__())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        r3 = await asyncio.wait_for(rw.read_async(), 1)
        for g in (r, r2, r3):
            g.__exit__(None, None, None)
        with pytest.raises(KeyError):
            async with rw.write_async() as g:
                raise KeyError
        assert not rw.is_poisoned()

    run(main())
