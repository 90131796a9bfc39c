"""asyncio-aware Condvar.wait*_async() (issue 14): a coroutine waits without blocking its
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
from pyconc import Mutex


@pytest.mark.stress
def test_condvar_wait_async_with_a_thread_producer():
    m, cv = Mutex([]), pyconc.Condvar()
    n = scaled(3000)

    def producer():
        for i in range(n):
            with m.lock() as g:
                g.value.append(i)
            cv.notify_one()
        with m.lock() as g:
            g.value.append(None)
        cv.notify_all()

    async def main():
        got = []
        t = threading.Thread(target=producer)
        t.start()
        async with m.lock_async() as g:
            while True:
                g = await cv.wait_while_async(g, lambda q: not q)
                v = g.value.pop(0)
                if v is None:
                    break
                got.append(v)
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        return got

    assert run(main(), timeout=120) == list(range(n))


def test_condvar_notify_wakes_coroutines_and_threads():
    m, cv = Mutex(0), pyconc.Condvar()

    def thread_waiter(out):
        with m.lock() as g:
            g = cv.wait_while(g, lambda v: v == 0)
            out.append("thread")

    async def coro_waiter(out):
        async with m.lock_async() as g:
            g = await cv.wait_while_async(g, lambda v: v == 0)
            out.append("coroutine")

    async def main():
        out = []
        t = threading.Thread(target=thread_waiter, args=(out,))
        t.start()
        tasks = [asyncio.create_task(coro_waiter(out)) for _ in range(3)]
        await asyncio.sleep(0.05)
        async with m.lock_async() as g:
            g.value = 1
        cv.notify_all()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        return sorted(out)

    assert run(main()) == ["coroutine"] * 3 + ["thread"]


def test_condvar_wait_async_timeout_cancel_and_misuse():
    """A timed-out wait returns (guard, True) holding the lock; a
    cancelled one re-takes the mutex before CancelledError (ports CPython's
    ConditionTests.test_wait_cancel_contested: the lock is held after the
    cancellation even though another task held it meanwhile).  poison=False:
    the CancelledError leaving the block would poison the mutex."""
    m, cv = Mutex(0, poison=False), pyconc.Condvar()

    async def main():
        async with m.lock_async() as g:
            g, timed_out = await cv.wait_timeout_async(g, 0.02)
            assert timed_out and g.value == 0
            g, timed_out = await cv.wait_timeout_while_async(g, 0.02, lambda v: v == 0)
            assert timed_out

        async def waiter():
            async with m.lock_async() as g:
                try:
                    await cv.wait_async(g)
                except asyncio.CancelledError:
                    assert g.value == 0  # held again: the guard works
                    raise

        t = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)
        g = await m.lock_async()  # contested: the waiter must wait for it
        t.cancel()
        await asyncio.sleep(0.01)
        assert not t.done()
        g.__exit__(None, None, None)
        with pytest.raises(asyncio.CancelledError):
            await t
        m.try_lock().__exit__(None, None, None)  # free
        with pytest.raises(TypeError):
            cv.wait_async("not a guard")
        with pytest.raises(TypeError):
            cv.wait_while_async(m.try_lock(), 3)

    run(main())


def test_condvar_cancelled_notified_waiter_passes_the_notification_on():
    m, cv = Mutex(0, poison=False), pyconc.Condvar()
    woke = []

    async def waiter(i):
        async with m.lock_async() as g:
            await cv.wait_async(g)
            woke.append(i)

    async def main():
        ta = asyncio.create_task(waiter("a"))
        await asyncio.sleep(0.01)
        tb = asyncio.create_task(waiter("b"))
        await asyncio.sleep(0.01)
        cv.notify_one()  # fires a (and may fire b: a Condvar may wake more)
        ta.cancel()
        await asyncio.gather(ta, return_exceptions=True)
        await asyncio.wait_for(tb, 5)

    run(main())
    assert woke == ["b"]

