"""asyncio-aware Barrier.wait_async() (issue 14): a coroutine waits without blocking its
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


@pytest.mark.stress
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

