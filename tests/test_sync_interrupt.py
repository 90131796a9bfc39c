"""Ctrl-C reaches every blocking wait of sync, thread and broadcast
within about 0.1 s, and leaves the primitive usable."""

import threading

import pytest

import pyconc
from pyconc import Barrier, Condvar, Mutex, Once, OnceLock, RwLock
from _interrupt import assert_interrupts


def test_mutex_lock():
    m = Mutex(0)
    with m.lock():
        assert_interrupts(m.lock)  # not reentrant: waits for ourselves
        assert_interrupts(lambda: m.lock(timeout=30))
    with m.try_lock():  # the interrupted waits did not take it
        pass
    assert not m.is_poisoned()


def test_mutex_into_inner():
    m = Mutex(0)
    with m.lock():
        assert_interrupts(m.into_inner)
    with m.lock():
        pass


def test_condvar_wait_relocks_before_the_interrupt_propagates():
    m, cv = Mutex(0), Condvar()
    with pytest.raises(KeyboardInterrupt):
        with m.lock() as g:
            assert_interrupts(lambda: cv.wait(g))
            with pytest.raises(pyconc.WouldBlock):  # relocked
                m.try_lock()
            g.value = 1
            raise KeyboardInterrupt  # leave the block as Ctrl-C would
    assert m.is_poisoned()  # an exception left the block
    m.clear_poison()
    with m.lock() as g:
        assert g.value == 1


def test_condvar_timed_waits():
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        assert_interrupts(lambda: cv.wait_timeout(g, 30))
        assert_interrupts(lambda: cv.wait_while(g, lambda v: True))
        assert_interrupts(lambda: cv.wait_timeout_while(g, 30, lambda v: True))
        g.value = 2
    cv.notify_all()
    with m.lock() as g:
        assert g.value == 2


def test_rwlock():
    rw = RwLock(0)
    with rw.write():
        assert_interrupts(rw.read)
        assert_interrupts(rw.write)
    with rw.read():
        assert_interrupts(rw.write)
        with rw.try_read():  # the abandoned writer does not block readers
            pass
    with rw.try_write():
        pass


def test_barrier_takes_back_the_arrival():
    b = Barrier(2)
    assert_interrupts(b.wait)
    h = pyconc.spawn(b.wait)
    assert b.wait() != h.join()  # a fresh round of two, one leader


def test_once_and_oncelock_waiters():
    once, cell = Once(), OnceLock()
    release = threading.Event()
    entered = threading.Barrier(3)

    def slow():
        entered.wait()
        release.wait()

    h1 = pyconc.spawn(once.call_once, slow)
    h2 = pyconc.spawn(cell.get_or_init, lambda: slow() or 5)
    entered.wait()
    try:
        assert_interrupts(lambda: once.call_once(lambda: None))
        assert_interrupts(lambda: cell.get_or_init(lambda: 6))
        assert_interrupts(lambda: cell.set(7))
    finally:
        release.set()
    h1.join()
    assert h2.join() == 5
    assert once.is_completed() and cell.get() == 5


def test_join_and_scope():
    release = threading.Event()
    h = pyconc.spawn(release.wait)
    try:
        assert_interrupts(h.join)
        assert_interrupts(lambda: h.join(timeout=30))

        def in_scope():
            with pyconc.scope() as s:
                s.spawn(release.wait)

        assert_interrupts(in_scope)
    finally:
        release.set()
    assert h.join() is True


def test_broadcast_recv():
    tx, rx = pyconc.broadcast(4)
    assert_interrupts(rx.recv)
    assert_interrupts(lambda: rx.recv(timeout=30))
    tx.send(1)
    assert rx.recv() == 1
