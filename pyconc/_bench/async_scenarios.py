"""Benchmark scenarios: threads (and processes) to asyncio (issue 13).

threads to asyncio, Np -> 1 coroutine
    N producer threads (1 and 4) send 100,000 small integers in all to one
    coroutine, which adds them up (checked after the timed part).  pyconc
    ``channel()`` with ``async for``, against aiologic's
    ``SimpleQueue.async_get``, janus's ``Queue`` (``sync_q.put`` /
    ``async_q.get``) and the standard library's way,
    ``loop.call_soon_threadsafe(queue.put_nowait, v)`` into an
    ``asyncio.Queue`` (the baseline).  Goals: at most 0.4x aiologic's time
    (2.5 times faster) and 1/6 of janus's.
thread to asyncio, wake-up latency of one value
    A thread sends one value (a ``perf_counter_ns`` stamp) to a coroutine
    already waiting in its event loop, sleeps 0.3 ms, and again; the
    figure is the median latency of a round's 200 values, in ns.  Goal:
    pyconc's ``recv_async`` at most 1.0x ``call_soon_threadsafe``'s.
ipc to asyncio, wake-up latency of one value
    The same from another process through a ``pyconc.ipc`` channel.  Goal:
    a median of at most 200 us.

asyncio lock, uncontended
    One coroutine runs ``async with lock:`` (empty body) 100,000 times:
    ``asyncio.Lock`` (the baseline), pyconc ``Mutex.lock_async()`` and
    aiologic's ``Lock``.  Goals (issue 14): pyconc at most 1.0x
    asyncio.Lock's time and at most 0.2x aiologic's.
asyncio lock, 4 coroutines holding it across an await
    Four coroutines each take the lock 5,000 times and hold it across an
    ``await asyncio.sleep(0)`` (the chat server's pattern: a lock held
    while writing), so that every acquire but the first of a hand-over
    waits.  The counter it protects is checked.  No goal: a figure.
threads and coroutines sharing one lock
    Two threads (``with m.lock()``) and four coroutines (``async with
    m.lock_async()``) increment one counter 20,000 times in all; pyconc
    against aiologic's ``Lock`` (which both threads and coroutines can
    take), the baseline.  No goal: a figure.

aiologic and janus are peers (``pip install "pyconc[peers]"``); a group
runs without the ones not installed, and the report says which were
skipped.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from pyconc import channel
from pyconc._bench._util import check, run_threads

Scenario = Dict[str, Any]

PYCONC = "pyconc channel, async for"
AIOLOGIC = "aiologic SimpleQueue.async_get"
JANUS = "janus Queue sync_q.put/async_q.get"
CSTS = "call_soon_threadsafe + asyncio.Queue"
LAT_PYCONC = "pyconc recv_async"
LAT_CSTS = "call_soon_threadsafe + asyncio.Queue.get"


def _peer(name: str) -> Optional[Any]:
    try:
        return __import__(name)
    except ImportError:
        return None


def skipped_peers() -> List[str]:
    return [name for name in ("aiologic", "janus") if _peer(name) is None]


# ------------------------------------------------------------ throughput


def _throughput(impl: str, producers: int, n: int) -> Callable[[], float]:
    per = n // producers
    n = per * producers
    total = sum(range(n))

    def run() -> float:
        loop = asyncio.new_event_loop()
        result: List[int] = []

        if impl == PYCONC:
            tx, rx = channel()
            senders = [tx.clone() for _ in range(producers)]
            tx.close()

            def produce(k: int) -> None:
                with senders[k] as s:
                    send = s.send
                    for v in range(k * per, (k + 1) * per):
                        send(v)

            async def consume() -> None:
                got = 0
                async for v in rx:
                    got += v
                result.append(got)

        elif impl == AIOLOGIC:
            import aiologic

            q: Any = aiologic.SimpleQueue()

            def produce(k: int) -> None:
                put = q.put
                for v in range(k * per, (k + 1) * per):
                    put(v)

            async def consume() -> None:
                get = q.async_get
                got = 0
                for _ in range(n):
                    got += await get()
                result.append(got)

        elif impl == JANUS:
            import janus

            holder: List[Any] = []

            def produce(k: int) -> None:
                put = holder[0].sync_q.put
                for v in range(k * per, (k + 1) * per):
                    put(v)

            async def consume() -> None:
                q = holder[0]
                get = q.async_q.get
                got = 0
                for _ in range(n):
                    got += await get()
                result.append(got)

            async def make() -> None:
                holder.append(janus.Queue())

            loop.run_until_complete(make())

        else:  # CSTS
            aq: "asyncio.Queue[int]" = asyncio.Queue()

            def produce(k: int) -> None:
                call, put = loop.call_soon_threadsafe, aq.put_nowait
                for v in range(k * per, (k + 1) * per):
                    call(put, v)

            async def consume() -> None:
                get = aq.get
                got = 0
                for _ in range(n):
                    got += await get()
                result.append(got)

        # The producers in threads, the event loop's consumer in this one,
        # started together (the one thread-start harness: _util.run_threads).
        elapsed = run_threads(producers, produce, lambda: loop.run_until_complete(consume()))
        if impl == JANUS:
            async def close() -> None:
                holder[0].close()
                await holder[0].wait_closed()

            loop.run_until_complete(close())
        loop.close()
        check(result == [total], f"{impl}: received values differ from those sent")
        return elapsed

    return run


# --------------------------------------------------------------- latency


def _latency(impl: str, samples: int) -> Callable[[], float]:
    def run() -> float:
        loop = asyncio.new_event_loop()
        lat: List[int] = []
        parked = threading.Event()
        if impl == LAT_PYCONC:
            tx, rx = channel()

            def send(stamp: int) -> None:
                tx.send(stamp)

            async def wait() -> Any:
                return await rx.recv_async()
        else:
            aq: "asyncio.Queue[int]" = asyncio.Queue()

            def send(stamp: int) -> None:
                loop.call_soon_threadsafe(aq.put_nowait, stamp)

            async def wait() -> Any:
                return await aq.get()

        def produce() -> None:
            clock = time.perf_counter_ns
            for _ in range(samples):
                parked.wait()
                parked.clear()
                time.sleep(0.0003)  # the coroutine is asleep in its loop by now
                send(clock())

        async def consume() -> None:
            clock = time.perf_counter_ns
            for _ in range(samples):
                parked.set()
                stamp = await wait()
                lat.append(clock() - stamp)

        t = threading.Thread(target=produce)
        t.start()
        loop.run_until_complete(consume())
        t.join()
        loop.close()
        check(len(lat) == samples, "a value was lost")
        return statistics.median(lat) / 1e9

    return run


def _ipc_child(tx: Any, ack: Any, samples: int) -> None:
    clock = time.perf_counter_ns
    for _ in range(samples):
        ack.recv()
        time.sleep(0.0003)
        tx.send(clock())
    tx.close()


def _ipc_latency(samples: int) -> Callable[[], float]:
    from pyconc import ipc

    ctx: Any = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")

    def run() -> float:
        tx, rx = ipc.channel(1 << 16)
        ack_tx, ack_rx = ipc.channel(1 << 16)
        p = ctx.Process(target=_ipc_child, args=(tx, ack_rx, samples), daemon=True)
        p.start()
        tx.close()  # the child's copy of ack_rx takes the receiving side
        lat: List[int] = []

        async def consume() -> None:
            clock = time.perf_counter_ns
            for _ in range(samples):
                ack_tx.send(None)
                stamp = await rx.recv_async(timeout=30)
                lat.append(clock() - stamp)

        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(consume())
        finally:
            loop.close()
            ack_tx.close()
            p.join(30)
            rx.close()
            ack_rx.close()
        check(len(lat) == samples, "a value was lost")
        return statistics.median(lat) / 1e9

    return run


# ------------------------------------------------------------- scenarios


# ----------------------------------------------------------------- locks

LOCK_ASYNCIO = "asyncio.Lock"
LOCK_PYCONC = "pyconc Mutex.lock_async"
LOCK_AIOLOGIC = "aiologic.Lock"


def _make_lock(impl: str) -> Any:
    """(context manager factory, counter reader) for *impl*."""
    if impl == LOCK_ASYNCIO:
        lock = asyncio.Lock()
        return lambda: lock
    if impl == LOCK_AIOLOGIC:
        import aiologic

        alock = aiologic.Lock()
        return lambda: alock
    from pyconc import Mutex

    m = Mutex(0)
    return m.lock_async


def _lock_uncontended(impl: str, n: int) -> Callable[[], float]:
    def run() -> float:
        async def body() -> float:
            cm = _make_lock(impl)
            t0 = time.perf_counter()
            for _ in range(n):
                async with cm():
                    pass
            return time.perf_counter() - t0

        return asyncio.run(body())

    return run


def _lock_across_await(impl: str, tasks: int, per: int) -> Callable[[], float]:
    def run() -> float:
        async def body() -> float:
            cm = _make_lock(impl)
            count = [0]

            async def worker() -> None:
                for _ in range(per):
                    async with cm():
                        v = count[0]
                        await asyncio.sleep(0)
                        count[0] = v + 1

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(tasks)))
            dt = time.perf_counter() - t0
            check(count[0] == tasks * per, f"{impl}: the lock let two holders in")
            return dt

        return asyncio.run(body())

    return run


def _lock_shared(impl: str, threads: int, tasks: int, n: int) -> Callable[[], float]:
    per = n // (threads + tasks)

    def run() -> float:
        if impl == LOCK_AIOLOGIC:
            import aiologic

            lock: Any = aiologic.Lock()
            count = [0]

            def tbody() -> None:
                for _ in range(per):
                    with lock:
                        count[0] += 1

            async def cbody() -> None:
                for _ in range(per):
                    async with lock:
                        count[0] += 1
                        await asyncio.sleep(0)

            def result() -> int:
                return count[0]
        else:
            from pyconc import Mutex

            m = Mutex(0)

            def tbody() -> None:
                for _ in range(per):
                    with m.lock() as g:
                        g.value += 1

            async def cbody() -> None:
                for _ in range(per):
                    async with m.lock_async() as g:
                        g.value += 1
                        await asyncio.sleep(0)

            def result() -> int:
                return m.get_mut()

        async def body() -> None:
            await asyncio.gather(*(cbody() for _ in range(tasks)))

        ts = [threading.Thread(target=tbody) for _ in range(threads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        asyncio.run(body())
        for t in ts:
            t.join()
        dt = time.perf_counter() - t0
        check(result() == per * (threads + tasks), f"{impl}: a count was lost")
        return dt

    return run


def _lock_scenarios(scale: float, have_aiologic: bool) -> List[Scenario]:
    out: List[Scenario] = []
    n = int(100_000 * scale)
    g = "asyncio lock, uncontended async with"
    common = dict(group=g, ops=n, threads=1)
    goals: List[Any] = [(LOCK_ASYNCIO, 1.0)]
    if have_aiologic:
        goals.append((LOCK_AIOLOGIC, 0.2))
    out.append(dict(common, name=LOCK_ASYNCIO, baseline=True,
                    run=_lock_uncontended(LOCK_ASYNCIO, n)))
    out.append(dict(common, name=LOCK_PYCONC, baseline=False,
                    run=_lock_uncontended(LOCK_PYCONC, n), goal=goals))
    if have_aiologic:
        out.append(dict(common, name=LOCK_AIOLOGIC, baseline=False,
                        run=_lock_uncontended(LOCK_AIOLOGIC, n)))
    per = int(5_000 * scale)
    g = "asyncio lock, 4 coroutines holding it across an await"
    common = dict(group=g, ops=4 * per, threads=1)
    for impl in (LOCK_ASYNCIO, LOCK_PYCONC) + ((LOCK_AIOLOGIC,) if have_aiologic else ()):
        out.append(dict(common, name=impl, baseline=impl == LOCK_ASYNCIO,
                        run=_lock_across_await(impl, 4, per)))
    if have_aiologic:
        m = int(20_000 * scale) // 6 * 6
        g = "one lock shared by 2 threads and 4 coroutines"
        common = dict(group=g, ops=m, threads=3)
        out.append(dict(common, name=LOCK_AIOLOGIC, baseline=True,
                        run=_lock_shared(LOCK_AIOLOGIC, 2, 4, m)))
        out.append(dict(common, name=LOCK_PYCONC + " + lock()", baseline=False,
                        run=_lock_shared(LOCK_PYCONC, 2, 4, m)))
    return out


def scenarios(scale: float = 1.0) -> List[Scenario]:
    out: List[Scenario] = []
    n = int(100_000 * scale)
    have = {name: _peer(name) is not None for name in ("aiologic", "janus")}
    for p in (1, 4):
        g = f"threads to asyncio, {p}p -> 1 coroutine"
        ops = n // p * p
        common = dict(group=g, ops=ops, threads=p + 1)
        goals = []
        if have["aiologic"]:
            goals.append((AIOLOGIC, 0.4))
        if have["janus"]:
            goals.append((JANUS, 1 / 6))
        out.append(dict(common, name=CSTS, baseline=True, run=_throughput(CSTS, p, n)))
        out.append(dict(common, name=PYCONC, baseline=False, run=_throughput(PYCONC, p, n),
                        goal=goals or None))
        if have["aiologic"]:
            out.append(dict(common, name=AIOLOGIC, baseline=False,
                            run=_throughput(AIOLOGIC, p, n)))
        if have["janus"]:
            out.append(dict(common, name=JANUS, baseline=False, run=_throughput(JANUS, p, n)))
    samples = max(20, int(200 * scale))
    g = "thread to asyncio, wake-up latency of one value (median)"
    out.append(dict(group=g, name=LAT_CSTS, baseline=True, ops=1, threads=2,
                    run=_latency(LAT_CSTS, samples)))
    out.append(dict(group=g, name=LAT_PYCONC, baseline=False, ops=1, threads=2,
                    run=_latency(LAT_PYCONC, samples),
                    goal=(LAT_CSTS, 1.0)))
    g = "ipc to asyncio, wake-up latency of one value (median)"
    out.append(dict(group=g, name="pyconc.ipc recv_async", baseline=False, ops=1, threads=2,
                    run=_ipc_latency(samples), goal=(None, 200_000.0)))
    out.extend(_lock_scenarios(scale, have["aiologic"]))
    return out
