"""asyncio-aware Mutex.lock_async() (issue 14): a coroutine waits without blocking its
event loop and without a thread, shares the primitive with threads that
use it synchronously, loses no wake-up when cancelled at any point, and
never leaves it held by nobody.  Tests named "Ports CPython's ..." port
Lib/test/test_asyncio/test_locks.py.  Counts scale with PYCONC_STRESS."""

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from _aio import release_later, run
from conftest import scaled
from pyconc import Mutex, PoisonError, Timeout


def test_lock_async_free_and_as_await():
    m = Mutex([])

    async def main():
        async with m.lock_async() as g:
            g.value.append(1)
        g = await m.lock_async()
        with g:
            g.value.append(2)
        m.try_lock().__exit__(None, None, None)  # free again

    run(main())
    assert m.get_mut() == [1, 2]


def test_lock_async_waits_for_a_thread_without_blocking_the_loop():
    m = Mutex(0)
    held = m.lock()
    ticks = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.005)

    async def main():
        t = asyncio.create_task(ticker())
        release_later(held, 0.1)
        async with m.lock_async(timeout=10) as g:
            g.value += 1
        t.cancel()

    run(main())
    assert m.get_mut() == 1
    assert len(ticks) >= 5, "the event loop was blocked while the coroutine waited"


def test_a_thread_waits_for_a_coroutine_holding_the_lock_across_awaits():
    m = Mutex(0)
    order = []

    def thread():
        with m.lock() as g:
            order.append("thread")
            g.value += 1

    async def main():
        async with m.lock_async() as g:
            t = threading.Thread(target=thread)
            t.start()
            for _ in range(5):
                await asyncio.sleep(0.01)  # the lock is held across awaits
            order.append("coroutine")
            g.value += 10
        await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main())
    assert order == ["coroutine", "thread"] and m.get_mut() == 11


def test_acquire_order():
    """Ports CPython's LockTests.test_acquire: waiters get the lock in the
    order they asked for it."""
    m = Mutex()
    result = []

    async def c(i):
        async with m.lock_async():
            result.append(i)
            await asyncio.sleep(0)

    async def main():
        g = await m.lock_async()
        tasks = [asyncio.create_task(c(i)) for i in (1, 2, 3)]
        await asyncio.sleep(0.01)
        assert result == []
        g.__exit__(None, None, None)
        await asyncio.gather(*tasks)

    run(main())
    assert result == [1, 2, 3]


def test_acquire_cancel():
    """Ports CPython's LockTests.test_acquire_cancel: a cancelled acquire
    does not take the lock."""
    m = Mutex()

    async def main():
        g = await m.lock_async()
        task = asyncio.create_task(m.lock_async().__aenter__())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        g.__exit__(None, None, None)
        m.try_lock().__exit__(None, None, None)  # free: the cancelled acquire took nothing

    run(main())


def test_cancel_race():
    """Ports CPython's LockTests.test_cancel_race: the waiter at the head
    is cancelled just as the lock is released; the next waiter must still
    get it (the fired, unused wake-up is passed on)."""
    m = Mutex()
    got = []

    async def waiter(i):
        async with m.lock_async():
            got.append(i)

    async def main():
        g = await m.lock_async()
        ta = asyncio.create_task(waiter("a"))
        await asyncio.sleep(0.01)
        tb = asyncio.create_task(waiter("b"))
        await asyncio.sleep(0.01)
        g.__exit__(None, None, None)  # fires a
        ta.cancel()                   # before a ran
        with pytest.raises(asyncio.CancelledError):
            await ta
        await asyncio.wait_for(tb, 5)

    run(main())
    assert got == ["b"]


def test_cancel_while_a_thread_holds_it_passes_the_wake_up_on():
    """A fired waiter cancelled while a thread already took the lock
    again: the next waiter is woken by that thread's unlock."""
    m = Mutex()
    got = []

    async def waiter(i):
        async with m.lock_async():
            got.append(i)

    async def main():
        g = await m.lock_async()
        ta = asyncio.create_task(waiter("a"))
        tb = asyncio.create_task(waiter("b"))
        await asyncio.sleep(0.01)
        g.__exit__(None, None, None)  # fires a
        g2 = m.lock()                 # a thread's lock, before a runs
        ta.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ta
        release_later(g2, 0.05)
        await asyncio.wait_for(tb, 5)

    run(main())
    assert got == ["b"]


def test_timeout_and_bad_timeout():
    m = Mutex()
    g = m.lock()

    async def main():
        with pytest.raises(Timeout, match="lock_async"):
            async with m.lock_async(timeout=0.05):
                pass
        with pytest.raises(Timeout):
            await m.lock_async(timeout=0)

    run(main())
    with pytest.raises((TypeError, ValueError)):
        m.lock_async(timeout="soon")
    with pytest.raises(ValueError):
        m.lock_async(timeout=-1)
    with pytest.raises(TypeError):
        m.lock_async(1, 2)
    g.__exit__(None, None, None)


def test_poison_from_an_async_with_block():
    m = Mutex(0)

    async def main():
        with pytest.raises(KeyError):
            async with m.lock_async() as g:
                g.value = 1
                raise KeyError("x")
        assert m.is_poisoned()
        with pytest.raises(PoisonError) as e:
            await m.lock_async()
        with e.value.into_inner() as g:
            assert g.value == 1
        m.clear_poison()
        async with m.lock_async(timeout=1) as g:
            assert g.value == 1

    run(main())
    quiet = Mutex(0, poison=False)

    async def main2():
        with pytest.raises(KeyError):
            async with quiet.lock_async():
                raise KeyError("x")
        assert not quiet.is_poisoned()

    run(main2())


def test_a_cancellation_inside_the_block_poisons_like_any_exception():
    m = Mutex(0)

    async def holder():
        async with m.lock_async():
            await asyncio.sleep(10)

    async def main():
        t = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert m.is_poisoned()
        with pytest.raises(PoisonError) as e:
            await m.lock_async()
        e.value.into_inner().__exit__(None, None, None)

    run(main())


def test_an_acquire_is_used_once_and_never_awaited_takes_nothing():
    m = Mutex()

    async def main():
        a = m.lock_async()
        g = await a
        with pytest.raises(RuntimeError, match="already"):
            await a
        with pytest.raises(RuntimeError):
            a.__aenter__()
        g.__exit__(None, None, None)
        m.lock_async()  # made, never awaited: the mutex stays free
        m.try_lock().__exit__(None, None, None)

    run(main())


def test_retired_mutex():
    m = Mutex(5)
    assert m.into_inner() == 5

    async def main():
        with pytest.raises(RuntimeError, match="into_inner"):
            await m.lock_async()

    run(main())


@pytest.mark.stress
def test_ten_thousand_pending_acquires_and_a_loop_that_exits_at_once():
    m = Mutex(0)
    n = 10_000

    async def one():
        async with m.lock_async() as g:
            g.value += 1

    async def main():
        g = await m.lock_async()
        tasks = [asyncio.create_task(one()) for _ in range(n)]
        await asyncio.sleep(0.05)
        g.__exit__(None, None, None)
        await asyncio.gather(*tasks)

    t0 = time.monotonic()
    run(main())
    assert m.get_mut() == n
    assert time.monotonic() - t0 < 30


@pytest.mark.stress
def test_threads_and_coroutines_share_one_lock_stress():
    m = Mutex(0)
    per = scaled(2000)
    tasks, threads = 8, 3

    def tbody():
        for _ in range(per):
            with m.lock() as g:
                g.value += 1

    async def cbody(i):
        for k in range(per):
            async with m.lock_async(timeout=30) as g:
                v = g.value
                if k % 3 == i % 3:
                    await asyncio.sleep(0)  # held across an await
                g.value = v + 1

    async def main():
        ts = [threading.Thread(target=tbody) for _ in range(threads)]
        for t in ts:
            t.start()
        await asyncio.gather(*(cbody(i) for i in range(tasks)))
        for t in ts:
            await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main(), timeout=120)
    assert m.get_mut() == per * (tasks + threads)


@pytest.mark.stress
def test_two_event_loops_in_two_threads_share_one_lock():
    m = Mutex(0)
    per = scaled(1000)

    def loop_thread():
        async def main():
            async def c():
                for _ in range(per):
                    async with m.lock_async(timeout=30) as g:
                        v = g.value
                        await asyncio.sleep(0)
                        g.value = v + 1
            await asyncio.gather(c(), c())
        asyncio.run(main())

    ts = [threading.Thread(target=loop_thread) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    assert m.get_mut() == 4 * per


@pytest.mark.stress
def test_random_cancellations_lose_no_wake_up():
    # poison=False: a cancellation landing inside the block is an exception
    # leaving it, which would poison a poisoning mutex (test below).
    m = Mutex(0, poison=False)
    rounds = scaled(200)

    async def worker(done):
        while True:
            try:
                async with m.lock_async(timeout=10) as g:
                    g.value += 1
                    await asyncio.sleep(0)
                done.append(1)
                return
            except asyncio.CancelledError:
                continue  # a cancelled acquire holds nothing: try again

    async def main():
        import random
        rng = random.Random(14)
        done = []
        tasks = [asyncio.create_task(worker(done)) for _ in range(rounds)]
        for _ in range(rounds // 2):
            await asyncio.sleep(0)
            rng.choice(tasks).cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Every worker either finished or was cancelled outside the lock;
        # the lock is free and wakes whoever comes next.
        async with m.lock_async(timeout=5):
            pass
        return len(done)

    finished = run(main(), timeout=120)
    # Every worker retries until it gets through: none hangs on a lost
    # wake-up (a cancel landing after the increment makes it count twice).
    assert finished == rounds and m.get_mut() >= rounds


@pytest.mark.faults
def test_ctrl_c_between_awaits_leaves_the_lock_free(tmp_path):
    code = r"""
import asyncio, signal, threading, pyconc
m = pyconc.Mutex(0)
g = m.lock()
async def main():
    asyncio.get_running_loop().call_later(0.1, signal.raise_signal, signal.SIGINT)
    async with m.lock_async():
        pass
try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
g.__exit__(None, None, None)
m.try_lock().__exit__(None, None, None)
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.stdout.strip() == "ok", r.stderr

