"""pyconc.Semaphore and SemaphorePermit (tokio's Semaphore).

Tests named "port of ..." follow the test of that name in tokio's
tokio/tests/sync_semaphore.rs, rewritten for this API.
"""

import copy
import gc
import threading
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pyconc
from pyconc import Closed, Semaphore, Timeout, WouldBlock
from _interrupt import assert_interrupts
from conftest import scaled


def test_no_permits():
    """Port of no_permits: a semaphore made with none has none."""
    s = Semaphore(0)
    assert s.available_permits() == 0
    with pytest.raises(WouldBlock):
        s.try_acquire()


def test_try_acquire():
    """Port of try_acquire."""
    s = Semaphore(1)
    p1 = s.try_acquire()
    assert s.available_permits() == 0
    with pytest.raises(WouldBlock):
        s.try_acquire()
    p1.release()
    p2 = s.try_acquire()
    assert s.available_permits() == 0
    del p2
    assert s.available_permits() == 1


def test_acquire():
    """Port of acquire: a waiter gets the permit once it is released."""
    s = Semaphore(1)
    p1 = s.try_acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(s.acquire(timeout=10)))
    t.start()
    time.sleep(0.02)
    assert got == []
    p1.release()
    t.join(10)
    assert got and got[0].num_permits == 1
    assert s.available_permits() == 0
    got.clear()
    assert s.available_permits() == 1


def test_add_permits():
    """Port of add_permits: adding wakes a waiter."""
    s = Semaphore(0)
    got = []
    t = threading.Thread(target=lambda: got.append(s.acquire(timeout=10)))
    t.start()
    time.sleep(0.02)
    s.add_permits(1)
    t.join(10)
    assert len(got) == 1


def test_forget():
    """Port of forget: a forgotten permit never comes back."""
    s = Semaphore(1)
    p = s.try_acquire()
    assert s.available_permits() == 0
    p.forget()
    assert s.available_permits() == 0
    del p
    assert s.available_permits() == 0
    with pytest.raises(WouldBlock):
        s.try_acquire()  # none left


def test_acquire_many():
    """Port of acquire_many / try_acquire_many: all or nothing."""
    s = Semaphore(42)
    p = s.acquire_many(42)
    assert p.num_permits == 42 and s.available_permits() == 0
    with pytest.raises(WouldBlock):
        s.try_acquire_many(1)
    p.release()
    q = s.try_acquire_many(32)
    assert s.available_permits() == 10
    with pytest.raises(WouldBlock):
        s.try_acquire_many(11)
    assert s.available_permits() == 10  # a refused try takes nothing
    del q
    assert s.available_permits() == 42


def test_add_max_amount_permits():
    """Port of add_max_amount_permits and add_more_than_max_amount_permits."""
    s = Semaphore(0)
    s.add_permits(2**61 - 1)
    assert s.available_permits() == 2**61 - 1
    with pytest.raises(OverflowError):
        s.add_permits(1)
    with pytest.raises(OverflowError):
        Semaphore(2**61)
    assert s.available_permits() == 2**61 - 1


def test_close_semaphore_prevents_acquire():
    """Port of close_semaphore_prevents_acquire (and ..._notifies_permit1)."""
    s = Semaphore(5)
    held = s.acquire()
    s.close()
    assert s.is_closed()
    for f in (s.acquire, lambda: s.acquire_many(2), s.try_acquire,
              lambda: s.try_acquire_many(1)):
        with pytest.raises(Closed, match="closed"):
            f()
    with pytest.raises(Closed):
        with s:
            pass
    held.release()  # permits held stay valid and go back
    assert s.available_permits() == 5


def test_close_wakes_waiters():
    s = Semaphore(0)
    errors = []

    def waiter():
        try:
            s.acquire(timeout=30)
        except Closed as e:
            errors.append(e)

    ts = [threading.Thread(target=waiter) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.05)
    s.close()
    for t in ts:
        t.join(10)
    assert len(errors) == 4


def test_with_sem_is_threading_compatible():
    s = Semaphore(2)
    with s as same:
        assert same is s
        assert s.available_permits() == 1
        with s:
            assert s.available_permits() == 0
    assert s.available_permits() == 2
    with pytest.raises(KeyError):
        with s:
            raise KeyError
    assert s.available_permits() == 2


def test_permit_lifecycle():
    s = Semaphore(3)
    with s.acquire_many(2) as p:
        assert "held" in repr(p)
        assert s.available_permits() == 1
    assert s.available_permits() == 3 and "released" in repr(p)
    with pytest.raises(RuntimeError):
        p.release()
    with pytest.raises(RuntimeError):
        p.forget()
    with pytest.raises(RuntimeError):
        with p:
            pass
    with s.acquire() as p:
        p.release()  # early, inside the block: the exit is silent
        assert s.available_permits() == 3
    assert s.available_permits() == 3


def test_timeouts_and_arguments():
    s = Semaphore(1)
    p = s.acquire()
    with pytest.raises(Timeout):
        s.acquire(timeout=0.01)
    with pytest.raises(Timeout):
        s.acquire(0)
    with pytest.raises(Timeout):
        s.acquire_many(1, timeout=0.01)
    with pytest.raises(ValueError):
        s.acquire(timeout=-1)
    for f in (s.acquire_many, s.try_acquire_many, s.add_permits):
        with pytest.raises(ValueError):
            f(-1)
    assert s.acquire_many(0).num_permits == 0  # tokio allows n = 0
    assert s.try_acquire_many(0).num_permits == 0
    s.add_permits(0)
    for bad in ("1", 1.0, True, None):
        with pytest.raises(TypeError):
            s.acquire_many(bad)
        with pytest.raises(TypeError):
            Semaphore(bad)
    with pytest.raises(ValueError):
        Semaphore(-1)
    with pytest.raises(OverflowError):
        s.try_acquire_many(2**64)
    for c in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            c(s)
        with pytest.raises(TypeError):
            c(p)
    p.release()
    assert s.acquire(timeout=threading.TIMEOUT_MAX).num_permits == 1


def test_ctrl_c_takes_nothing():
    s = Semaphore(1)
    p = s.acquire()
    assert_interrupts(s.acquire)
    assert_interrupts(lambda: s.acquire_many(1, timeout=30))
    assert_interrupts(s.__enter__)
    p.release()
    assert s.available_permits() == 1


def test_thread_dying_with_a_permit_gives_it_back():
    s = Semaphore(1)

    def dies():
        p = s.acquire()  # noqa: F841 (held in the frame)
        raise ValueError("boom")

    h = pyconc.spawn(dies)
    with pytest.raises(ValueError, match="boom"):
        h.join()
    del h
    gc.collect()
    assert s.available_permits() == 1


def test_stress_test():
    """Port of stress_test: many threads, 5 permits, the count never passes
    the limit and ends where it began."""
    s = Semaphore(5)
    n, threads = scaled(2000), 8
    inside = pyconc.AtomicInt(0)
    worst = pyconc.AtomicInt(0)

    def body(k):
        for i in range(n):
            want = 1 + (k + i) % 3
            with s.acquire_many(want, timeout=30):
                now = inside.fetch_add(want) + want
                worst.fetch_max(now)
                assert now <= 5
                inside.fetch_sub(want)

    with pyconc.scope() as sc:
        for k in range(threads):
            sc.spawn(body, k)
    assert s.available_permits() == 5
    assert 1 <= worst.load() <= 5


def test_as_a_lock_counts_exactly():
    s = Semaphore(1)
    box = [0]
    n = scaled(5000)

    def body(_):
        for _ in range(n):
            with s:
                box[0] += 1

    with pyconc.scope() as sc:
        for k in range(4):
            sc.spawn(body, k)
    assert box[0] == 4 * n


class SemaphoreModel(RuleBasedStateMachine):
    """Non-blocking operations against a reference count (one thread)."""

    def __init__(self):
        super().__init__()
        self.s = Semaphore(3)
        self.free, self.closed, self.permits = 3, False, []

    @rule(n=st.integers(1, 4))
    def try_acquire_many(self, n):
        if self.closed:
            with pytest.raises(Closed):
                self.s.try_acquire_many(n)
        elif n <= self.free:
            self.permits.append(self.s.try_acquire_many(n))
            self.free -= n
        else:
            with pytest.raises(WouldBlock):
                self.s.try_acquire_many(n)

    @precondition(lambda self: self.permits)
    @rule(i=st.integers(0, 10), forget=st.booleans())
    def give_back(self, i, forget):
        p = self.permits.pop(i % len(self.permits))
        if forget:
            p.forget()
        else:
            p.release()
            self.free += p.num_permits

    @rule(n=st.integers(1, 3))
    def add_permits(self, n):
        self.s.add_permits(n)
        self.free += n

    @rule()
    def close(self):
        self.s.close()
        self.closed = True

    @invariant()
    def agrees(self):
        assert self.s.available_permits() == self.free
        assert self.s.is_closed() == self.closed


TestSemaphoreModel = SemaphoreModel.TestCase
TestSemaphoreModel.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
