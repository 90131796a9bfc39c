"""pyconc.Condvar with Mutex guards."""

import collections
import threading
import time

import pytest

import pyconc
from pyconc import Condvar, Mutex, PoisonError
from conftest import scaled


def test_wait_returns_the_guard_after_notify():
    m, cv = Mutex(False), Condvar()

    def setter():
        time.sleep(0.05)
        with m.lock() as g:
            g.value = True
        cv.notify_one()

    h = pyconc.spawn(setter)
    with m.lock() as g:
        while not g.value:
            assert cv.wait(g) is g
        assert g.value is True
    h.join()


def test_wait_while_passes_the_value():
    m, cv = Mutex([]), Condvar()
    seen = []

    def pred(v):
        seen.append(list(v))
        return len(v) < 3

    def producer():
        for i in range(3):
            time.sleep(0.01)
            with m.lock() as g:
                g.value.append(i)
            cv.notify_all()

    h = pyconc.spawn(producer)
    with m.lock() as g:
        assert cv.wait_while(g, pred) is g
        assert g.value == [0, 1, 2]
    h.join()
    assert seen[0] == [] or seen[0] == [0]
    assert seen[-1] == [0, 1, 2]


def test_wait_timeout_times_out_and_relocks():
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        t0 = time.monotonic()
        g2, timed_out = cv.wait_timeout(g, 0.1)
        assert g2 is g and timed_out
        assert time.monotonic() - t0 >= 0.09
        # relocked: another thread cannot take it
        r = []
        th = threading.Thread(target=lambda: r.append(_try(m)))
        th.start()
        th.join()
        assert r == ["busy"]
        g.value = 1
    with m.lock() as g:
        assert g.value == 1


def _try(m):
    try:
        with m.try_lock():
            return "locked"
    except pyconc.WouldBlock:
        return "busy"


def test_wait_timeout_notified():
    m, cv = Mutex(0), Condvar()

    def notifier():
        time.sleep(0.05)
        with m.lock() as g:
            g.value = 1
        cv.notify_all()

    h = pyconc.spawn(notifier)
    with m.lock() as g:
        timed_out = False
        while g.value == 0 and not timed_out:
            _, timed_out = cv.wait_timeout(g, 5)
        assert not timed_out and g.value == 1
    h.join()


def test_wait_timeout_while():
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        g2, timed_out = cv.wait_timeout_while(g, 0.05, lambda v: v == 0)
        assert g2 is g and timed_out
        g2, timed_out = cv.wait_timeout_while(g, 0.05, lambda v: v != 0)
        assert not timed_out  # predicate false at once


def test_wait_timeout_while_satisfied_by_another_thread():
    m, cv = Mutex(0), Condvar()

    def bump():
        for _ in range(5):
            time.sleep(0.01)
            with m.lock() as g:
                g.value += 1
            cv.notify_one()

    h = pyconc.spawn(bump)
    with m.lock() as g:
        _, timed_out = cv.wait_timeout_while(g, 10, lambda v: v < 5)
        assert not timed_out and g.value == 5
    h.join()


def test_notify_without_waiters_is_harmless():
    cv = Condvar()
    cv.notify_one()
    cv.notify_all()


def test_bad_arguments():
    m, cv = Mutex(0), Condvar()
    with pytest.raises(TypeError):
        cv.wait(m)
    with pytest.raises(TypeError):
        cv.wait(object())
    with m.lock() as g:
        pass
    with pytest.raises(RuntimeError, match="outside its with block"):
        cv.wait(g)
    with m.lock() as g:
        with pytest.raises(ValueError):
            cv.wait_timeout(g, -1)
        with pytest.raises(TypeError):
            cv.wait_timeout(g, "1")
    other = Mutex(0)
    with m.lock() as g:
        cv.wait_timeout(g, 0)
    with other.lock() as g:
        with pytest.raises(ValueError, match="one Mutex"):
            cv.wait_timeout(g, 0)


def test_wait_raises_poison_error_holding_the_guard():
    m, cv = Mutex(0), Condvar()
    waiting = threading.Event()

    def poisoner():
        waiting.wait()
        time.sleep(0.05)
        try:
            with m.lock():
                raise ValueError
        finally:
            cv.notify_all()

    h = pyconc.spawn(poisoner)
    with pytest.raises(PoisonError) as info:
        with m.lock() as g:
            waiting.set()
            cv.wait(g)
    assert info.value.into_inner() is g
    with pytest.raises(ValueError):  # the thread's own exception, re-raised
        h.join()
    assert m.is_poisoned()
    # The with block released the lock on its way out.
    with pytest.raises(PoisonError) as info:
        m.try_lock()
    with info.value.into_inner():
        pass


def test_bounded_buffer_stress():
    cap, n_items, n_prod, n_cons = 5, scaled(5000), 3, 3
    m = Mutex(collections.deque())
    not_empty, not_full = Condvar(), Condvar()
    out = []

    def producer(base):
        for i in range(n_items):
            with m.lock() as g:
                not_full.wait_while(g, lambda q: len(q) >= cap)
                g.value.append(base + i)
                assert len(g.value) <= cap
            not_empty.notify_one()

    def consumer(count):
        got = []
        for _ in range(count):
            with m.lock() as g:
                not_empty.wait_while(g, lambda q: not q)
                got.append(g.value.popleft())
            not_full.notify_one()
        return got

    total = n_items * n_prod
    counts = [total // n_cons] * n_cons
    counts[0] += total - sum(counts)
    with pyconc.scope() as s:
        cons = [s.spawn(consumer, c) for c in counts]
        for p in range(n_prod):
            s.spawn(producer, p * 10**9)
    for h in cons:
        out.extend(h.join())
    assert sorted(out) == sorted(p * 10**9 + i for p in range(n_prod) for i in range(n_items))


def test_notify_all_wakes_everybody():
    m, cv = Mutex(False), Condvar()
    woke = []

    def waiter(i):
        with m.lock() as g:
            cv.wait_while(g, lambda go: not go)
        woke.append(i)

    with pyconc.scope() as s:
        for i in range(8):
            s.spawn(waiter, i)
        time.sleep(0.1)
        with m.lock() as g:
            g.value = True
        cv.notify_all()
    assert sorted(woke) == list(range(8))


def test_wait_timeout_on_a_recovered_guard():
    m, cv = Mutex(0), Condvar()
    with pytest.raises(ValueError):
        with m.lock():
            raise ValueError
    with pytest.raises(PoisonError) as info:
        m.lock()
    with info.value.into_inner() as g:  # recovering, and still waiting works
        with pytest.raises(PoisonError):  # the mutex is still poisoned
            cv.wait_timeout(g, 0.01)
        g.value = 1
    m.clear_poison()
    with m.lock() as g:
        assert g.value == 1


# ------------------------------------------- issue 11/12: the C type's shape


def test_hostile_arguments():
    m, cv, other = Mutex(0), Condvar(), Mutex(1)
    with pytest.raises(TypeError, match="MutexGuard"):
        cv.wait(object())
    with pytest.raises(TypeError):
        cv.wait()
    with m.lock() as g:
        for bad, exc in [(None, TypeError), ("1", TypeError), (True, TypeError),
                         (-1, ValueError), (float("nan"), ValueError)]:
            with pytest.raises(exc):
                cv.wait_timeout(g, bad)
            with pytest.raises(exc):
                cv.wait_timeout_while(g, bad, lambda v: True)
        with pytest.raises(TypeError):
            cv.wait_while(g)
        with pytest.raises(TypeError):
            cv.wait_while(g, None)  # not callable: raised by the call
        with pytest.raises(ZeroDivisionError):
            cv.wait_while(g, lambda v: 1 / 0)
        with pytest.raises(pyconc.WouldBlock):
            m.try_lock()  # still held after all that
        assert cv.wait_timeout(g, 0) == (g, True)
    with other.lock() as g2:
        with pytest.raises(ValueError, match="one Mutex"):
            cv.wait(g2)
    with pytest.raises(RuntimeError, match="outside its with block"):
        cv.wait(g)  # stale
    with pytest.raises(TypeError):
        Condvar(1)
    with pytest.raises(AttributeError):
        cv._mutex = other
    assert not m.is_poisoned()


def test_huge_timeout_is_no_limit():
    m, cv = Mutex(0), Condvar()

    def bump():
        time.sleep(0.05)
        with m.lock() as g:
            g.value = 1
        cv.notify_all()

    h = pyconc.spawn(bump)
    with m.lock() as g:
        _, timed_out = cv.wait_timeout_while(g, threading.TIMEOUT_MAX, lambda v: v == 0)
        assert not timed_out and g.value == 1
    h.join()


def test_into_inner_while_waiting_gives_up_the_guard():
    """The waiter cannot take back a Mutex that into_inner() retired: it
    raises RuntimeError and leaves its block without unlocking anything."""
    m, cv = Mutex(7), Condvar()
    waiting = threading.Event()
    out = []

    def waiter():
        try:
            with m.lock() as g:
                waiting.set()
                cv.wait(g)
        except RuntimeError as e:
            out.append(str(e))

    t = threading.Thread(target=waiter)
    t.start()
    waiting.wait()
    assert m.into_inner() == 7  # takes the lock the wait released
    cv.notify_all()
    t.join(10)
    assert not t.is_alive()
    assert out and "into_inner" in out[0]


def test_no_copy_or_pickle_and_gc():
    import copy
    import gc
    import pickle
    import weakref

    cv = Condvar()
    for f in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            f(cv)
    r = weakref.ref(cv)
    del cv
    gc.collect()
    assert r() is None
