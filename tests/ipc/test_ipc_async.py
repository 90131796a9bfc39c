"""pyconc.ipc's recv_async (issue 13): no polling, one watcher thread per
Receiver (not per await), cancellation loses nothing, the watcher stops
when the Receiver closes.  Counts scale with PYCONC_STRESS."""

import asyncio
import multiprocessing as mp
import random
import sys
import threading
import time
from collections import Counter

import pytest

from conftest import scaled
from pyconc import Disconnected, HandleClosed, Timeout, ipc

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork start method")

CTX = mp.get_context("fork")
WATCHER = "pyconc ipc asyncio watcher"


def watchers():
    return [t for t in threading.enumerate() if t.name == WATCHER]


def produce(tx, n, pause_every):
    for i in range(n):
        tx.send(i)
        if pause_every and i % pause_every == 0:
            time.sleep(0.0005)
    tx.close()


def run(coro, timeout=60):
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def test_many_coroutines_one_receiver_one_watcher():
    n, k = scaled(2000), 50
    tx, rx = ipc.channel()

    async def main():
        got = []

        async def consume():
            while True:
                try:
                    got.append(await rx.recv_async())
                except Disconnected:
                    return

        tasks = [asyncio.ensure_future(consume()) for _ in range(k)]
        await asyncio.sleep(0.05)
        assert len(watchers()) == 1  # one per Receiver, not per await
        p = CTX.Process(target=produce, args=(tx, n, 100))
        p.start()
        tx.close()
        await asyncio.gather(*tasks)
        p.join(30)
        return got

    got = run(main())
    assert Counter(got) == Counter(range(n))
    rx.close()
    assert watchers() == []  # stopped with its Receiver


def test_cancelled_at_random_points_loses_nothing():
    n = scaled(2000)
    tx, rx = ipc.channel()
    rnd = random.Random(7)

    async def main():
        got = []
        p = CTX.Process(target=produce, args=(tx, n, 20))
        p.start()
        tx.close()
        while True:
            try:
                if rnd.random() < 0.5:
                    got.append(await asyncio.wait_for(rx.recv_async(),
                                                      rnd.choice([0, 1e-5, 1e-4, 1e-3])))
                else:
                    task = asyncio.ensure_future(rx.recv_async())
                    await asyncio.sleep(rnd.choice([0, 1e-5, 1e-4]))
                    task.cancel()
                    try:
                        got.append(await task)
                    except asyncio.CancelledError:
                        pass
            except asyncio.TimeoutError:
                pass
            except Disconnected:
                break
        p.join(30)
        return got

    got = run(main(), timeout=120)
    assert Counter(got) == Counter(range(n))
    rx.close()


class _CountingLoop(asyncio.SelectorEventLoop):
    turns = 0

    def _run_once(self):
        type(self).turns += 1
        super()._run_once()


def test_waiting_does_not_poll():
    """While a coroutine awaits an idle ipc Receiver, its loop sleeps (the
    old recv_async woke it every 5 ms or less)."""
    tx, rx = ipc.channel()
    loop = _CountingLoop()
    try:
        async def main():
            task = asyncio.ensure_future(rx.recv_async())
            await asyncio.sleep(0.01)
            before = _CountingLoop.turns
            await asyncio.sleep(0.3)
            turns = _CountingLoop.turns - before
            tx.send("x")
            return turns, await task

        turns, value = loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()
    assert value == "x"
    assert turns < 10, turns
    tx.close()
    rx.close()


def test_timeout_and_close_wake_the_waiters():
    tx, rx = ipc.channel()

    async def main():
        with pytest.raises(Timeout):
            await rx.recv_async(timeout=0.02)
        t = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0.02)
        rx.close()
        with pytest.raises(HandleClosed):
            await t

    run(main())
    assert watchers() == []
    tx.close()
