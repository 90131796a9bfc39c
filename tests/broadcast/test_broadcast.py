"""pyconc.broadcast: tokio's broadcast channel."""

import asyncio
import gc
import time

import pytest

import pyconc
from pyconc import Closed, HandleClosed, Lagged, SendError
from pyconc.errors import Empty, Timeout
from conftest import scaled


def test_every_receiver_gets_every_value():
    tx, rx1 = pyconc.broadcast(16)
    rx2 = tx.subscribe()
    assert tx.send("a") == 2
    assert tx.send("b") == 2
    assert [rx1.recv(), rx1.recv()] == ["a", "b"]
    assert [rx2.try_recv(), rx2.try_recv()] == ["a", "b"]
    with pytest.raises(Empty):
        rx1.try_recv()


def test_subscribe_sees_only_later_values():
    tx, rx = pyconc.broadcast(4)
    tx.send(1)
    late = tx.subscribe()
    tx.send(2)
    assert late.recv() == 2
    assert rx.recv() == 1 and rx.recv() == 2
    fresh = rx.resubscribe()
    with pytest.raises(Empty):
        fresh.try_recv()


def test_send_without_receivers_raises_send_error():
    tx, rx = pyconc.broadcast(2)
    rx.close()
    with pytest.raises(SendError) as info:
        tx.send(42)
    assert info.value.value == 42
    rx2 = tx.subscribe()
    assert tx.send(1) == 1 and rx2.recv() == 1


def test_dropped_receiver_is_not_counted():
    tx, rx = pyconc.broadcast(2)
    rx2 = tx.subscribe()
    assert tx.receiver_count() == 2
    del rx2
    gc.collect()
    assert tx.send(0) == 1


def test_lagged_reports_missed_and_continues_from_oldest():
    tx, rx = pyconc.broadcast(3)
    for i in range(10):
        tx.send(i)
    with pytest.raises(Lagged) as info:
        rx.recv()
    assert info.value.missed == 7
    assert [rx.recv(), rx.recv(), rx.recv()] == [7, 8, 9]
    with pytest.raises(Empty):
        rx.try_recv()


def test_lagged_by_try_recv_and_capacity_one():
    tx, rx = pyconc.broadcast(1)
    tx.send("x")
    tx.send("y")
    with pytest.raises(Lagged) as info:
        rx.try_recv()
    assert info.value.missed == 1
    assert rx.try_recv() == "y"


def test_closed_after_draining():
    tx, rx = pyconc.broadcast(4)
    tx2 = tx.clone()
    tx.send(1)
    tx.close()
    tx.close()  # idempotent
    tx2.send(2)
    with pytest.raises(HandleClosed):
        tx.send(3)
    tx2.close()
    assert rx.recv() == 1 and rx.recv() == 2
    with pytest.raises(Closed):
        rx.recv()
    with pytest.raises(Closed):
        rx.try_recv()
    with pytest.raises(HandleClosed):
        tx2.clone()


def test_closed_by_garbage_collection_wakes_a_waiter():
    tx, rx = pyconc.broadcast(4)

    def drop_later():
        time.sleep(0.05)
        nonlocal tx
        del tx
        gc.collect()

    h = pyconc.spawn(drop_later)
    with pytest.raises(Closed):
        rx.recv(timeout=5)
    h.join()


def test_iteration_stops_at_close_and_skips_lags():
    tx, rx = pyconc.broadcast(2)
    for i in range(5):
        tx.send(i)
    tx.close()
    assert list(rx) == [3, 4]


def test_recv_timeout():
    tx, rx = pyconc.broadcast(2)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        rx.recv(timeout=0.1)
    with pytest.raises(TimeoutError):  # Timeout is a TimeoutError
        rx.recv(timeout=0)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(ValueError):
        rx.recv(timeout=-1)


def test_recv_waits_for_a_send_from_another_thread():
    tx, rx = pyconc.broadcast(2)
    h = pyconc.spawn(lambda: (time.sleep(0.05), tx.send("late")))
    assert rx.recv(timeout=5) == "late"
    h.join()


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (1.0, TypeError),
                                      ("3", TypeError), (2**40, OverflowError)])
def test_bad_capacity(bad, exc):
    with pytest.raises(exc):
        pyconc.broadcast(bad)


def test_closed_receiver():
    tx, rx = pyconc.broadcast(2)
    rx.close()
    with pytest.raises(HandleClosed):
        rx.try_recv()
    with pytest.raises(HandleClosed):
        rx.recv()


def test_slow_receiver_does_not_block_the_sender_or_others():
    tx, slow = pyconc.broadcast(8)
    fast = tx.subscribe()
    n = scaled(2000)
    got = []

    def fast_reader():
        for v in fast:
            got.append(v)

    h = pyconc.spawn(fast_reader)
    for i in range(n):
        tx.send(i)
        if i % 4 == 3:
            time.sleep(0)  # let the fast reader keep up
    tx.close()
    h.join()
    assert got == sorted(set(got)) and got[-1] == n - 1  # in order (lags skipped)
    missed = 0
    values = []
    while True:
        try:
            values.append(slow.recv())
        except Lagged as e:
            missed += e.missed
        except Closed:
            break
    assert missed + len(values) == n
    assert values == list(range(n - 8, n))


def test_memory_bounded_by_capacity():
    import weakref

    class V:
        pass

    tx, rx = pyconc.broadcast(4)
    refs = []
    for _ in range(50):
        v = V()
        refs.append(weakref.ref(v))
        tx.send(v)
        del v
    gc.collect()
    assert sum(r() is not None for r in refs) == 4


def test_stress_many_senders_many_receivers():
    n_send, n_recv, per = 3, 4, scaled(3000)
    cap = n_send * per  # big enough that nobody lags
    tx, rx0 = pyconc.broadcast(cap)
    rxs = [rx0] + [tx.subscribe() for _ in range(n_recv - 1)]
    senders = [tx.clone() for _ in range(n_send)]
    tx.close()

    def send(k, s):
        with s:
            for i in range(per):
                s.send((k, i))

    def recv(r):
        return list(r)

    with pyconc.scope() as sc:
        hs = [sc.spawn(recv, r) for r in rxs]
        for k, s in enumerate(senders):
            sc.spawn(send, k, s)
    results = [h.join() for h in hs]
    for res in results:
        assert len(res) == n_send * per
        for k in range(n_send):
            assert [i for kk, i in res if kk == k] == list(range(per))  # per-sender order
    assert all(r == results[0] for r in results)  # one total order for everybody


def test_stress_lagging_receivers_stay_consistent():
    tx, rx = pyconc.broadcast(16)
    n = scaled(5000)

    def reader(r):
        last, received, missed = -1, 0, 0
        while True:
            try:
                v = r.recv()
            except Lagged as e:
                missed += e.missed
                continue
            except Closed:
                return received, missed, last
            assert v > last
            last = v
            received += 1

    readers = [tx.subscribe() for _ in range(3)]
    rx.close()
    with pyconc.scope() as sc:
        hs = [sc.spawn(reader, r) for r in readers]
        for i in range(n):
            tx.send(i)
        tx.close()
    for h in hs:
        received, missed, last = h.join()
        assert received + missed == n and last == n - 1


def test_recv_async():
    tx, rx = pyconc.broadcast(8)

    async def main():
        def later():
            time.sleep(0.05)
            tx.send("from a thread")

        h = pyconc.spawn(later)
        v = await asyncio.wait_for(rx.recv_async(), 5)
        h.join()
        tx.send("ready")
        w = await rx.recv_async()
        tx.close()
        with pytest.raises(Closed):
            await rx.recv_async()
        return v, w

    assert asyncio.run(main()) == ("from a thread", "ready")


def test_recv_async_cancel_and_async_for():
    tx, rx = pyconc.broadcast(8)

    async def main():
        task = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert tx._async_waiting() == 0  # the cancelled wait unregistered

        async def produce():
            for i in range(5):
                tx.send(i)
                await asyncio.sleep(0)
            tx.close()

        p = asyncio.ensure_future(produce())
        got = [v async for v in rx]
        await p
        return got

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_async_stress_with_thread_senders():
    per = scaled(2000)
    tx, rx = pyconc.broadcast(per * 2)
    extra = tx.clone()

    async def main():
        def send(s, base):
            with s:
                for i in range(per):
                    s.send(base + i)

        hs = [pyconc.spawn(send, tx, 0), pyconc.spawn(send, extra, 10**6)]
        got = [v async for v in rx]
        for h in hs:
            h.join()
        return got

    got = asyncio.run(main())
    assert sorted(got) == list(range(per)) + list(range(10**6, 10**6 + per))


def test_not_picklable():
    import pickle

    tx, rx = pyconc.broadcast(1)
    with pytest.raises(TypeError):
        pickle.dumps(tx)
    with pytest.raises(TypeError):
        pickle.dumps(rx)


def test_evicted_value_finaliser_may_send_on_the_same_channel():
    tx, rx = pyconc.broadcast(1)
    log = []

    class Noisy:
        def __del__(self):
            log.append(tx.send("from __del__"))  # the ring is not locked now

    tx.send(Noisy())
    tx.send("evicts it")  # the Noisy value is dropped after the lock is released
    gc.collect()
    assert log == [1]
    with pytest.raises(Lagged):
        rx.recv()
    assert rx.recv() == "from __del__"


def test_contended_senders_take_the_slow_path_correctly():
    per = scaled(5000)
    tx, rx = pyconc.broadcast(4 * per)  # nobody lags: every value is checked
    clones = [tx.clone() for _ in range(4)]
    with pyconc.scope() as s:
        for k, c in enumerate(clones):
            s.spawn(lambda c=c, k=k: [c.send((k, i)) for i in range(per)])
    for c in clones:
        c.close()
    tx.close()
    got = list(rx)
    assert len(got) == 4 * per
    for k in range(4):
        assert [i for kk, i in got if kk == k] == list(range(per))


# ------------------------------------------- C handles (issues 11 and 12)


def test_copy_and_deepcopy_refuse_clearly():
    import copy

    tx, rx = pyconc.broadcast(2)
    for h, word in ((tx, "clone"), (rx, "subscribe")):
        for fn in (copy.copy, copy.deepcopy):
            with pytest.raises(TypeError) as info:
                fn(h)
            assert word in str(info.value) and "argument" not in str(info.value)


def test_no_address_to_overwrite_and_no_reinit():
    tx, rx = pyconc.broadcast(2)
    for h in (tx, rx):
        for name in ("_shared", "_addr", "_ring", "_pos", "anything"):
            with pytest.raises(AttributeError):
                setattr(h, name, 8)
        with pytest.raises(AttributeError):
            h.closed = True
        h.__init__()  # no __init__ of its own: changes nothing
        with pytest.raises(TypeError):
            type(h)()
    assert tx.send("still works") == 1
    assert rx.recv() == "still works"


def test_closed_handles_raise_handle_closed():
    tx, rx = pyconc.broadcast(2)
    other = tx.subscribe()
    tx2 = tx.clone()
    tx.close()
    rx.close()
    for call in (lambda: tx.send(1), tx.clone, tx.subscribe, rx.recv, rx.try_recv,
                 rx.resubscribe, lambda: rx.recv(timeout=1), lambda: next(iter(rx))):
        with pytest.raises(HandleClosed):
            call()
    assert isinstance(HandleClosed("x"), ValueError)
    assert tx.receiver_count() == 0 and len(rx) == 0
    assert "closed" in repr(tx) and "closed" in repr(rx)
    assert tx2.send("x") == 1 and other.recv() == "x"


def test_cycle_through_a_value_in_the_ring_is_collected():
    import weakref

    class Node:
        pass

    tx, rx = pyconc.broadcast(4)
    n = Node()
    n.rx = rx  # the value holds the receiver, which holds the channel
    n.tx = tx
    tx.send(n)
    ref = weakref.ref(n)
    del n, tx, rx
    gc.collect()
    assert ref() is None, "a cycle through the broadcast ring leaked"


def test_recv_timeout_is_pyconc_timeout_and_huge_means_forever():
    tx, rx = pyconc.broadcast(2)
    with pytest.raises(Timeout, match="timed out"):
        rx.recv(timeout=0.01)
    h = pyconc.spawn(lambda: (time.sleep(0.05), tx.send("late")))
    assert rx.recv(timeout=1e300) == "late"
    h.join()
    for bad, exc in (("1", TypeError), (True, TypeError), (float("nan"), ValueError)):
        with pytest.raises(exc):
            rx.recv(timeout=bad)


def test_ctrl_c_interrupts_a_blocking_recv_and_loses_nothing():
    from _interrupt import assert_interrupts

    tx, rx = pyconc.broadcast(4)
    assert_interrupts(rx.recv)
    assert_interrupts(lambda: rx.recv(timeout=60))
    assert_interrupts(lambda: next(iter(rx)))
    tx.send("after")
    assert rx.recv() == "after"


def test_lagged_has_missed_and_generic_alias():
    tx, rx = pyconc.broadcast(2)
    for i in range(5):
        tx.send(i)
    with pytest.raises(Lagged) as info:
        rx.try_recv()
    assert info.value.missed == 3
    from pyconc.broadcast import BroadcastReceiver, BroadcastSender

    assert BroadcastSender[int] is not None and BroadcastReceiver[int] is not None
    assert isinstance(tx, BroadcastSender) and isinstance(rx, BroadcastReceiver)
