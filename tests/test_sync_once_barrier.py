"""pyconc.Barrier, Once, OnceLock."""

import threading
import time

import pytest

import pyconc
from pyconc import Barrier, Once, OnceLock, PoisonError
from conftest import scaled


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError), (2**40, OverflowError)])
def test_barrier_bad_n(bad, exc):
    with pytest.raises(exc):
        Barrier(bad)


def test_barrier_of_one():
    b = Barrier(1)
    assert b.wait() is True
    assert b.wait() is True
    assert b.n == 1


def test_barrier_one_leader_per_round_many_rounds():
    n, rounds = 6, scaled(200)
    b = Barrier(n)
    leaders = [0] * rounds
    log = []
    lock = threading.Lock()

    def worker(i):
        for r in range(rounds):
            with lock:
                log.append((r, "in"))
            if b.wait():
                with lock:
                    leaders[r] += 1
            with lock:
                log.append((r, "out"))

    with pyconc.scope() as s:
        for i in range(n):
            s.spawn(worker, i)
    assert leaders == [1] * rounds
    # Nobody leaves round r before everybody has entered it.
    for r in range(rounds):
        last_in = max(k for k, e in enumerate(log) if e == (r, "in"))
        first_out = min(k for k, e in enumerate(log) if e == (r, "out"))
        assert last_in < first_out


def test_barrier_blocks_until_n():
    b = Barrier(2)
    h = pyconc.spawn(b.wait)
    time.sleep(0.05)
    assert not h.is_finished()
    r = b.wait()
    assert sorted([r, h.join()]) == [False, True]


def test_once_runs_once():
    once = Once()
    calls = []
    start = threading.Barrier(8)

    def f():
        time.sleep(0.05)
        calls.append(1)

    def worker():
        start.wait()
        once.call_once(f)
        assert calls == [1]  # returns only after the call completed

    with pyconc.scope() as s:
        for _ in range(8):
            s.spawn(worker)
    assert calls == [1]
    assert once.is_completed()
    once.call_once(f)
    assert calls == [1]


def test_once_poisoning_and_force():
    once = Once()
    with pytest.raises(ZeroDivisionError):
        once.call_once(lambda: 1 / 0)
    assert "poisoned" in repr(once)
    with pytest.raises(PoisonError):
        once.call_once(lambda: None)
    states = []
    once.call_once_force(lambda st: states.append(st.is_poisoned()))
    assert states == [True]
    assert once.is_completed()
    once.call_once(lambda: 1 / 0)  # completed: not called


def test_once_bad_argument():
    with pytest.raises(TypeError):
        Once().call_once(5)


def test_oncelock_get_set():
    cell = OnceLock()
    assert cell.get() is None
    assert cell.set(1) is True
    assert cell.set(2) is False
    assert cell.get() == 1
    assert cell.get_or_init(lambda: 3) == 1
    assert cell.take() == 1
    assert cell.get() is None


def test_oncelock_get_or_init_concurrent():
    cell = OnceLock()
    calls = []
    start = threading.Barrier(8)

    def make():
        calls.append(1)
        time.sleep(0.05)
        return object()

    def worker():
        start.wait()
        return cell.get_or_init(make)

    with pyconc.scope() as s:
        hs = [s.spawn(worker) for _ in range(8)]
    results = {id(h.join()) for h in hs}
    assert len(calls) == 1 and len(results) == 1


def test_oncelock_failed_init_leaves_it_unset():
    cell = OnceLock()
    with pytest.raises(ValueError):
        cell.get_or_init(lambda: (_ for _ in ()).throw(ValueError()))
    assert cell.get() is None
    assert cell.get_or_init(lambda: 7) == 7


def test_oncelock_waiters_retry_after_failure():
    cell = OnceLock()
    entered = threading.Event()

    def failing():
        entered.set()
        time.sleep(0.05)
        raise RuntimeError("first init fails")

    h = pyconc.spawn(cell.get_or_init, failing)
    entered.wait()
    assert cell.get_or_init(lambda: "second") == "second"
    with pytest.raises(pyconc.Panic):
        h.join()
