"""pyconc.ipc.channel: a multi-producer single-consumer channel between processes.

Length: every call of the process channel, each under fork and spawn;
the faults live in test_ipc_faults.py, fork pipelines in test_ipc_fork.py.
"""

import os
import pickle
import signal
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipc_children as kids
from conftest import scaled
import ipc_support
from ipc_support import join_all, run
from pyconc import ipc
from pyconc._native import lib
from pyconc.errors import (
    ChannelError,
    Disconnected,
    Empty,
    Full,
    HandleClosed,
    SendError,
    Timeout,
)

no_stale_segments = pytest.fixture(autouse=True)(ipc_support.no_stale_segments)
ctx = pytest.fixture(params=ipc_support.START_METHODS)(ipc_support.start_method)

pytestmark = pytest.mark.timeout(120)


# ------------------------------------------------------------ one process


def test_send_and_receive_objects_and_bytes():
    tx, rx = ipc.channel()
    tx.send({"a": [1, 2.5, None]})
    tx.send_bytes(b"raw")
    tx.send_bytes(bytearray(b"ba"))
    tx.send_bytes(memoryview(b"mv"))
    tx.try_send(("t", 1))
    assert len(rx) == 5
    assert rx.recv() == {"a": [1, 2.5, None]}
    assert rx.recv_bytes() == b"raw"
    assert rx.try_recv_bytes() == b"ba"
    assert rx.recv_bytes(timeout=1) == b"mv"
    assert rx.try_recv() == ("t", 1)
    assert len(rx) == 0
    with pytest.raises(Empty):
        rx.try_recv()
    tx.close()
    rx.close()


def test_empty_bytes_and_zero_timeout():
    tx, rx = ipc.channel()
    tx.send_bytes(b"")
    assert rx.recv_bytes(timeout=0) == b""
    with pytest.raises(Timeout):
        rx.recv(timeout=0)
    tx.close()
    rx.close()


def test_recv_times_out():
    tx, rx = ipc.channel()
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        rx.recv(timeout=0.2)
    assert time.monotonic() - t0 >= 0.19
    with pytest.raises(TimeoutError):  # Timeout is a TimeoutError too
        rx.recv_timeout(0.01)
    tx.close()
    rx.close()


def test_full_ring_raises_full_and_send_times_out():
    tx, rx = ipc.channel(1024)  # 16 cells of 64 bytes
    payload = b"x" * 48  # one cell each (the most a record's first cell holds)
    for _ in range(16):
        tx.try_send_bytes(payload)
    with pytest.raises(Full) as info:
        tx.try_send_bytes(payload)
    assert info.value.value == payload
    with pytest.raises(Full) as info:
        tx.try_send("obj")
    assert info.value.value == "obj"
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        tx.send_bytes(payload, timeout=0.2)
    assert time.monotonic() - t0 >= 0.19
    assert rx.recv_bytes() == payload
    tx.send_bytes(payload, timeout=1)  # room again
    assert len(rx.recv_bytes_many(100)) == 16
    tx.close()
    rx.close()


def test_oversized_records_fail_at_once():
    tx, rx = ipc.channel(1024)
    limit = tx.max_record_bytes
    assert limit == 16 * 56 - 8  # 16 cells: 48 payload bytes, then 56 each
    tx.send_bytes(b"y" * limit)  # the whole ring
    assert rx.recv_bytes() == b"y" * limit
    for call in (tx.send_bytes, tx.try_send_bytes):
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="larger"):
            call(b"z" * (limit + 1))
        assert time.monotonic() - t0 < 5  # never waits for room
    with pytest.raises(ValueError, match="larger"):
        tx.send(b"z" * limit)  # the pickle is larger still
    with pytest.raises(ValueError):
        tx.send_bytes(b"z" * (limit + 1), timeout=None)
    assert len(rx) == 0
    tx.close()
    rx.close()


def test_records_wrap_around_the_ring():
    tx, rx = ipc.channel(1024)
    for i in range(scaled(500)):
        body = bytes([i % 251]) * (i % 300)
        tx.send_bytes(body)
        assert rx.recv_bytes() == body
    tx.close()
    rx.close()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=40), st.integers(1, 7))
def test_any_sequence_of_records_arrives_intact(records, batch):
    tx, rx = ipc.channel(2048)
    got = []
    pending = list(records)
    while pending or len(got) < len(records):
        while pending:
            try:
                tx.try_send_bytes(pending[0])
            except Full:
                break
            pending.pop(0)
        got.extend(rx.recv_bytes_many(batch, timeout=0) if len(rx) else [])
    assert got == records
    tx.close()
    rx.close()


def test_big_records_grow_the_receive_buffer():
    tx, rx = ipc.channel(1 << 20)
    big = os.urandom(200_000)
    tx.send_bytes(big)
    tx.send(big)
    assert rx.recv_bytes() == big
    assert rx.recv_many(10) == [big]
    tx.close()
    rx.close()


def test_send_many_recv_many_iteration_and_try_iter():
    tx, rx = ipc.channel()
    assert tx.send_many(range(1000)) == 1000
    assert rx.recv_many(10) == list(range(10))
    assert list(rx.try_iter()) == list(range(10, 1000))
    tx.send_many(["a", "b"])
    tx.close()
    assert list(rx) == ["a", "b"]  # ends at Disconnected
    with pytest.raises(Disconnected):
        rx.recv_many()
    with pytest.raises(ValueError):
        rx.recv_many(0)
    with pytest.raises(TypeError):
        rx.recv_many("3")
    rx.close()


def test_send_many_reports_how_many_were_sent():
    tx, rx = ipc.channel(1024)
    with pytest.raises(Timeout) as info:
        tx.send_many((b"q" * 20 for _ in range(100)), timeout=0.1)  # 1 cell each
    assert info.value.sent == 16
    assert len(rx) == 16
    tx.close()
    rx.close()


def test_disconnect_when_every_sender_is_gone():
    tx, rx = ipc.channel()
    tx2 = tx.clone()
    tx.send(1)
    tx.close()
    tx2.send(2)
    del tx2  # garbage collection closes a Sender
    assert rx.recv() == 1
    assert rx.recv() == 2  # drained before Disconnected
    with pytest.raises(Disconnected):
        rx.recv()
    with pytest.raises(Disconnected):
        rx.try_recv()
    rx.close()


def test_disconnect_when_the_receiver_closes():
    tx, rx = ipc.channel(1024)
    rx.close()
    with pytest.raises(Disconnected):
        tx.send(1)
    with pytest.raises(Disconnected):
        tx.try_send(1)
    # As pyconc.channel's: also a SendError holding what was not sent.
    with pytest.raises(SendError) as info:
        tx.send_bytes(b"kept")
    assert info.value.value == b"kept" and isinstance(info.value, ipc.ReceiverGone)
    tx.close()


def test_iteration_protocols():
    import asyncio

    tx, rx = ipc.channel()
    tx.send_many(range(5))
    assert iter(rx) is rx and next(rx) == 0
    tx.close()
    assert list(rx) == [1, 2, 3, 4]
    with pytest.raises(StopIteration):
        next(rx)
    tx, rx = ipc.channel()
    tx.send_many("ab")
    tx.close()

    async def drain():
        return [x async for x in rx]

    assert asyncio.run(drain()) == ["a", "b"]
    rx.close()


def test_closed_ends_raise():
    tx, rx = ipc.channel()
    tx.close()
    tx.close()
    # Use after one's own close(): HandleClosed (a ValueError), the rule
    # of pyconc.errors.
    with pytest.raises(HandleClosed, match="closed"):
        tx.send(1)
    with pytest.raises(HandleClosed, match="closed"):
        tx.clone()
    rx.close()
    with pytest.raises(HandleClosed, match="closed"):
        rx.recv()
    with pytest.raises(HandleClosed, match="closed"):
        len(rx)
    with pytest.raises(HandleClosed):
        pickle.dumps(rx)


def test_a_blocked_recv_lets_other_threads_run_and_is_woken():
    tx, rx = ipc.channel()
    got = []
    t = threading.Thread(target=lambda: got.append(rx.recv(timeout=30)))
    t.start()
    time.sleep(0.1)
    progress = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.1:
        progress += 1
    tx.send("late")
    t.join(30)
    assert got == ["late"] and progress > 1000
    tx.close()
    rx.close()


def test_a_signal_interrupts_a_blocked_recv():
    tx, rx = ipc.channel()

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        t0 = time.monotonic()
        with pytest.raises(Interrupted):
            rx.recv(timeout=30)
        assert time.monotonic() - t0 < 10
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    tx.close()
    rx.close()


def test_recv_async():
    import asyncio

    tx, rx = ipc.channel()

    async def main():
        task = asyncio.ensure_future(rx.recv_async(timeout=30))
        await asyncio.sleep(0.05)
        tx.send("async")
        return await task

    assert asyncio.run(main()) == "async"
    with pytest.raises(Timeout):
        asyncio.run(rx.recv_async(timeout=0.05))
    tx.close()
    with pytest.raises(Disconnected):
        asyncio.run(rx.recv_async(timeout=5))
    rx.close()


def test_bad_input():
    for bad in (0, -1):
        with pytest.raises(ValueError):
            ipc.channel(bad)
    for bad in ("1024", 1.5, True, None):
        with pytest.raises(TypeError):
            ipc.channel(bad)
    with pytest.raises(ValueError, match="too large"):
        ipc.channel(1 << 50)
    with pytest.raises(FileNotFoundError):
        ipc.Sender.attach("pc_not_a_channel")
    with pytest.raises(FileNotFoundError):
        ipc.Receiver.attach("pc_not_a_channel")
    counter = ipc.SharedAtomicInt()
    with pytest.raises(ValueError):
        ipc.Sender.attach(counter.name)
    counter.close()
    tx, rx = ipc.channel()
    with pytest.raises(TypeError):
        tx.send_bytes(12)
    with pytest.raises(TypeError):
        tx.send_bytes("text")
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        tx.send(lambda: None)  # unpicklable: nothing is sent
    assert len(rx) == 0
    with pytest.raises(ValueError):
        tx.send(1, timeout=-1)
    tx.close()
    rx.close()


def test_attach_by_name():
    tx, rx = ipc.channel()
    tx2 = ipc.Sender.attach(tx.name)
    tx2.send("via name")
    assert rx.recv() == "via name"
    tx.close()
    tx2.close()
    rx.close()


# ------------------------------------------------------------ processes


def check_exact(received, producers, n):
    """Exact totals, and every producer's items in the order it sent them."""
    assert len(received) == producers * n
    nxt = {}
    for ident, i in received:
        assert nxt.get(ident, 0) == i, f"producer {ident}: got {i}, expected {nxt.get(ident, 0)}"
        nxt[ident] = i + 1
    assert nxt == {k: n for k in range(producers)}


@pytest.mark.parametrize("capacity", [1 << 20, 4096])
def test_four_producer_processes_exact_totals_and_order(ctx, capacity):
    n = scaled(5_000)
    tx, rx = ipc.channel(capacity)
    procs = [run(ctx, kids.produce, tx, k, n) for k in range(4)]
    tx.close()  # the children hold their own Senders
    received = list(rx)  # until every child's Sender is gone
    assert join_all(procs) == [0] * 4
    check_exact(received, 4, n)
    assert rx.skipped == 0
    rx.close()


def test_producers_using_send_many_and_a_consumer_using_recv_many(ctx):
    n = scaled(5_000)
    tx, rx = ipc.channel(8192)
    procs = [run(ctx, kids.produce_many, tx, k, n) for k in range(4)]
    tx.close()
    received = []
    while True:
        try:
            received.extend(rx.recv_many(100, timeout=60))
        except Disconnected:
            break
    assert join_all(procs) == [0] * 4
    check_exact(received, 4, n)
    rx.close()


def test_variable_size_records_from_processes_are_intact(ctx):
    n = scaled(300)
    tx, rx = ipc.channel(1 << 16)
    sizes = [8, 700, 5000]
    procs = [run(ctx, kids.produce_bytes, tx, k, n, sizes[k]) for k in range(3)]
    tx.close()
    nxt = [0, 0, 0]
    for body in iter(lambda: rx.recv_bytes(timeout=60), None):
        ident = body[8] if len(body) > 8 else 0
        i = int.from_bytes(body[:8], "little")
        assert len(body) == sizes[ident] and body[8:] == bytes([ident]) * (sizes[ident] - 8)
        assert i == nxt[ident]
        nxt[ident] += 1
        if nxt == [n] * 3:
            break
    assert join_all(procs) == [0] * 3
    with pytest.raises(Disconnected):
        rx.recv(timeout=30)
    rx.close()


def test_consumer_in_a_child_process(ctx):
    n = scaled(2_000)
    tx, rx = ipc.channel(4096)
    out = ctx.Queue()
    p = run(ctx, kids.consume, rx, 2 * n, out)
    producer = run(ctx, kids.produce, tx, 1, n)
    for i in range(n):
        tx.send((0, i), timeout=60)
    got = out.get(timeout=120)
    assert join_all([p, producer]) == [0, 0]
    check_exact(got, 2, n)
    tx.close()
    rx.close()


def test_a_pickled_receiver_moves():
    tx, rx = ipc.channel()
    moved = pickle.loads(pickle.dumps(rx))
    with pytest.raises(ChannelError, match="pickled"):
        rx.recv(timeout=0)
    tx.send(5)
    assert moved.recv() == 5
    rx.close()  # no longer the receiving side: does not disconnect
    tx.send(6)
    assert moved.recv() == 6
    moved.close()
    with pytest.raises(Disconnected):
        tx.send(7)
    tx.close()


def test_wakeups_cross_processes(ctx):
    # The child waits in C for up to 10 s on the shared futex; only a
    # process-shared wake brings it back early.
    tx, rx = ipc.channel()
    result = ctx.Queue()
    p = run(ctx, kids.wait_recv_long, rx, result)
    time.sleep(0.5)
    tx.send("wake")
    r, waited, got = result.get(timeout=60)
    join_all([p])
    assert waited < 5, "the send did not wake the other process"
    assert got == "wake"
    tx.close()
    rx.close()


# ------------------------------------------------------------ faults


def test_consumer_exit_disconnects_blocked_producers(ctx):
    tx, rx = ipc.channel(1024)
    started = ctx.Event()
    consumer = run(ctx, kids.consume_then_exit, rx, 5, started)
    assert started.wait(60)
    result = ctx.Queue()
    producer = run(ctx, kids.send_until_disconnected, tx, result)
    what, sent = result.get(timeout=60)
    assert what == "disconnected"
    assert sent >= 5
    assert join_all([consumer, producer]) == [0, 0]
    with pytest.raises(Disconnected):
        tx.send(1, timeout=30)
    tx.close()
    rx.close()


def test_killed_consumer_disconnects_blocked_producers(ctx):
    tx, rx = ipc.channel(1024)
    started = ctx.Event()
    consumer = run(ctx, kids.consume_then_die, rx, started)
    tx.send("first")
    assert started.wait(60)
    join_all([consumer])
    assert consumer.exitcode == -signal.SIGKILL
    t0 = time.monotonic()
    with pytest.raises(Disconnected):
        for i in range(10_000):  # fills the ring, then must not block forever
            tx.send(i, timeout=30)
    assert time.monotonic() - t0 < 30
    tx.close()
    rx.close()


@pytest.mark.test_hooks
def test_a_producer_killed_mid_send_is_skipped_and_counted(ctx):
    n = scaled(2_000)
    tx, rx = ipc.channel(1 << 16)
    tx.send((0, 0))
    ready = ctx.Event()
    victim = run(ctx, kids.abandon_then_die, tx, ready)
    assert ready.wait(60)
    join_all([victim])
    assert victim.exitcode == -signal.SIGKILL
    tx.send((0, 1))  # before the others can fill the ring: we consume
    others = [run(ctx, kids.produce, tx, k, n) for k in (1, 2)]
    tx.close()
    received = list(rx)  # must not hang on the abandoned record
    assert join_all(others) == [0, 0]
    assert rx.skipped == 1
    nxt = {}
    for ident, i in received:
        assert nxt.get(ident, 0) == i
        nxt[ident] = i + 1
    assert nxt == {0: 2, 1: n, 2: n}
    rx.close()


@pytest.mark.test_hooks
def test_a_record_claimed_by_a_live_process_is_never_skipped():
    # A slow producer is not a dead one: its claimed record waits for it,
    # even past the wrap point and with every Sender closed.
    tx, rx = ipc.channel(1024)  # 16 cells
    tx.send_bytes(b"a" * 300)  # 6 cells
    assert tx._c.debug_abandon(500) == 0  # 10 cells, wrapping
    assert rx.recv_bytes() == b"a" * 300
    with pytest.raises(Timeout):
        rx.recv(timeout=0.2)
    assert rx.skipped == 0
    with pytest.raises(Full):
        tx.try_send_bytes(b"b" * 500)  # the claimed record holds the space
    tx.close()
    with pytest.raises(Timeout):
        rx.recv(timeout=0.2)  # not Disconnected: a record is still coming
    assert rx.skipped == 0 and len(rx) == 1
    rx.close()


def test_producers_killed_at_random_never_corrupt_others(ctx):
    rounds = scaled(3)
    size = 256 * 1024
    for _ in range(rounds):
        tx, rx = ipc.channel(1 << 20)
        started = ctx.Semaphore(0)
        victims = [run(ctx, kids.send_big_forever, tx, 9, size, started) for _ in range(2)]
        n = 200
        good = run(ctx, kids.produce_bytes, tx, 1, n, 300)
        tx.close()
        seen_good = 0
        deadline = time.monotonic() + 120
        killed = False
        while seen_good < n:
            assert time.monotonic() < deadline, "consumer made no progress"
            try:
                body = rx.recv_bytes(timeout=60)
            except Disconnected:
                break
            ident = body[8]
            if ident == 1:
                assert len(body) == 300 and body[9:] == b"\x01" * 291
                assert int.from_bytes(body[:8], "little") == seen_good
                seen_good += 1
            else:
                assert len(body) == size and body[8:] == b"\x09" * (size - 8)
            if not killed and seen_good >= n // 4:
                # Once both are sending (a child killed before it has even
                # unpickled its Sender is another matter: see Sender).
                for _ in victims:
                    assert started.acquire(timeout=60)
                for v in victims:
                    os.kill(v.pid, signal.SIGKILL)
                killed = True
        assert seen_good == n
        join_all([good])
        for v in victims:
            v.join(30)
        # Drain: whatever the victims left must be skipped, not hang us.
        while True:
            try:
                body = rx.recv_bytes(timeout=60)
            except Disconnected:
                break
            assert len(body) == size and body[8:] == b"\x09" * (size - 8)
        rx.close()


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm")
def test_a_damaged_ring_is_refused():
    import mmap

    tx, rx = ipc.channel()
    with open("/dev/shm/" + tx.name, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        m[4096:4104] = b"\0" * 8  # the ring's magic (pc_shring_t.magic)
    with pytest.raises(ValueError, match="damaged"):
        ipc.Sender.attach(tx.name)
    with pytest.raises(ValueError, match="damaged"):
        ipc.Receiver.attach(tx.name)
    tx.close()
    rx.close()  # the last user: the name goes (checked by the fixture)


def test_threads_sharing_one_receiver_get_every_record_once_and_intact():
    import sys

    n = 20_000  # about 6.4 MB of cells: they all fit in the ring below
    for _ in range(scaled(1)):
        tx, rx = ipc.channel(1 << 24)
        for i in range(n):  # a full ring: every receive finds a record
            tx.try_send((i, "x" * (i % 200)))
        tx.close()
        got = [[] for _ in range(4)]
        errors = []

        def consume(k):
            try:
                while True:
                    try:
                        if k % 2:
                            got[k].append(rx.recv(timeout=30))
                        else:
                            got[k].extend(rx.recv_many(7, timeout=30))
                    except Disconnected:
                        return
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible
        try:
            threads = [threading.Thread(target=consume, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        finally:
            sys.setswitchinterval(old)
        assert not errors
        items = sorted(item for part in got for item in part)
        assert items == [(i, "x" * (i % 200)) for i in range(n)]
        rx.close()


def test_too_many_sender_processes_is_a_clear_error(monkeypatch):
    tx, rx = ipc.channel()
    # Give every other producer slot to a distinct live id (slots only
    # record ids, and Linux answers kill(tid, 0) for a thread's id too):
    # the ids of threads parked here, then try to register one more.
    assert ipc.MAX_SENDER_PROCESSES == lib.PC_SHRING_SLOTS == 256
    stop = threading.Event()
    ids = []
    lock = threading.Lock()

    def park():
        with lock:
            ids.append(threading.get_native_id())
        stop.wait(60)

    threads = [threading.Thread(target=park) for _ in range(lib.PC_SHRING_SLOTS - 1)]
    for t in threads:
        t.start()
    try:
        while len(ids) < len(threads):
            time.sleep(0.01)
        for tid in ids:
            assert lib.pc_ipc_pid_alive(tid)
            assert tx._c.register(tid) >= 0
        # A Sender in a new process (we pretend to be one) finds no slot.
        monkeypatch.setattr(ipc._procs, "pid", 4_000_000)
        with pytest.raises(ChannelError, match="too many processes.*at most 256"):
            ipc.Sender.attach(tx.name)
        monkeypatch.undo()
    finally:
        stop.set()
        for t in threads:
            t.join()
    tx.close()
    rx.close()


def test_closing_the_receiver_wakes_a_thread_blocked_in_recv():
    tx, rx = ipc.channel()
    outcome = []

    def blocked():
        t0 = time.monotonic()
        try:
            rx.recv(timeout=30)
        except HandleClosed as exc:  # its own handle, closed by another thread
            outcome.append((exc, time.monotonic() - t0))

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.2)
    rx.close()
    t.join(30)
    assert outcome and "closed" in str(outcome[0][0])
    assert outcome[0][1] < 10  # woken, not timed out
    tx.close()


# ------------------------------------------------------- hostile callers

HOSTILE = [None, True, -1, 0, 2**64, -(2**70), 1.5, float("nan"), "x", b"", object(), [1]]


def test_the_c_handle_survives_hostile_arguments_and_assignments():
    from pyconc._core import IpcHandle

    tx, rx = ipc.channel(1024)
    c = rx._c
    hooks = ("debug_abandon",) if hasattr(c, "debug_abandon") else ()  # (test builds)
    for name in ("send", "try_send", "send_bytes", *hooks):
        with pytest.raises(TypeError, match="not a Sender"):
            getattr(c, name)(b"x")
    for name in ("recv", "try_recv", "recv_bytes"):
        with pytest.raises(TypeError, match="not a Receiver"):
            getattr(tx._c, name)()
    # Every method with every hostile argument (and arity): Python
    # exceptions only, never a crash; the handle still works afterwards.
    for name in dir(c):
        if name.startswith("__") or name in ("close", "close_receiver", "set_receiver",
                                             "debug_die_in_recv", "wait_recv"):
            continue
        meth = getattr(c, name)
        if not callable(meth):
            continue
        hostile = HOSTILE
        if "send" in name or "recv" in name:  # (None: wait for ever)
            # (None and large numbers: valid timeouts, waits)
            hostile = [a for a in HOSTILE if a is None or not isinstance(a, (int, float))
                       or isinstance(a, bool) or a != a or a < 0]
            hostile = [a for a in hostile if a is not None]
        calls = [(a,) for a in hostile] + [(a, a) for a in hostile] + [(a, 0, a) for a in hostile]
        if hostile is HOSTILE or name.startswith("try_"):
            calls.append(())
        for args in calls:
            try:
                meth(*args)
            except (TypeError, ValueError, OverflowError, pickle.PickleError,
                    AttributeError, EOFError) + (Empty, Full, Timeout, Disconnected,
                                                 ChannelError):
                pass
    for data in ([1], "s", 2**70, None):
        with pytest.raises(TypeError):
            tx.send_bytes(data)
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises((TypeError, ValueError)):
            rx.recv(timeout=bad)
        with pytest.raises((TypeError, ValueError)):
            tx.send(1, timeout=bad)
    # The handle keeps no address a user could change, and refuses copies.
    with pytest.raises((AttributeError, TypeError)):
        c.ring = 8
    with pytest.raises(TypeError):
        pickle.dumps(c)
    # Whatever is assigned to the Python objects' slots, no crash.
    real = tx._c
    tx._c = 8
    with pytest.raises(AttributeError):
        tx.send(1)
    tx._c = rx._c  # another valid handle: works, or fails cleanly
    # Handles over memory that is not a ring, or out of bounds: refused.
    with pytest.raises(ValueError):
        IpcHandle(bytearray(8192), 64, 100, 4096)  # no ring there
    with pytest.raises(ValueError):
        IpcHandle(bytearray(100), 64, 1000, -1)  # table beyond the end
    with pytest.raises((TypeError, BufferError)):
        IpcHandle(b"read-only" * 1000, 64, 10, -1)
    big = bytearray(1 << 16)
    h = IpcHandle(big, 64, 10, -1)
    with pytest.raises(BufferError):  # the buffer stays exported while h lives
        big.extend(b"x")
    del h
    tx._c = ipc._IpcHandle(bytearray(8192), 64, 10, -1)  # no ring
    with pytest.raises(TypeError):
        tx.send(1)
    tx._c = real
    tx.close()
    rx.close()
