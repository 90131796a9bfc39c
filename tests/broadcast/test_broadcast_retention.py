"""Broadcast values are released once no receiver can still read them, and
the sender-side API of tokio's broadcast (issue 14).

Tests named "port of ..." follow the test of that name in tokio's
tokio/tests/sync_broadcast.rs, rewritten for Python.
"""

import gc
import threading
import weakref

import pytest

import pyconc
from pyconc import Closed, SendError
from pyconc.broadcast import BroadcastWeakSender
from conftest import scaled


class Obj:
    """A value whose release we can watch."""


def _alive(refs):
    gc.collect()
    return sum(r() is not None for r in refs)


def test_value_released_once_every_receiver_read_it():
    tx, rx1 = pyconc.broadcast(16)
    rx2 = tx.subscribe()
    refs = []
    for _ in range(3):
        o = Obj()
        refs.append(weakref.ref(o))
        tx.send(o)
        del o
    assert _alive(refs) == 3
    for _ in range(3):
        rx1.recv()
    assert _alive(refs) == 3  # rx2 has not read them
    got = [rx2.recv() for _ in range(3)]
    assert _alive(refs) == 3  # held by `got` only now
    del got
    assert _alive(refs) == 0


def test_dropping_the_last_receiver_releases_what_it_did_not_read():
    """Port of drop_rx_while_values_remain / the "values dropped when last
    receiver dropped" behaviour."""
    tx, rx = pyconc.broadcast(8)
    refs = []
    for _ in range(5):
        o = Obj()
        refs.append(weakref.ref(o))
        tx.send(o)
        del o
    rx.recv()
    rx.close()
    assert _alive(refs) == 0
    assert tx.len() == 0 and tx.is_empty()


def test_dropping_one_of_two_receivers_releases_only_its_share():
    tx, rx1 = pyconc.broadcast(8)
    rx2 = tx.subscribe()
    o = Obj()
    ref = weakref.ref(o)
    tx.send(o)
    del o
    rx1.recv()
    assert _alive([ref]) == 1
    del rx2  # garbage-collected receiver: same as close()
    assert _alive([ref]) == 0


def test_a_late_subscriber_does_not_keep_old_values():
    tx, rx = pyconc.broadcast(8)
    o = Obj()
    ref = weakref.ref(o)
    tx.send(o)
    del o
    late = tx.subscribe()
    assert rx.recv() is not None
    assert _alive([ref]) == 0  # the late one never could read it
    with pytest.raises(pyconc.Empty):
        late.try_recv()


def test_lagging_receiver_still_gets_what_is_held():
    tx, fast = pyconc.broadcast(2)
    slow = tx.subscribe()
    for i in range(5):
        tx.send(i)
        assert fast.recv() == i
    with pytest.raises(pyconc.Lagged) as info:
        slow.recv()
    assert info.value.missed == 3
    assert [slow.recv(), slow.recv()] == [3, 4]
    assert tx.len() == 0


def test_sender_len_and_is_empty():
    """Port of tokio's sender_len / sender_len_random shape."""
    tx, rx1 = pyconc.broadcast(4)
    rx2 = tx.subscribe()
    assert tx.is_empty() and len(tx) == 0
    for i in range(3):
        tx.send(i)
    assert tx.len() == 3 and len(tx) == 3 and not tx.is_empty()
    rx1.recv()
    assert tx.len() == 3  # rx2 has not read it
    rx2.recv()
    assert tx.len() == 2
    for _ in range(5):
        tx.send("x")
    assert tx.len() == 4  # at most capacity
    rx1.close()
    rx2.close()
    assert tx.len() == 0


def test_broadcast_sender_without_receivers():
    """Port of tokio's Sender::new: a sender first, receivers later."""
    tx = pyconc.broadcast_sender(4)
    assert tx.receiver_count() == 0
    with pytest.raises(SendError) as info:
        tx.send("nobody")
    assert info.value.value == "nobody"
    rx = tx.subscribe()
    assert tx.send(1) == 1
    assert rx.recv() == 1
    with pytest.raises((TypeError, ValueError)):
        pyconc.broadcast_sender(0)


def test_counts():
    """Port of receiver_count_on_sender_constructor and sender counts."""
    tx, rx = pyconc.broadcast(4)
    assert tx.sender_count() == 1 and tx.receiver_count() == 1
    tx2 = tx.clone()
    rx2 = rx.resubscribe()
    assert tx.sender_count() == 2 and tx.receiver_count() == 2
    tx2.close()
    rx2.close()
    assert tx.sender_count() == 1 and tx.receiver_count() == 1


def test_weak_sender_does_not_keep_the_channel_open():
    """Port of tokio's weak_sender / downgrade_upgrade_sender_success and
    ..._failure."""
    tx, rx = pyconc.broadcast(4)
    weak = tx.downgrade()
    assert isinstance(weak, BroadcastWeakSender)
    tx2 = weak.upgrade()
    assert tx2 is not None and tx.sender_count() == 2
    tx2.send("via upgrade")
    assert rx.recv() == "via upgrade"
    tx2.close()
    tx.close()
    assert weak.upgrade() is None  # every strong sender is gone
    assert weak.sender_count() == 0
    with pytest.raises(Closed):
        rx.recv(timeout=1)
    with pytest.raises(pyconc.HandleClosed):
        tx.downgrade()


def test_retention_stress_counts_exactly():
    """Receivers joining and leaving while a sender sends: every value is
    released in the end, and every receiver reads a gap-free run."""
    n = scaled(2000)
    tx, rx = pyconc.broadcast(64)
    refs = []
    lock = threading.Lock()
    done = threading.Event()
    errors = []

    def churn():
        while not done.is_set():
            r = tx.subscribe()
            last = None
            for _ in range(5):
                try:
                    v = r.recv(timeout=0.05)
                except pyconc.Lagged:
                    last = None
                    continue
                except pyconc.Timeout:
                    break
                except Closed:
                    return
                if last is not None and v.i != last + 1:
                    errors.append((last, v.i))
                last = v.i
            r.close()

    class Item:
        def __init__(self, i):
            self.i = i

    ts = [threading.Thread(target=churn) for _ in range(3)]
    for t in ts:
        t.start()
    for i in range(n):
        o = Item(i)
        with lock:
            refs.append(weakref.ref(o))
        tx.send(o)
        del o
        if i % 64 == 0:
            while True:
                try:
                    rx.try_recv()
                except (pyconc.Empty, pyconc.Lagged):
                    break
    done.set()
    for t in ts:
        t.join(30)
    rx.close()
    tx.close()
    assert errors == []
    assert _alive(refs) == 0
