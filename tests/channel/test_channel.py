"""pyconc.channel / sync_channel: behaviour of every call, one at a time.

Length: every call of the three flavors, one at a time; many receivers
are in test_channel_mpmc.py, select in test_select.py.
"""

import copy
import gc
import math
import pickle
import queue
import threading
import time
import weakref

import pytest

import pyconc
from pyconc import (
    ChannelError,
    Disconnected,
    Empty,
    Full,
    Receiver,
    SendError,
    Sender,
    Timeout,
    channel,
    sync_channel,
)

KINDS = {
    "channel": channel,
    "sync_channel(1)": lambda: sync_channel(1),
    "sync_channel(3)": lambda: sync_channel(3),
    "sync_channel(1024)": lambda: sync_channel(1024),
}
BUFFERED = {k: v for k, v in KINDS.items() if k != "sync_channel(1)"}


class Obj:
    """A value we can hold a weak reference to."""

    def __init__(self, n=0):
        self.n = n


def in_thread(fn, *args):
    """Start fn(*args) in a thread; return (thread, results list, errors list)."""
    results, errors = [], []

    def run():
        try:
            results.append(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, results, errors


def wait_until(cond, limit=10.0):
    """Poll cond() until true (a liveness helper, not a timing assertion)."""
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


def receiver_busy(rx):
    """True while another thread is inside a receive on rx."""
    return rx._state()[4] == 1


# ---------------------------------------------------------------- basics


def test_exports_and_error_hierarchy():
    for name in ("channel", "sync_channel", "Sender", "Receiver", "ChannelError",
                 "SendError", "Empty", "Full", "Disconnected", "Timeout"):
        assert name in pyconc.__all__
    for exc in (SendError, Empty, Full, Disconnected):
        assert issubclass(exc, ChannelError)
    # Timeout is raised by every blocking call (locks too), so it is not a
    # ChannelError; it is a TimeoutError and, as every error, a PyconcError.
    assert issubclass(Timeout, TimeoutError)
    for exc in (ChannelError, Timeout, pyconc.WouldBlock, pyconc.PoisonError):
        assert issubclass(exc, pyconc.PyconcError)
    assert issubclass(pyconc.HandleClosed, ValueError)
    assert issubclass(pyconc.Closed, Disconnected)
    assert issubclass(Empty, queue.Empty)
    assert issubclass(Full, queue.Full)


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_types(make):
    tx, rx = make()
    assert isinstance(tx, Sender) and isinstance(rx, Receiver)
    assert not tx.closed and not rx.closed


@pytest.mark.parametrize("make", BUFFERED.values(), ids=BUFFERED.keys())
def test_fifo_and_len(make):
    tx, rx = make()
    tx.send(1)
    tx.send("two")
    tx.try_send(None)
    assert len(rx) == 3
    assert rx.recv() == 1
    assert rx.try_recv() == "two"
    assert rx.recv(timeout=1) is None
    assert len(rx) == 0


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_try_recv_empty_then_disconnected(make):
    tx, rx = make()
    with pytest.raises(Empty, match="empty"):
        rx.try_recv()
    tx.close()
    with pytest.raises(Disconnected, match="Sender"):
        rx.try_recv()
    with pytest.raises(Disconnected):
        rx.recv()


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_values_survive_the_last_sender(make):
    tx, rx = make()
    tx.send("a")
    tx.close()
    assert rx.recv() == "a"
    with pytest.raises(Disconnected):
        rx.recv()


def test_recv_timeout():
    tx, rx = channel()
    with pytest.raises(Timeout, match="timed out") as info:
        rx.recv(timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(Timeout):
        rx.recv(0)
    with pytest.raises(Timeout):
        rx.recv(timeout=0.0)
    tx.send(7)
    assert rx.recv(timeout=0) == 7


def test_recv_waits_for_a_value():
    tx, rx = channel()
    t, results, errors = in_thread(rx.recv)
    wait_until(lambda: receiver_busy(rx))
    tx.send("late")
    t.join(10)
    assert results == ["late"] and not errors


def test_recv_wakes_on_disconnect():
    tx, rx = channel()
    t, results, errors = in_thread(rx.recv)
    wait_until(lambda: receiver_busy(rx))
    tx.close()
    t.join(10)
    assert not results and isinstance(errors[0], Disconnected)


def test_iteration_ends_on_disconnect():
    tx, rx = channel()
    tx2 = tx.clone()

    def produce():
        for i in range(100):
            (tx if i % 2 else tx2).send(i)
        tx.close()
        tx2.close()

    t, _, errors = in_thread(produce)
    got = list(rx)
    t.join(10)
    assert not errors
    assert sorted(got) == list(range(100))


def test_try_iter():
    tx, rx = channel()
    tx.send_many([1, 2, 3])
    assert list(rx.try_iter()) == [1, 2, 3]
    assert list(rx.try_iter()) == []
    tx.send(4)
    tx.close()
    assert list(rx.try_iter()) == [4]
    assert list(rx.try_iter()) == []


def test_iter_of_a_closed_receiver_is_empty():
    tx, rx = channel()
    tx.send(1)
    rx.close()
    assert list(rx) == []


# ------------------------------------------------------ senders, closing


def test_clone_and_close_counts():
    tx, rx = channel()
    tx2 = tx.clone()
    tx.close()
    tx.close()  # idempotent
    assert tx.closed
    tx2.send(1)
    assert rx.recv() == 1
    with pytest.raises(Empty):
        rx.try_recv()  # tx2 still alive: empty, not disconnected
    tx2.close()
    with pytest.raises(Disconnected):
        rx.try_recv()


def test_closed_sender_refuses():
    tx, rx = channel()
    tx.close()
    for call in (lambda: tx.send(1), lambda: tx.try_send(1), lambda: tx.clone(),
                 lambda: tx.send_many([1]), lambda: tx.send_timeout(1, 1)):
        with pytest.raises(ChannelError, match="Sender is closed"):
            call()


def test_sender_context_manager():
    tx, rx = channel()
    with tx as t:
        assert t is tx
        t.send(1)
    assert tx.closed
    assert list(rx) == [1]


def test_garbage_collected_sender_disconnects():
    tx, rx = channel()
    tx.send(1)
    del tx
    gc.collect()
    assert rx.recv() == 1
    with pytest.raises(Disconnected):
        rx.recv(timeout=5)


def test_garbage_collected_clone_disconnects():
    tx, rx = channel()
    clones = [tx.clone() for _ in range(10)]
    tx.close()
    del clones
    gc.collect()
    with pytest.raises(Disconnected):
        rx.recv(timeout=5)


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_send_to_closed_receiver(make):
    tx, rx = make()
    rx.close()
    rx.close()  # idempotent
    assert rx.closed
    value = Obj()
    with pytest.raises(SendError, match="Receiver is closed") as info:
        tx.send(value)
    assert info.value.value is value
    with pytest.raises(SendError) as info:
        tx.try_send(value)
    assert info.value.value is value
    with pytest.raises(SendError) as info:
        tx.send_timeout(value, 1)
    assert info.value.value is value


def test_closed_receiver_refuses():
    tx, rx = channel()
    tx.send(1)
    rx.close()
    for call in (rx.recv, rx.try_recv, lambda: rx.recv_many(5),
                 lambda: rx.recv(timeout=1)):
        with pytest.raises(pyconc.HandleClosed, match="closed Receiver"):
            call()


def test_receiver_context_manager_closes():
    tx, rx = channel()
    with rx:
        tx.send(1)
    assert rx.closed
    with pytest.raises(SendError):
        tx.send(2)


def test_dropped_receiver_disconnects_senders():
    tx, rx = channel()
    del rx
    gc.collect()
    with pytest.raises(SendError):
        tx.send(1)


def test_handles_cannot_be_made_pickled_or_copied():
    tx, rx = channel()
    with pytest.raises(TypeError, match="channel"):
        Sender()
    with pytest.raises(TypeError):
        Receiver()
    for h in (tx, rx):
        with pytest.raises(TypeError):
            pickle.dumps(h)
        with pytest.raises(TypeError):
            copy.copy(h)


def test_repr():
    tx, rx = sync_channel(4)
    tx.send(1)
    assert "sync_channel(4)" in repr(tx) and "open" in repr(tx)
    assert "1 queued" in repr(rx)
    tx.close()
    assert "closed" in repr(tx)
    assert "channel()" in repr(channel()[0])
    assert "sync_channel(0)" in repr(sync_channel(0)[1])


def test_weakrefs():
    tx, rx = channel()
    assert weakref.ref(tx)() is tx
    assert weakref.ref(rx)() is rx


# ---------------------------------------------------------- bad arguments


@pytest.mark.parametrize("bound, exc", [
    (-1, ValueError), (-(2**70), ValueError), (1.5, TypeError), ("3", TypeError),
    (None, TypeError), (True, TypeError), (2**33, OverflowError),
])
def test_sync_channel_bad_bound(bound, exc):
    with pytest.raises(exc, match="bound"):
        sync_channel(bound)


@pytest.mark.parametrize("timeout, exc", [
    ("1", TypeError), (b"1", TypeError), ([], TypeError), (True, TypeError),
    (-1, ValueError), (-0.5, ValueError), (math.nan, ValueError),
])
def test_bad_timeouts(timeout, exc):
    tx, rx = sync_channel(1)
    tx.send(1)  # a value is ready: the timeout is checked anyway
    with pytest.raises(exc):
        rx.recv(timeout=timeout)
    with pytest.raises(exc):
        rx.recv(timeout)
    with pytest.raises(exc):
        rx.recv_many(3, timeout=timeout)
    with pytest.raises(exc):
        tx.send_timeout(2, timeout)
    assert rx.recv() == 1  # nothing was consumed by the failed calls


@pytest.mark.parametrize("timeout", [1e300, math.inf, threading.TIMEOUT_MAX, 2**100])
def test_huge_timeouts_wait_forever(timeout):
    # Any timeout longer than the platform can wait means "no limit", as
    # for every blocking call of the library (it used to be OverflowError).
    tx, rx = sync_channel(1)
    tx.send(1)
    assert rx.recv(timeout=timeout) == 1
    tx.send_timeout(2, timeout)
    assert rx.recv_many(3, timeout=timeout) == [2]
    h = threading.Thread(target=lambda: (time.sleep(0.05), tx.send(3)))
    h.start()
    assert rx.recv(timeout) == 3
    h.join()


@pytest.mark.parametrize("max_items, exc", [
    (0, ValueError), (-3, ValueError), ("2", TypeError), (2.0, TypeError),
    (None, TypeError), (True, TypeError),
])
def test_recv_many_bad_max_items(max_items, exc):
    tx, rx = channel()
    tx.send(1)
    with pytest.raises(exc, match="max_items"):
        rx.recv_many(max_items)
    assert rx.recv() == 1


def test_send_many_bad_iterable():
    tx, rx = channel()
    with pytest.raises(TypeError):
        tx.send_many(5)

    def broken():
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tx.send_many(broken())


def test_wrong_arity():
    tx, rx = channel()
    with pytest.raises(TypeError):
        tx.send()
    with pytest.raises(TypeError):
        tx.send(1, 2)
    with pytest.raises(TypeError):
        rx.recv(1, 2)
    with pytest.raises(TypeError):
        rx.recv(bogus=1)


# -------------------------------------------------------- batches


def test_send_many_and_recv_many():
    tx, rx = channel()
    tx.send_many(range(1000))
    tx.send_many([])
    tx.send_many(x for x in ("a", "b"))
    assert len(rx) == 1002
    got = rx.recv_many(10)
    assert got == list(range(10))
    got = rx.recv_many(5000)
    assert got == list(range(10, 1000)) + ["a", "b"]
    with pytest.raises(Timeout):
        rx.recv_many(3, timeout=0.01)
    tx.close()
    with pytest.raises(Disconnected):
        rx.recv_many(3)


def test_recv_many_waits_for_the_first():
    tx, rx = channel()
    t, results, errors = in_thread(rx.recv_many, 10)
    wait_until(lambda: receiver_busy(rx))
    tx.send_many([1, 2, 3])
    t.join(10)
    assert not errors
    assert results[0][0] == 1 and results[0] == [1, 2, 3][: len(results[0])]


def test_send_many_on_a_bounded_channel_waits():
    tx, rx = sync_channel(4)
    t, _, errors = in_thread(tx.send_many, range(100))
    got = []
    while len(got) < 100:
        got.extend(rx.recv_many(7, timeout=10))
    t.join(10)
    assert not errors and got == list(range(100))


def test_send_many_rendezvous():
    tx, rx = sync_channel(0)
    t, _, errors = in_thread(tx.send_many, iter(range(10)))
    got = [rx.recv(timeout=10) for _ in range(10)]
    t.join(10)
    assert not errors and got == list(range(10))


def test_send_many_closed_reports_the_rest():
    tx, rx = sync_channel(2)
    rx.close()
    with pytest.raises(SendError) as info:
        tx.send_many([1, 2, 3])
    assert info.value.value == [1, 2, 3]


def test_send_many_closed_midway_reports_what_was_not_sent():
    tx, rx = sync_channel(2)
    t, _, errors = in_thread(tx.send_many, list(range(10)))
    wait_until(lambda: len(rx) == 2)
    rx.close()
    t.join(10)
    assert isinstance(errors[0], SendError)
    assert errors[0].value == list(range(2, 10))


def test_send_many_sender_closed_while_waiting_releases_the_rest():
    tx, rx = sync_channel(2)
    values = [Obj() for _ in range(6)]
    refs = [weakref.ref(v) for v in values]
    t, _, errors = in_thread(tx.send_many, values)
    del values
    wait_until(lambda: len(rx) == 2)
    time.sleep(0.01)  # the sender is waiting for room
    tx.close()
    t.join(10)
    assert isinstance(errors[0], ChannelError) and "closed" in str(errors[0])
    errors.clear()
    got = list(rx.try_iter())
    assert [r() for r in refs[:2]] == got  # queued before the close
    del got
    gc.collect()
    assert all(r() is None for r in refs)  # nothing leaked, nothing stuck


# -------------------------------------------------------- bounded


def test_bounded_try_send_full():
    tx, rx = sync_channel(2)
    tx.try_send(1)
    tx.try_send(2)
    value = Obj()
    with pytest.raises(Full, match="full") as info:
        tx.try_send(value)
    assert info.value.value is value
    assert rx.recv() == 1
    tx.try_send(3)
    assert [rx.recv(), rx.recv()] == [2, 3]


def test_bounded_send_waits_for_room():
    tx, rx = sync_channel(1)
    tx.send("first")
    t, _, errors = in_thread(tx.send, "second")
    wait_until(lambda: not t.is_alive() or len(rx) == 1)
    assert t.is_alive()  # still waiting: the channel is full
    assert rx.recv() == "first"
    t.join(10)
    assert not errors and rx.recv(timeout=10) == "second"


def test_bounded_send_timeout():
    tx, rx = sync_channel(1)
    tx.send(1)
    value = Obj()
    with pytest.raises(Timeout) as info:
        tx.send_timeout(value, 0.05)
    assert info.value.value is value
    with pytest.raises(Timeout):
        tx.send_timeout(value, 0)
    assert rx.recv() == 1
    tx.send_timeout(2, 0)
    assert rx.recv() == 2
    with pytest.raises(Empty):
        rx.try_recv()


def test_bounded_receiver_close_wakes_a_waiting_sender():
    tx, rx = sync_channel(1)
    tx.send(1)
    t, _, errors = in_thread(tx.send, 2)
    time.sleep(0.05)
    rx.close()
    t.join(10)
    assert isinstance(errors[0], SendError) and errors[0].value == 2


# -------------------------------------------------------- rendezvous


def test_rendezvous_send_waits_for_the_receiver():
    tx, rx = sync_channel(0)
    done = threading.Event()

    def send():
        tx.send("hand")
        done.set()

    t, _, errors = in_thread(send)
    assert not done.wait(0.1)  # nobody received: send is still waiting
    assert rx.recv(timeout=10) == "hand"
    t.join(10)
    assert done.is_set() and not errors


def test_rendezvous_try_send_without_receiver_is_full():
    tx, rx = sync_channel(0)
    with pytest.raises(Full) as info:
        tx.try_send(5)
    assert info.value.value == 5
    with pytest.raises(Empty):
        rx.try_recv()  # the value was taken back, not left behind


def test_rendezvous_try_send_to_a_waiting_receiver():
    tx, rx = sync_channel(0)
    t, results, errors = in_thread(rx.recv, 10)
    wait_until(lambda: receiver_busy(rx))
    for _ in range(100):  # the receiver may not be parked yet: retry
        try:
            tx.try_send("now")
            break
        except Full:
            time.sleep(0.001)
    t.join(10)
    assert results == ["now"] and not errors


def test_rendezvous_timeout_takes_the_value_back():
    tx, rx = sync_channel(0)
    value = Obj()
    with pytest.raises(Timeout) as info:
        tx.send_timeout(value, 0.05)
    assert info.value.value is value
    with pytest.raises(Empty):
        rx.try_recv()  # not duplicated: the receiver never gets it
    ref = weakref.ref(value)
    del value, info
    gc.collect()
    assert ref() is None  # and the channel's reference was released


def test_rendezvous_receiver_close_fails_the_waiting_sender():
    tx, rx = sync_channel(0)
    t, _, errors = in_thread(tx.send, "x")
    time.sleep(0.05)
    rx.close()
    t.join(10)
    assert isinstance(errors[0], SendError) and errors[0].value == "x"


def test_rendezvous_len():
    tx, rx = sync_channel(0)
    assert len(rx) == 0


# -------------------------------------------------------- one receiver


def test_receiver_used_from_two_threads_at_once():
    # Issue 13: a second thread receiving through the same Receiver used to
    # get ChannelError ("one receiving thread at a time"); now both receive
    # (tests/channel/test_channel_mpmc.py has the rest).
    tx, rx = channel()
    t, results, errors = in_thread(rx.recv, 10)
    wait_until(lambda: receiver_busy(rx))
    tx.send_many(["a", "b", "c"])
    got = [rx.recv(timeout=10), rx.try_recv()]
    t.join(10)
    assert not errors and sorted(got + results) == ["a", "b", "c"]
    tx.send("again")
    assert len(rx) == 1 and next(iter(rx)) == "again"


def test_close_receiver_while_another_thread_receives():
    tx, rx = channel()
    t, results, errors = in_thread(rx.recv, 10)
    wait_until(lambda: receiver_busy(rx))
    rx.close()
    t.join(10)
    # The handle was closed under it: HandleClosed (the rule of errors.py).
    assert isinstance(errors[0], pyconc.HandleClosed)
    with pytest.raises(SendError):
        tx.send(1)


# -------------------------------------------------------- leaks


@pytest.mark.parametrize("make", BUFFERED.values(), ids=BUFFERED.keys())
def test_queued_values_released_when_channel_dropped(make):
    tx, rx = make()
    values = [Obj(i) for i in range(3)]
    refs = [weakref.ref(v) for v in values]
    for v in values:
        tx.send(v)
    del values, v
    del tx, rx
    gc.collect()
    assert all(r() is None for r in refs)


@pytest.mark.parametrize("make", BUFFERED.values(), ids=BUFFERED.keys())
def test_queued_values_released_when_receiver_closed(make):
    tx, rx = make()
    v = Obj()
    ref = weakref.ref(v)
    tx.send(v)
    del v
    rx.close()
    gc.collect()
    assert ref() is None
    assert not tx.closed  # the sender lives on


def test_queued_values_released_when_senders_gone_first():
    tx, rx = channel()
    v = Obj()
    ref = weakref.ref(v)
    tx.send_many([v, v, v])
    del v
    tx.close()
    del tx
    gc.collect()
    assert ref() is not None  # still queued for the receiver
    del rx
    gc.collect()
    assert ref() is None


def test_received_values_carry_no_extra_reference():
    tx, rx = channel()
    v = Obj()
    ref = weakref.ref(v)
    tx.send(v)
    tx.send_many([v])
    del v
    a = rx.recv()
    b = rx.recv_many(5)
    del a, b
    gc.collect()
    assert ref() is None


def test_failed_sends_keep_no_reference():
    tx, rx = sync_channel(1)
    tx.send(1)
    v = Obj()
    ref = weakref.ref(v)
    for call in (tx.try_send, lambda x: tx.send_timeout(x, 0.01)):
        try:
            call(v)
        except (Full, Timeout):
            pass
    rx.close()
    try:
        tx.send(v)
    except SendError:
        pass
    del v
    gc.collect()
    assert ref() is None


# -------------------------------------------------------- wake-ups (C level)
#
# The Python layer waits in slices of 50 ms, so a lost wake-up would only
# slow it down.  These call the C waits directly with a 60 s slice: if the
# sender's (or receiver's) wake-up were lost, the waiting thread would not
# come back within the join below.

LONG_NS = 60 * 10**9


@pytest.mark.test_hooks
@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_send_wakes_a_parked_receiver(make):
    tx, rx = make()
    t, results, _ = in_thread(rx._wait_ready, LONG_NS)
    time.sleep(0.05)  # let it park (if it has not, the test still holds)
    tx.try_send(1)
    t.join(10)
    assert not t.is_alive(), "the receiver was not woken by the send"
    assert results == [True]
    assert rx.recv() == 1


@pytest.mark.test_hooks
def test_last_sender_close_wakes_a_parked_receiver():
    tx, rx = channel()
    t, results, _ = in_thread(rx._wait_ready, LONG_NS)
    time.sleep(0.05)
    tx.close()
    t.join(10)
    assert not t.is_alive(), "the receiver was not woken by the disconnect"


@pytest.mark.test_hooks
def test_recv_wakes_a_parked_sender():
    tx, rx = sync_channel(1)
    tx.send(1)
    t, results, _ = in_thread(tx._wait_room, LONG_NS)
    time.sleep(0.05)
    assert rx.recv() == 1
    t.join(10)
    assert not t.is_alive(), "the sender was not woken by the receive"
    assert results == [True]


@pytest.mark.test_hooks
def test_receiver_close_wakes_a_parked_sender():
    tx, rx = sync_channel(1)
    tx.send(1)
    t, results, _ = in_thread(tx._wait_room, LONG_NS)
    time.sleep(0.05)
    rx.close()
    t.join(10)
    assert not t.is_alive(), "the sender was not woken by the close"


@pytest.mark.test_hooks
def test_wait_slices_time_out():
    tx, rx = sync_channel(1)
    assert rx._wait_ready(10**6) is False
    tx.send(1)
    assert tx._wait_room(10**6) is False


def test_subscriptable_for_type_hints_and_documented():
    assert Sender[int] is not None and Receiver[str] is not None
    for fn in (Sender.send, Sender.try_send, Sender.send_many, Sender.clone,
               Sender.close, Sender.send_timeout, Receiver.recv, Receiver.try_recv,
               Receiver.recv_many, Receiver.close, Receiver.try_iter, Receiver.recv_async):
        assert fn.__doc__ and fn.__name__ in fn.__doc__.split("(")[0], fn
