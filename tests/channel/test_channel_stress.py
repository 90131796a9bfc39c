"""Channels under load: exact delivery, every close order, asyncio, Ctrl-C,
memory.  Counts scale with PYCONC_STRESS (tests/conftest.py)."""

import asyncio
import gc
import itertools
import os
import signal
import sys
import threading
import time
import weakref
from collections import Counter

import pytest

import pyconc

from conftest import scaled
from pyconc import (
    ChannelError,
    Disconnected,
    HandleClosed,
    Empty,
    SendError,
    Timeout,
    channel,
    sync_channel,
)
from pyconc._native import lib

pytestmark = pytest.mark.stress  # the kind of test (tests/README.md)

KINDS = {
    "channel": channel,
    "sync_channel(0)": lambda: sync_channel(0),
    "sync_channel(1)": lambda: sync_channel(1),
    "sync_channel(7)": lambda: sync_channel(7),
    "sync_channel(1024)": lambda: sync_channel(1024),
}


def check_delivery(received, producers, per_producer):
    """Exactly the values sent (as a multiset), each producer's in order."""
    expected = Counter((p, i) for p in range(producers) for i in range(per_producer))
    assert Counter(received) == expected, "values lost or duplicated"
    last = {}
    for p, i in received:
        assert last.get(p, -1) < i, f"producer {p}: {i} arrived after {last[p]}"
        last[p] = i


def run_producers(tx, producers, per_producer, batched):
    threads, errors = [], []

    def produce(sender, p):
        try:
            with sender:
                if batched:
                    for start in range(0, per_producer, 64):
                        end = min(per_producer, start + 64)
                        sender.send_many([(p, i) for i in range(start, end)])
                else:
                    for i in range(per_producer):
                        sender.send((p, i))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    senders = [tx.clone() for _ in range(producers)]
    tx.close()
    for p, s in enumerate(senders):
        threads.append(threading.Thread(target=produce, args=(s, p)))
    del senders, s
    for t in threads:
        t.start()
    return threads, errors


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batched"])
@pytest.mark.parametrize("producers", [1, 2, 4, 8])
@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_many_producers_exact_and_ordered(make, producers, batched):
    per_producer = scaled(3000)
    tx, rx = make()
    threads, errors = run_producers(tx, producers, per_producer, batched)
    received = []
    if batched:
        while True:
            try:
                received.extend(rx.recv_many(50, timeout=60))
            except Disconnected:
                break
    else:
        received.extend(rx)  # ends when every producer has closed its sender
    for t in threads:
        t.join(60)
    assert not errors
    check_delivery(received, producers, per_producer)


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_mixed_receive_calls(make):
    """recv, try_recv, recv_many and recv(timeout) interleaved."""
    producers, per_producer = 3, scaled(3000)
    tx, rx = make()
    threads, errors = run_producers(tx, producers, per_producer, False)
    received = []
    for k in itertools.count():
        try:
            mode = k % 4
            if mode == 0:
                received.append(rx.recv())
            elif mode == 1:
                try:
                    received.append(rx.try_recv())
                except Empty:
                    pass
            elif mode == 2:
                received.extend(rx.recv_many(5))
            else:
                try:
                    received.append(rx.recv(timeout=0.001))
                except Timeout:
                    pass
        except Disconnected:
            break
    for t in threads:
        t.join(60)
    assert not errors
    check_delivery(received, producers, per_producer)


# ------------------------------------------------ disconnect in every order


EVENTS = ("close tx1", "close tx2", "close rx", "send tx1", "send tx2")


ROOMY = {k: v for k, v in KINDS.items() if k != "sync_channel(1)"}  # 2 sends fit


@pytest.mark.parametrize("make", ROOMY.values(), ids=ROOMY.keys())
def test_close_in_every_order(make):
    """Every order of closing two senders and the receiver, with sends
    between: each send succeeds exactly when it should, and the receiver
    sees exactly the values sent before it closed."""
    rendezvous = make is KINDS["sync_channel(0)"]
    for order in itertools.permutations(EVENTS):
        tx1, rx = make()
        tx2 = tx1.clone()
        sent, rx_closed = [], False
        senders = {"tx1": tx1, "tx2": tx2}
        for ev in order:
            verb, who = ev.split()
            if verb == "close":
                if who == "rx":
                    rx.close()
                    rx_closed = True
                else:
                    senders[who].close()
                continue
            sender = senders[who]
            if sender.closed:
                with pytest.raises(ChannelError, match="Sender is closed"):
                    sender.send(who)
            elif rx_closed:
                with pytest.raises(SendError):
                    sender.send(who)
            elif rendezvous:
                t = threading.Thread(target=sender.send, args=(who,))
                t.start()
                assert rx.recv(timeout=10) == who
                t.join(10)
            else:
                sender.try_send(who)
                sent.append(who)
        if rx_closed:
            with pytest.raises(HandleClosed):
                rx.try_recv()
            continue
        received = list(rx.try_iter())
        assert received == [s for s in sent], order
        if tx1.closed and tx2.closed:
            with pytest.raises(Disconnected):
                rx.recv(timeout=1)
        else:
            with pytest.raises(Empty):
                rx.try_recv()


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_racing_closes(make):
    """Senders closing while the receiver drains: iteration always ends,
    nothing is lost."""
    for _ in range(scaled(20)):
        tx, rx = make()
        threads, errors = run_producers(tx, 4, 50, False)
        received = list(rx)
        for t in threads:
            t.join(30)
        assert not errors
        check_delivery(received, 4, 50)


def test_receiver_closing_under_senders():
    """The receiver closes while senders hammer the channel: every send
    either succeeds or raises SendError; no value leaks."""

    class V:
        pass

    for make in KINDS.values():
        tx, rx = make()
        refs = []
        stop = threading.Event()
        errors = []

        def produce(sender):
            try:
                with sender:
                    while not stop.is_set():
                        v = V()
                        refs.append(weakref.ref(v))
                        try:
                            sender.send_timeout(v, 1)
                        except SendError:
                            return
                        except Timeout:
                            pass
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=produce, args=(tx.clone(),)) for _ in range(3)]
        tx.close()
        for t in threads:
            t.start()
        for _ in range(200):
            try:
                rx.recv(timeout=1)
            except (Timeout, Disconnected):
                break
        rx.close()
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors
        del tx, rx, threads
        gc.collect()
        assert all(r() is None for r in refs), "a value leaked"


# ---------------------------------------------------------------- asyncio


def test_recv_async_does_not_block_the_loop():
    tx, rx = channel()

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        threading.Timer(0.1, tx.send, args=("late",)).start()
        value = await rx.recv_async()
        ticker.cancel()
        return value, ticks

    value, ticks = asyncio.run(main())
    assert value == "late"
    assert ticks > 5  # the loop kept running while recv_async waited


def test_recv_async_ready_value_and_disconnect():
    tx, rx = channel()

    async def main():
        tx.send(1)
        first = await rx.recv_async()
        tx.close()
        with pytest.raises(Disconnected):
            await rx.recv_async()
        return first

    assert asyncio.run(main()) == 1


def test_async_for():
    tx, rx = channel()

    async def main():
        got = []
        async for v in rx:
            got.append(v)
        return got

    def produce():
        with tx:
            for i in range(100):
                tx.send(i)

    t = threading.Thread(target=produce)
    t.start()
    got = asyncio.run(main())
    t.join(10)
    assert got == list(range(100))


def test_recv_async_timeout():
    tx, rx = channel()

    async def main():
        with pytest.raises(Timeout):
            await rx.recv_async(timeout=0.05)

    asyncio.run(main())


def test_recv_async_cancel_loses_nothing():
    tx, rx = channel()

    async def main():
        task = asyncio.create_task(rx.recv_async())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        tx.send("kept")
        return await rx.recv_async(timeout=10)

    assert asyncio.run(main()) == "kept"


def test_recv_async_many_producers():
    producers, per_producer = 4, scaled(2000)
    tx, rx = sync_channel(16)
    threads, errors = run_producers(tx, producers, per_producer, False)

    async def main():
        got = []
        while True:
            try:
                got.append(await rx.recv_async())
            except Disconnected:
                return got

    received = asyncio.run(main())
    for t in threads:
        t.join(30)
    assert not errors
    check_delivery(received, producers, per_producer)


# ---------------------------------------------------------------- Ctrl-C


def interrupt_main_after(delay):
    """Send SIGINT to the main thread after *delay*; returns a list that
    receives the monotonic time of the signal."""
    sent_at = []

    def fire():
        time.sleep(delay)
        sent_at.append(time.monotonic())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()
    return sent_at


needs_main_thread = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread()
    or not hasattr(signal, "pthread_kill"),
    reason="needs to run in the main thread, with pthread_kill",
)


def blocked_calls():
    def recv():
        tx, rx = channel()
        return rx.recv, (tx, rx)

    def recv_many():
        tx, rx = sync_channel(3)
        return (lambda: rx.recv_many(5)), (tx, rx)

    def send_full():
        tx, rx = sync_channel(1)
        tx.send(0)
        return (lambda: tx.send(1)), (tx, rx)

    def send_many_full():
        tx, rx = sync_channel(2)
        return (lambda: tx.send_many(range(10))), (tx, rx)

    def send_rendezvous():
        tx, rx = sync_channel(0)
        return (lambda: tx.send(1)), (tx, rx)

    def iterate():
        tx, rx = channel()
        return (lambda: next(iter(rx))), (tx, rx)

    def recv_cloned():  # issue 13: a second Receiver of the channel
        tx, rx = channel()
        rx2 = rx.clone()
        return rx2.recv, (tx, rx)

    def select_recv():  # issue 13: pyconc.select over several receivers
        tx, rx = channel()
        tx2, rx2 = sync_channel(0)
        return (lambda: pyconc.select(rx, rx2) and tx2), (tx, rx)  # tx2 kept alive

    def select_send_full():
        tx, rx = sync_channel(1)
        tx.send(0)
        other_tx, other_rx = channel()
        sel = _select_of(other_rx, (tx, 1))
        return (lambda: sel.select() and other_tx), (tx, rx)  # other_tx kept alive

    return {"recv": recv, "recv_many": recv_many, "send_full": send_full,
            "send_many_full": send_many_full, "send_rendezvous": send_rendezvous,
            "iterate": iterate, "recv_cloned": recv_cloned, "select_recv": select_recv,
            "select_send_full": select_send_full}


def _select_of(*ops):
    sel = pyconc.Select()
    for op in ops:
        if isinstance(op, tuple):
            sel.send(*op)
        else:
            sel.recv(op)
    return sel


@needs_main_thread
@pytest.mark.parametrize("name", blocked_calls().keys())
def test_ctrl_c_interrupts_a_blocked_call(name):
    call, keep = blocked_calls()[name]()
    sent_at = interrupt_main_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        call()
    delay = time.monotonic() - sent_at[0]
    # The wait returns on the signal (EINTR) or at the end of its 50 ms
    # slice at the latest; the issue asks for about 100 ms.
    assert delay < 0.1, f"KeyboardInterrupt came {delay:.3f} s after SIGINT"
    tx, rx = keep
    # The handles are still usable and nothing was half-sent.
    rx_values = list(rx.try_iter())
    if name == "send_rendezvous":
        assert rx_values == []  # the interrupted hand-over was taken back
    if name == "send_many_full":
        assert rx_values == [0, 1]  # what fitted; the rest was not sent
    if name == "select_send_full":
        assert rx_values == [0]  # the interrupted select sent nothing
    tx.close()
    rx.close()


# ---------------------------------------------------------------- memory


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.parametrize("make", [channel, lambda: sync_channel(64)], ids=["channel", "sync_channel"])
def test_long_run_does_not_grow_memory(make):
    """Values move through a channel for a long while; the process's memory
    after a second, equal run is what it was after the first (the queue
    holds nothing at the end, so nothing may stay behind)."""
    tx, rx = make()
    n = scaled(200_000)

    def one_run():
        def produce():
            for start in range(0, n, 100):
                tx.send_many(range(start, start + 100))
        t = threading.Thread(target=produce)
        t.start()
        got = 0
        while got < n:
            got += len(rx.recv_many(1000))
        t.join()
        gc.collect()

    one_run()
    first = _rss_bytes()
    for _ in range(3):
        one_run()
    growth = _rss_bytes() - first
    assert growth < 4 * 2**20, f"memory grew by {growth / 2**20:.1f} MiB"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_creating_and_dropping_channels_does_not_grow_memory():
    """Channels made, used a little and dropped: none stays behind (the
    channel, its queue's nodes and slabs, the values)."""

    def churn():
        for i in range(scaled(5000)):
            tx, rx = channel()
            tx.send(i)
            tx.clone().send_many([1, 2])
            rx.recv()
            a, b = sync_channel(3)
            a.send(i)
            c, d = sync_channel(0)
            try:
                c.try_send(1)
            except ChannelError:
                pass
        gc.collect()

    churn()
    first = _rss_bytes()
    for _ in range(3):
        churn()
    growth = _rss_bytes() - first
    assert growth < 2 * 2**20, f"memory grew by {growth / 2**20:.1f} MiB"


# ---------------------------------------------------------------- the C queues


@pytest.mark.parametrize("kind", [lib.PC_QBENCH_MPSC, lib.PC_QBENCH_RING], ids=["mpsc", "ring"])
@pytest.mark.parametrize("producers", [1, 2, 4])
def test_c_queue_validate(kind, producers):
    """The C queues alone: every value arrives, each producer's in order
    (pc_qbench_run checks and returns -1 otherwise)."""
    assert lib.pc_qbench_run(kind, producers, scaled(200_000)) > 0


def test_c_queue_bad_arguments():
    assert lib.pc_qbench_run(99, 1, 10) == -1
    assert lib.pc_qbench_run(lib.PC_QBENCH_MPSC, 0, 10) == -1
    assert lib.pc_qbench_run(lib.PC_QBENCH_MPSC, 1, 0) == -1


@pytest.mark.skipif(sys.platform != "linux", reason="futex backend on Linux")
def test_park_backend():
    from pyconc._native import ffi

    assert ffi.string(lib.pc_park_backend()) == b"futex"
