"""asyncio without threads (issue 13): recv_async, send_async and
``async for`` on channels and broadcast receivers wait without a thread
per waiter, lose nothing when cancelled at any point, and leave nothing
behind when the loop exits.  Counts scale with PYCONC_STRESS."""

import asyncio
import random
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

import pyconc
from conftest import scaled
from pyconc import Disconnected, Empty, SendError, Timeout


def run(coro, timeout=60):
    """asyncio.run with a guard against a hang."""
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def later(delay, fn, *args):
    """Call fn(*args) in a thread after *delay* seconds."""
    def body():
        time.sleep(delay)
        fn(*args)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


# ------------------------------------------------------------ basics


@pytest.mark.parametrize("make", [pyconc.channel, lambda: pyconc.sync_channel(4),
                                  lambda: pyconc.sync_channel(0)],
                         ids=["channel", "sync4", "rendezvous"])
def test_recv_async_ready_waiting_timeout_disconnect(make):
    tx, rx = make()

    async def main():
        later(0.02, tx.send, "late")
        assert await rx.recv_async() == "late"
        with pytest.raises(Timeout):
            await rx.recv_async(timeout=0.02)
        with pytest.raises(Timeout):
            await rx.recv_async(0)
        later(0.02, tx.close)
        with pytest.raises(Disconnected):
            await rx.recv_async()

    run(main())


def test_recv_async_is_a_coroutine_for_asyncio():
    """create_task, gather and wait_for take what recv_async returns."""
    tx, rx = pyconc.channel()

    async def main():
        t = asyncio.create_task(rx.recv_async())
        g = asyncio.gather(rx.recv_async(), rx.recv_async())
        w = asyncio.wait_for(rx.recv_async(), 10)
        await asyncio.sleep(0.01)
        for i in range(4):
            tx.send(i)
        got = [await t, *(await g), await w]
        assert sorted(got) == [0, 1, 2, 3]

    run(main())


def test_asyncio_run_and_the_coroutine_protocol():
    tx, rx = pyconc.channel()
    tx.send(5)
    assert asyncio.run(rx.recv_async()) == 5
    with pytest.raises(Timeout):
        asyncio.run(rx.recv_async(timeout=0.01))
    stx, _ = pyconc.sync_channel(1)
    assert asyncio.run(stx.send_async(1)) is None
    with pytest.raises(Timeout) as ei:
        asyncio.run(stx.send_async(2, timeout=0.01))
    assert ei.value.value == 2
    # Thrown into before its first step: raises, takes nothing.
    tx.send(6)
    c = rx.recv_async()
    with pytest.raises(ValueError):
        c.throw(ValueError("no"))
    with pytest.raises(RuntimeError):
        c.send(None)
    c = rx.recv_async()
    with pytest.raises(StopIteration) as si:
        c.send(None)
    assert si.value.value == 6


def test_an_awaitable_never_awaited_takes_nothing():
    tx, rx = pyconc.channel()
    tx.send(1)
    c = rx.recv_async()
    del c
    c = rx.recv_async()
    c.close()
    assert rx.try_recv() == 1

    async def main():
        tx.send(2)
        # Cancelled before it starts: wait_for's task never runs it.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(rx.recv_async(), 0)
        return rx.try_recv()

    assert run(main()) == 2


def test_reusing_the_awaitable_raises():
    tx, rx = pyconc.channel()
    tx.send(1)

    async def main():
        c = rx.recv_async()
        assert await c == 1
        with pytest.raises(RuntimeError):
            await c

    run(main())


def test_async_for_and_bad_timeout():
    tx, rx = pyconc.channel()
    with pytest.raises((TypeError, ValueError)):
        rx.recv_async(timeout="soon")
    with pytest.raises(TypeError):
        rx.recv_async(1, 2)

    def produce():
        for i in range(100):
            tx.send(i)
            if i % 10 == 0:
                time.sleep(0.001)
        tx.close()

    async def main():
        threading.Thread(target=produce).start()
        return [v async for v in rx]

    assert run(main()) == list(range(100))


def test_closed_receiver_raises_handle_closed():
    tx, rx = pyconc.channel()

    async def main():
        t = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0.01)
        rx.close()
        with pytest.raises(pyconc.HandleClosed):
            await t

    run(main())


def test_import_pyconc_does_not_import_asyncio(tmp_path):
    # From an empty folder: the pyconc under test, not a source tree in cwd
    # (the ASan run works from a source copy).
    r = subprocess.run([sys.executable, "-c",
                        "import sys, pyconc, pyconc.ipc, pyconc.broadcast; "
                        "print('asyncio' in sys.modules)"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


# ----------------------------------------------- many awaits, no threads


def test_10000_pending_recv_async_on_one_channel_no_threads():
    n = 10_000
    tx, rx = pyconc.channel()

    async def main():
        threads_before = threading.active_count()
        tasks = [asyncio.ensure_future(rx.recv_async()) for _ in range(n)]
        await asyncio.sleep(0.05)
        assert rx._async_waiting() == n
        assert threading.active_count() == threads_before  # no thread per await
        t = later(0, lambda: [tx.send(i) for i in range(n)])
        got = await asyncio.gather(*tasks)
        t.join()
        assert sorted(got) == list(range(n))
        assert rx._async_waiting() == 0

    run(main())


def test_10000_pending_recv_async_on_many_channels():
    chans = [pyconc.sync_channel(1) for _ in range(1000)]

    async def main():
        tasks = [asyncio.ensure_future(rx.recv_async())
                 for _, rx in chans for _ in range(10)]
        await asyncio.sleep(0.05)

        def produce():
            for k in range(10):
                for i, (tx, _) in enumerate(chans):
                    tx.send((i, k))

        t = later(0, produce)
        got = await asyncio.gather(*tasks)
        t.join()
        assert Counter(got) == Counter((i, k) for i in range(1000) for k in range(10))

    run(main())


_EXIT_RIGHT_AFTER = r"""
import asyncio, threading, time, sys
import pyconc

tx, rx = pyconc.channel()
stx, srx = pyconc.sync_channel(1)
stx.send(0)

async def main():
    for _ in range(1000):
        asyncio.ensure_future(rx.recv_async())
        asyncio.ensure_future(stx.send_async(1))
    await asyncio.sleep(0.05)
    assert threading.active_count() == 1, threading.enumerate()
    assert rx._async_waiting() == 1000 and stx._async_waiting() == 1000
    {how}

t0 = time.monotonic()
{run}
print("exited", time.monotonic() - t0, flush=True)
"""


@pytest.mark.parametrize("how,runner", [
    ("return", "asyncio.run(main())"),
    ("asyncio.get_running_loop().stop()",
     "loop = asyncio.new_event_loop(); loop.create_task(main()); loop.run_forever()"),
], ids=["asyncio.run", "loop-stopped"])
def test_loop_exits_at_once_with_awaits_pending(how, runner, tmp_path):
    code = _EXIT_RIGHT_AFTER.format(how=how, run=runner)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "exited" in r.stdout


# ------------------------------------------------------- cancellation


@pytest.mark.parametrize("make", [pyconc.channel, lambda: pyconc.sync_channel(3),
                                  lambda: pyconc.sync_channel(0)],
                         ids=["channel", "sync3", "rendezvous"])
def test_recv_cancelled_at_random_points_loses_nothing(make):
    """Consumers cancelled (task.cancel, wait_for timeouts) at random
    points while a thread sends: every value is received exactly once."""
    n = scaled(3000)
    tx, rx = make()
    rnd = random.Random(13)

    def produce():
        for i in range(n):
            tx.send(i)
            if i % 50 == 0:
                time.sleep(0.0005)
        tx.close()

    async def main():
        got = []
        done = threading.Event()
        t = threading.Thread(target=lambda: (produce(), done.set()))
        t.start()

        async def consume():
            while True:
                try:
                    got.append(await rx.recv_async())
                except Disconnected:
                    return

        async def canceller_wait_for():
            while not done.is_set():
                try:
                    got.append(await asyncio.wait_for(rx.recv_async(),
                                                      rnd.choice([0, 1e-5, 1e-4, 1e-3])))
                except asyncio.TimeoutError:
                    pass
                except Disconnected:
                    return

        async def canceller_task():
            while not done.is_set():
                task = asyncio.ensure_future(rx.recv_async())
                await asyncio.sleep(rnd.choice([0, 0, 1e-5, 1e-4]))
                task.cancel()
                try:
                    got.append(await task)
                except (asyncio.CancelledError, Disconnected):
                    pass

        await asyncio.gather(consume(), canceller_wait_for(), canceller_task(),
                             canceller_task())
        t.join()
        return got

    got = run(main(), timeout=120)
    assert Counter(got) == Counter(range(n))


@pytest.mark.parametrize("make", [lambda: pyconc.sync_channel(2), lambda: pyconc.sync_channel(0)],
                         ids=["sync2", "rendezvous"])
def test_send_async_cancelled_at_random_points(make):
    """Senders on a full bounded or a rendezvous channel, cancelled at
    random points, a thread receiving: each value is received exactly
    once if its send_async returned, never if it raised."""
    n = scaled(1500)
    tx, rx = make()
    rnd = random.Random(31)
    received = []

    def consume():
        for v in rx:
            received.append(v)
            if len(received) % 20 == 0:
                time.sleep(0.0005)

    async def main():
        t = threading.Thread(target=consume)
        t.start()
        sent, unsent = [], []
        values = iter(range(n))

        async def sender():
            for v in values:
                kind = rnd.random()
                try:
                    if kind < 0.3:
                        await asyncio.wait_for(tx.send_async(v), rnd.choice([0, 1e-5, 1e-4]))
                    elif kind < 0.5:
                        await tx.send_async(v, timeout=rnd.choice([0, 1e-4]))
                    elif kind < 0.7:
                        task = asyncio.ensure_future(tx.send_async(v))
                        await asyncio.sleep(rnd.choice([0, 1e-5, 1e-4]))
                        task.cancel()
                        await task
                    else:
                        await tx.send_async(v)
                except (asyncio.CancelledError, asyncio.TimeoutError, Timeout):
                    unsent.append(v)
                else:
                    sent.append(v)

        await asyncio.gather(*(sender() for _ in range(4)))
        tx.close()
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        return sent, unsent

    sent, unsent = run(main(), timeout=120)
    assert len(sent) + len(unsent) == n
    assert Counter(received) == Counter(sent)  # nothing lost, nothing twice


def test_send_async_waits_on_full_and_rendezvous():
    async def main():
        tx, rx = pyconc.sync_channel(1)
        await tx.send_async("a")            # room: at once
        t = asyncio.ensure_future(tx.send_async("b"))
        await asyncio.sleep(0.02)
        assert not t.done() and tx._async_waiting() == 1
        later(0, rx.recv)
        await t
        assert rx.try_recv() == "b"

        tx0, rx0 = pyconc.sync_channel(0)
        t = asyncio.ensure_future(tx0.send_async("hand"))
        await asyncio.sleep(0.02)
        assert not t.done()
        got = await asyncio.get_running_loop().run_in_executor(None, rx0.recv)
        assert got == "hand" and await t is None

        # A cancelled rendezvous send takes its value back.
        t = asyncio.ensure_future(tx0.send_async("back"))
        await asyncio.sleep(0.02)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        with pytest.raises(Empty):
            rx0.try_recv()

        # Timeout carries the value.
        tx.send("fill")
        with pytest.raises(Timeout) as ei:
            await tx.send_async("late", timeout=0.02)
        assert ei.value.value == "late"

        # The receiver closes under a waiting send: SendError, value back.
        t = asyncio.ensure_future(tx.send_async("orphan"))
        await asyncio.sleep(0.02)
        rx.close()
        with pytest.raises(SendError) as ei:
            await t
        assert ei.value.value == "orphan"

        # Unbounded: just sends.
        utx, urx = pyconc.channel()
        await utx.send_async(5)
        assert urx.try_recv() == 5

    run(main())


def test_async_senders_and_receivers_on_one_bounded_channel():
    """Both ends in coroutines of one loop: the waits wake each other."""
    n = scaled(5000)

    async def main():
        tx, rx = pyconc.sync_channel(2)

        async def produce(k):
            for i in range(k, n, 4):
                await tx.send_async(i)

        async def consume():
            return [await rx.recv_async() for _ in range(n // 2)]

        results = await asyncio.gather(*(produce(k) for k in range(4)), consume(), consume())
        return results[4] + results[5]

    assert sorted(run(main())) == list(range(n))


def test_many_producer_threads_into_async_for():
    n, p = scaled(20000), 4
    tx, rx = pyconc.channel()
    senders = [tx.clone() for _ in range(p)]
    tx.close()

    def produce(k, s):
        with s:
            for i in range(k, n, p):
                s.send(i)

    async def main():
        ts = [threading.Thread(target=produce, args=(k, s)) for k, s in enumerate(senders)]
        for t in ts:
            t.start()
        got = [v async for v in rx]
        for t in ts:
            t.join()
        return got

    assert sorted(run(main())) == list(range(n))


# ------------------------------------------------------------ broadcast


def test_broadcast_many_async_receivers_and_cancellation():
    tx, rx = pyconc.broadcast(64)
    rxs = [rx] + [tx.subscribe() for _ in range(999)]

    async def main():
        threads_before = threading.active_count()
        tasks = [asyncio.ensure_future(r.recv_async()) for r in rxs]  # one each
        cancelled = tasks[::7]
        await asyncio.sleep(0.02)
        assert threading.active_count() == threads_before
        for t in cancelled:
            t.cancel()
        await asyncio.sleep(0)
        later(0, tx.send, "all")
        got = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(g == "all" or isinstance(g, asyncio.CancelledError) for g in got)
        assert sum(g == "all" for g in got) == len(tasks) - len(cancelled)
        assert tx._async_waiting() == 0

        async def consume(r):
            return [v async for v in r]

        cs = [asyncio.ensure_future(consume(tx.subscribe())) for _ in range(3)]
        await asyncio.sleep(0.01)

        def produce():
            for i in range(50):
                tx.send(i)
            tx.close()

        later(0, produce)
        for c in cs:
            assert await c == list(range(50))

    run(main())
