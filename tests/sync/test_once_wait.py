"""Once.wait / wait_force and OnceLock(value), get_or_try_init, wait,
into_inner (issue 14).

Tests named "port of ..." follow the test of that name in Rust's
library/std/src/sync/once/tests.rs and sync/once_lock/tests.rs (or
library/std/tests/sync/), rewritten for Python.
"""

import threading
import time

import pytest

import pyconc
from pyconc import Once, OnceLock, PoisonError, Timeout
from _interrupt import assert_interrupts


def test_wait():
    """Port of once's `wait`: waiters return once another thread's call
    completes, and see what it wrote."""
    o, box = Once(), []
    got = []

    def waiter():
        o.wait(timeout=30)
        got.append(list(box))

    ts = [threading.Thread(target=waiter) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.02)
    assert got == []
    o.call_once(lambda: box.append(1))
    for t in ts:
        t.join(10)
    assert got == [[1]] * 4
    o.wait()  # completed: at once


def test_wait_on_poisoned():
    """Port of `wait_on_poisoned`: wait raises once poisoned."""
    o = Once()
    with pytest.raises(ZeroDivisionError):
        o.call_once(lambda: 1 / 0)
    with pytest.raises(PoisonError):
        o.wait(timeout=1)


def test_wait_force_on_poisoned():
    """Port of `wait_force_on_poisoned`: wait_force keeps waiting through
    the poison until call_once_force completes."""
    o = Once()
    with pytest.raises(ZeroDivisionError):
        o.call_once(lambda: 1 / 0)
    done = []
    t = threading.Thread(target=lambda: (o.wait_force(timeout=30), done.append(1)))
    t.start()
    time.sleep(0.02)
    assert done == []
    o.call_once_force(lambda state: None)
    t.join(10)
    assert done == [1]


def test_wait_timeouts_and_reentry():
    o = Once()
    with pytest.raises(Timeout):
        o.wait(timeout=0.01)
    with pytest.raises(Timeout):
        o.wait(0)
    with pytest.raises(ValueError):
        o.wait(timeout=-1)
    with pytest.raises(RuntimeError, match="own initialiser"):
        o.call_once(lambda: o.wait())
    cell = OnceLock()
    with pytest.raises(RuntimeError, match="own initialiser"):
        cell.get_or_init(lambda: cell.wait())
    assert cell.get() is None  # the failed init left it unset


def test_ctrl_c_interrupts_the_waits():
    o, cell = Once(), OnceLock()
    assert_interrupts(o.wait)
    assert_interrupts(lambda: o.wait_force(timeout=30))
    assert_interrupts(cell.wait)
    o.call_once(lambda: None)
    o.wait()


def test_from_impl():
    """Port of once_lock's `from_impl`: OnceLock(value) starts set."""
    cell = OnceLock(92)
    assert cell.get() == 92
    assert cell.set(1) is False
    assert cell.get_or_init(lambda: 0) == 92
    assert OnceLock(None).get() is None and OnceLock(None).set(1) is False
    assert OnceLock().set(1) is True


def test_get_or_try_init():
    """Port of once_lock's `get_or_try_init`: a failing function leaves the
    cell unset (and raises), a succeeding one sets it."""
    cell = OnceLock()
    with pytest.raises(ValueError):
        cell.get_or_try_init(lambda: (_ for _ in ()).throw(ValueError("no")))
    assert cell.get() is None
    assert cell.get_or_try_init(lambda: 92) == 92
    assert cell.get_or_try_init(lambda: 1 / 0) == 92


def test_into_inner():
    """Port of once_lock's `into_inner`."""
    cell = OnceLock()
    assert cell.into_inner() is None
    cell.set("hello")
    assert cell.into_inner() == "hello"
    assert cell.get() is None


def test_oncelock_wait():
    """Port of once_lock's `wait` shape: a waiter gets the value another
    thread sets, including after a failed initialiser."""
    cell = OnceLock()
    got = []
    t = threading.Thread(target=lambda: got.append(cell.wait(timeout=30)))
    t.start()
    time.sleep(0.02)
    with pytest.raises(KeyError):
        cell.get_or_init(lambda: {}["missing"])  # fails: still unset
    time.sleep(0.01)
    assert got == []
    cell.set("v")
    t.join(10)
    assert got == ["v"]
    assert cell.wait() == "v"
    with pytest.raises(Timeout):
        OnceLock().wait(timeout=0.01)


def test_many_waiters_one_initialiser():
    o = Once()
    runs = pyconc.AtomicInt(0)
    with pyconc.scope() as s:
        for _ in range(6):
            s.spawn(o.wait, 30)
        for _ in range(3):
            s.spawn(o.call_once, lambda: runs.fetch_add(1))
    assert runs.load() == 1
