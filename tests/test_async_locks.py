"""asyncio-aware locks (issue 14): Mutex.lock_async(), Semaphore.acquire_async(),
Condvar.wait_async().  A coroutine waits without blocking its event loop
and without a thread, shares the lock with threads that take it
synchronously, loses no wake-up when cancelled at any point, and never
leaves a lock held by nobody.  Several tests port CPython's
Lib/test/test_asyncio/test_locks.py (LockTests, SemaphoreTests), named
in each docstring.  Counts scale with PYCONC_STRESS."""

import asyncio
import subprocess
import sys
import threading
import time

import pytest

import pyconc
from conftest import scaled
from pyconc import Mutex, PoisonError, Timeout


def run(coro, timeout=60):
    """asyncio.run with a guard against a hang."""
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def release_later(guard, delay):
    def body():
        time.sleep(delay)
        guard.__exit__(None, None, None)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


# ------------------------------------------------------------------ Mutex


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


# -------------------------------------------------------------- Semaphore


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


# ---------------------------------------------------------------- Condvar


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


# ---------------------------------------------------------------- Barrier


def test_barrier_wait_async_with_threads_one_leader_per_round():
    b = pyconc.Barrier(5)
    rounds = scaled(50)
    res = []

    def t():
        for _ in range(rounds):
            res.append(b.wait())

    async def c():
        for _ in range(rounds):
            res.append(await b.wait_async())

    async def main():
        ts = [threading.Thread(target=t) for _ in range(2)]
        for x in ts:
            x.start()
        await asyncio.gather(c(), c(), c())
        for x in ts:
            await asyncio.get_running_loop().run_in_executor(None, x.join)

    run(main(), timeout=120)
    assert len(res) == 5 * rounds and sum(res) == rounds


def test_barrier_wait_async_cancelled_takes_its_arrival_back():
    b = pyconc.Barrier(2)

    async def main():
        t = asyncio.create_task(b.wait_async())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        b.wait_async().close()  # never awaited: does not arrive
        return sorted(await asyncio.gather(b.wait_async(), b.wait_async()))

    assert run(main()) == [False, True]


# ----------------------------------------------------------------- RwLock


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
