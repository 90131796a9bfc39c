"""pyconc.Parker / Unparker and pyconc.thread.park (Rust's thread::park).

Tests named "port of ..." follow the test of that name in crossbeam-utils'
tests/parker.rs or Rust's library/std/src/thread/tests.rs, rewritten.
"""

import copy
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconc
import pyconc.thread as pthread
from pyconc import Parker, Unparker
from _interrupt import assert_interrupts
from conftest import scaled


def test_park_timeout_unpark_before():
    """Port of crossbeam's park_timeout_unpark_before and std's
    test_park_timeout_unpark_before: a token made before the park is kept."""
    p = Parker()
    for _ in range(10):
        p.unparker().unpark()
        assert p.park(timeout=10) is True


def test_park_timeout_unpark_not_called():
    """Port of crossbeam's park_timeout_unpark_not_called."""
    p = Parker()
    for _ in range(3):
        t0 = time.monotonic()
        assert p.park(timeout=0.01) is False
        assert time.monotonic() - t0 >= 0.009


def test_park_timeout_unpark_called_other_thread():
    """Port of crossbeam's park_timeout_unpark_called_other_thread and std's
    test_park_unpark_called_other_thread."""
    p = Parker()
    for _ in range(10):
        u = p.unparker()
        t = threading.Thread(target=lambda: (time.sleep(0.005), u.unpark()))
        t.start()
        assert p.park(timeout=10) is True
        t.join()


def test_many_unparks_make_one_token():
    p = Parker()
    u = p.unparker()
    for _ in range(100):
        u.unpark()
    assert p.park(0) is True
    assert p.park(0) is False
    assert p.park(timeout=0.001) is False


def test_unpark_on_the_parker_and_clones():
    p = Parker()
    p.unpark()
    assert p.park(0)
    u2 = p.unparker().clone()
    assert isinstance(u2, Unparker)
    u2.unpark()
    assert p.park(0)


def test_one_thread_parks_at_a_time():
    p = Parker()
    started = threading.Event()

    def first():
        started.set()
        p.park(timeout=5)

    t = threading.Thread(target=first)
    t.start()
    started.wait()
    deadline = time.monotonic() + 5
    while "parked" not in repr(p) and time.monotonic() < deadline:
        time.sleep(0.001)
    with pytest.raises(RuntimeError, match="another thread is parked"):
        p.park(timeout=1)
    p.unpark()
    t.join(5)
    assert not t.is_alive()
    assert p.park(0) is False  # the first thread took the token


def test_arguments():
    p = Parker()
    assert p.park(timeout=0) is False
    assert p.park(0.0) is False
    with pytest.raises(ValueError):
        p.park(-1)
    with pytest.raises(TypeError):
        p.park("1")
    with pytest.raises(TypeError):
        p.park(1, 2)
    with pytest.raises(TypeError):
        Parker(1)
    with pytest.raises(TypeError):
        Unparker()
    p.unpark()
    assert p.park(timeout=threading.TIMEOUT_MAX) is True  # huge = no limit


def test_refuses_copy():
    p = Parker()
    for obj in (p, p.unparker()):
        with pytest.raises(TypeError):
            copy.copy(obj)


def test_ctrl_c_interrupts_park_and_keeps_later_tokens():
    p = Parker()
    assert_interrupts(p.park)
    assert_interrupts(lambda: p.park(timeout=30))
    assert_interrupts(pthread.park)
    p.unpark()
    assert p.park(0) is True  # the interrupted parks took nothing
    assert "empty" in repr(p)


def test_ping_pong_exact():
    """Two threads hand a turn back and forth with park/unpark; each turn
    is taken exactly once and never by both at once."""
    rounds = scaled(3000)
    a, b = Parker(), Parker()
    ua, ub = a.unparker(), b.unparker()
    inside = []
    count = [0]

    def player(me, other, first):
        for i in range(rounds):
            if not (first and i == 0):
                assert me.park(timeout=10)
            inside.append(1)
            assert len(inside) == 1
            count[0] += 1
            inside.pop()
            other.unpark()

    with pyconc.scope() as s:
        s.spawn(player, a, ub, True)
        s.spawn(player, b, ua, False)
    assert count[0] == 2 * rounds


def test_unparks_from_many_threads_lose_nothing():
    """Port of the shape of std's test_park_unpark_called_other_thread,
    with many unparkers: a counter bumped before each unpark is always
    seen complete by the parker eventually."""
    p = Parker()
    u = p.unparker()
    n, k = scaled(2000), 3
    bumps = pyconc.AtomicInt(0)

    def unparker():
        for _ in range(n):
            bumps.fetch_add(1)
            u.unpark()

    ts = [threading.Thread(target=unparker) for _ in range(k)]
    for t in ts:
        t.start()
    while bumps.load() < n * k:
        p.park(timeout=1)
    for t in ts:
        t.join()
    assert bumps.load() == n * k


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["unpark", "park"]), max_size=30))
def test_model_one_token(ops):
    """Against a one-bit model: unpark sets it, park(0) takes it."""
    p, token = Parker(), False
    for op in ops:
        if op == "unpark":
            p.unpark()
            token = True
        else:
            assert p.park(0) is token
            token = False


# ------------------------------------------------------------ thread.park


def test_thread_park_unpark_before():
    """Port of std's test_park_unpark_before (thread/tests.rs)."""
    for _ in range(10):
        pthread.current().unpark()
        assert pthread.park(timeout=10) is True


def test_join_handle_thread_unpark_before_the_thread_parks():
    go = threading.Event()

    def child():
        go.wait()
        return pthread.park(timeout=10)

    h = pyconc.spawn(child)
    h.thread().unpark()  # before the child even looks
    go.set()
    assert h.join() is True
    assert h.thread().name == h.name
    assert h.thread().ident == h.ident
    assert h.thread().native is h._thread


def test_thread_park_timeout_unpark_called_other_thread():
    """Port of std's test_park_timeout_unpark_called_other_thread."""
    me = pthread.current()
    t = threading.Thread(target=lambda: (time.sleep(0.01), me.unpark()))
    t.start()
    assert pthread.park(timeout=10) is True
    t.join()


def test_current_is_the_same_handle_in_a_thread():
    out = []

    def child():
        out.append(pthread.current() is pthread.current())
        out.append(pthread.current().native is threading.current_thread())

    t = threading.Thread(target=child)
    t.start()
    t.join()
    assert out == [True, True]
    assert "MainThread" in repr(pthread.current())
