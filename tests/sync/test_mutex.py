"""pyconc.Mutex: locking, guards, poisoning, timeouts, stress."""

import threading
import time

import pytest

import pyconc
from pyconc import Mutex, PoisonError, WouldBlock
from conftest import scaled


def test_guard_reads_and_replaces_the_value():
    m = Mutex([1])
    with m.lock() as g:
        assert g.value == [1]
        g.value.append(2)
        g.value = g.value + [3]
    with m.lock() as g:
        assert g.value == [1, 2, 3]


def test_default_value_is_none():
    with Mutex().lock() as g:
        assert g.value is None


def test_lock_excludes_and_unlocks_on_exit():
    m = Mutex(0)
    with m.lock():
        with pytest.raises(WouldBlock):
            m.try_lock()
        assert "locked" in repr(m)
    with m.try_lock() as g:
        assert g.value == 0
    assert "unlocked" in repr(m)


def test_guard_outside_its_block_raises():
    m = Mutex(5)
    with m.lock() as g:
        pass
    with pytest.raises(RuntimeError, match="outside its with block"):
        g.value
    with pytest.raises(RuntimeError, match="outside its with block"):
        g.value = 6
    with pytest.raises(RuntimeError):
        with g:
            pass
    # The stale guard did not unlock anything: the mutex is free and whole.
    with m.try_lock() as g2:
        assert g2.value == 5


def test_stale_guard_does_not_reach_a_later_holder():
    m = Mutex(0)
    with m.lock() as old:
        pass
    with m.lock() as new:
        with pytest.raises(RuntimeError):
            old.value = 99
        assert new.value == 0


def test_lock_timeout():
    m = Mutex()
    with m.lock():
        t0 = time.monotonic()
        res = []
        th = threading.Thread(target=lambda: res.append(_try_timeout(m, 0.2)))
        th.start()
        th.join()
        assert res == ["timeout"]
        assert time.monotonic() - t0 >= 0.19
        # timeout=0 tries once
        assert _try_timeout(m, 0) == "timeout"


def _try_timeout(m, t):
    try:
        with m.lock(timeout=t):
            return "locked"
    except TimeoutError:
        return "timeout"


def test_lock_waits_for_release():
    m = Mutex(0)
    g = m.lock()
    g.__enter__()
    got = []

    def waiter():
        with m.lock(timeout=5) as g2:
            got.append(g2.value)

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.05)
    assert got == []
    g.value = 7
    g.__exit__(None, None, None)
    th.join()
    assert got == [7]


@pytest.mark.parametrize("bad", ["1", [], object()])
def test_bad_timeout_type(bad):
    with pytest.raises(TypeError):
        Mutex().lock(timeout=bad)


def test_negative_timeout():
    m = Mutex()
    with pytest.raises(ValueError):
        m.lock(timeout=-1)
    with m.try_lock():  # a bad argument did not take the lock
        pass


def test_exception_poisons_and_into_inner_recovers():
    m = Mutex({"n": 1})
    with pytest.raises(ZeroDivisionError):
        with m.lock() as g:
            g.value["n"] = 2
            1 / 0
    assert m.is_poisoned()
    assert "poisoned" in repr(m)
    with pytest.raises(PoisonError) as info:
        m.lock()
    # The error holds the guard, locked: the value can be recovered.
    with info.value.into_inner() as g:
        assert g.value == {"n": 2}
        with pytest.raises(WouldBlock):
            m.try_lock()
        g.value = {"n": 0}
    with pytest.raises(PoisonError):
        m.try_lock()
    m.clear_poison()
    assert not m.is_poisoned()
    with m.lock() as g:
        assert g.value == {"n": 0}


def test_poison_error_dropped_unused_unlocks():
    m = Mutex(1)
    with pytest.raises(KeyError):
        with m.lock():
            raise KeyError
    try:
        m.lock()
    except PoisonError:
        pass  # the guard inside is dropped with the error
    with pytest.raises(PoisonError) as info:
        m.try_lock()  # not WouldBlock: the dropped guard unlocked it
    with info.value.into_inner():
        pass


def test_poisoning_from_another_thread_and_timeout_path():
    m = Mutex(0)

    def bad():
        with m.lock():
            raise ValueError("boom")

    h = pyconc.spawn(bad)
    with pytest.raises(ValueError):  # the thread's own exception, re-raised
        h.join()
    with pytest.raises(PoisonError):
        m.lock(timeout=1.0)
    m.clear_poison()
    with m.lock(timeout=1.0):
        pass


def test_poisoned_while_waiting():
    m = Mutex(0)
    entered = threading.Event()

    def bad():
        with m.lock():
            entered.set()
            time.sleep(0.1)
            raise ValueError

    h = pyconc.spawn(bad)
    entered.wait()
    with pytest.raises(PoisonError) as info:
        m.lock()  # waits, then gets the lock poisoned
    with info.value.into_inner() as g:
        assert g.value == 0
    with pytest.raises(ValueError):  # the thread's own exception, re-raised
        h.join()


def test_keyboard_interrupt_in_block_poisons():
    m = Mutex(0)
    with pytest.raises(KeyboardInterrupt):
        with m.lock():
            raise KeyboardInterrupt
    assert m.is_poisoned()


def test_into_inner_retires():
    m = Mutex([1, 2])
    assert m.into_inner() == [1, 2]
    with pytest.raises(RuntimeError, match="into_inner"):
        m.lock()
    with pytest.raises(RuntimeError, match="into_inner"):
        m.try_lock()
    with pytest.raises(RuntimeError):
        m.into_inner()
    assert "retired" in repr(m)


def test_into_inner_of_poisoned_mutex():
    m = Mutex(3)
    with pytest.raises(ValueError):
        with m.lock():
            raise ValueError
    with pytest.raises(PoisonError) as info:
        m.into_inner()
    assert info.value.into_inner() == 3


def test_into_inner_waits_for_the_holder():
    m = Mutex(1)
    g = m.lock()
    g.__enter__()

    def later():
        time.sleep(0.05)
        g.value = 2
        g.__exit__(None, None, None)

    th = threading.Thread(target=later)
    th.start()
    assert m.into_inner() == 2
    th.join()


def test_not_picklable():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Mutex(1))


def test_stress_counter():
    n_threads, per = 8, scaled(5000)
    m = Mutex(0)

    def work():
        for _ in range(per):
            with m.lock() as g:
                v = g.value
                g.value = v + 1

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.into_inner() == n_threads * per


def test_stress_mixed_lock_try_lock_timeout():
    m = Mutex(0)
    per = scaled(2000)
    done = []

    def work(i):
        n = 0
        for k in range(per):
            if k % 3 == 0:
                try:
                    with m.try_lock() as g:
                        g.value += 1
                        n += 1
                except WouldBlock:
                    pass
            else:
                with m.lock(timeout=10) as g:
                    g.value += 1
                    n += 1
        done.append(n)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with m.lock() as g:
        assert g.value == sum(done)
    assert not m.is_poisoned()


def test_guard_dropped_unused_unlocks():
    m = Mutex(1)
    g = m.lock()  # never entered
    with pytest.raises(WouldBlock):
        m.try_lock()
    del g  # dropped: unlocks, as a Rust guard going out of scope
    with m.try_lock() as g2:
        assert g2.value == 1
    assert not m.is_poisoned()


def test_guard_repr_and_value_deletion():
    m = Mutex([7])
    with m.lock() as g:
        assert "value=[7]" in repr(g)
        with pytest.raises(AttributeError):
            del g.value
    assert "released" in repr(g)
    assert isinstance(g, pyconc.sync.MutexGuard)


def test_guard_exit_twice_does_not_unlock_twice():
    m = Mutex(0)
    g = m.lock()
    g.__exit__(None, None, None)
    with m.lock():
        with pytest.raises(RuntimeError):
            g.__exit__(None, None, None)  # stale: must not release the new holder
        with pytest.raises(WouldBlock):
            m.try_lock()


def test_many_mutexes_and_guards_are_freed():
    import gc
    import weakref

    m = Mutex(object())
    ref = weakref.ref(m)
    for _ in range(1000):
        with m.lock() as g:
            pass
    del m, g
    gc.collect()
    assert ref() is None


def test_guards_come_only_from_lock():
    with pytest.raises(TypeError):
        pyconc.sync.MutexGuard()


# ------------------------------------------- issue 11/12: the C types' shape


def test_init_again_while_a_guard_lives_frees_nothing():
    """Issue 12: re-running Mutex.__init__ freed the pc_mutex_t a live guard
    pointed at (heap-use-after-free on leaving the block).  All work is now
    done in __new__: __init__ changes nothing."""
    m = Mutex(0)
    g = m.lock()
    g.__enter__()
    m.__init__(1)  # harmless
    m.__init__()
    with pytest.raises(WouldBlock):
        m.try_lock()  # still held by g
    g.value = 5
    g.__exit__(None, None, None)
    with m.try_lock() as g2:
        assert g2.value == 5  # the value was not replaced by __init__
    assert not m.is_poisoned()


def test_mutex_is_immutable():
    m = Mutex(0)
    for name in ("_addr", "_lock", "_value", "value", "lock", "x"):
        with pytest.raises(AttributeError):
            setattr(m, name, 8)  # m._addr = 8; m.lock() crashed before
    with pytest.raises((AttributeError, TypeError)):
        Mutex.lock = None
    with m.lock() as g:
        with pytest.raises(AttributeError):
            g.other = 1
        with pytest.raises(AttributeError):
            g.mutex
        assert g.value == 0


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.lock(1, 2), TypeError),
    (lambda m: m.lock(nope=1), TypeError),
    (lambda m: m.lock(0, timeout=0), TypeError),
    (lambda m: m.lock(timeout=True), TypeError),
    (lambda m: m.lock(timeout=float("nan")), ValueError),
    (lambda m: m.lock(timeout=-2**80), ValueError),
    (lambda m: m.try_lock(1), TypeError),
    (lambda m: m.into_inner(1), TypeError),
    (lambda m: Mutex(1, 2), TypeError),
    (lambda m: Mutex(nope=1), TypeError),
])
def test_hostile_arguments_take_nothing(call, exc):
    m = Mutex(0)
    with pytest.raises(exc):
        call(m)
    with m.try_lock() as g:
        assert g.value == 0


def test_huge_timeouts_wait_without_limit():
    m = Mutex(0)
    for t in (threading.TIMEOUT_MAX, 1e300, float("inf"), 2**80, None):
        with m.lock(timeout=t) as g:
            g.value += 1
    with m.lock(timeout=threading.TIMEOUT_MAX) as g:
        got = []
        th = threading.Thread(target=lambda: got.append(m.lock(threading.TIMEOUT_MAX)))
        th.start()
        time.sleep(0.05)
        assert got == []
    th.join(10)
    with got[0] as g:
        assert g.value == 5


def test_timeout_is_pyconc_timeout():
    m = Mutex()
    with m.lock():
        with pytest.raises(pyconc.Timeout, match="timed out"):
            m.lock(timeout=0.01)


def test_no_copy_or_pickle():
    import copy
    import pickle

    m = Mutex([1])
    for f in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            f(m)
        with m.lock() as g:
            with pytest.raises(TypeError):
                f(g)


def test_generic_alias():
    assert Mutex[int] is not Mutex
    m: "Mutex[list]" = Mutex([])
    assert m.get_mut() == []


def test_cycle_through_the_value_is_collected():
    import gc
    import weakref

    class Holder:
        pass

    gc.collect()
    h = Holder()
    h.m = Mutex(h)  # Holder -> Mutex -> its value, the Holder
    r1 = weakref.ref(h)
    m2 = Mutex(None)
    with m2.lock() as g:
        g.value = g  # Mutex -> value = its own (dead) guard -> Mutex
    r2 = weakref.ref(m2)
    m3 = Mutex(None)
    cv = pyconc.Condvar()
    with m3.lock() as g3:
        cv.wait_timeout(g3, 0)  # binds cv to m3
        g3.value = cv  # Mutex -> Condvar -> Mutex
    r3 = weakref.ref(m3)
    dropped = Mutex(0)
    held = dropped.lock()  # a guard never entered, in a cycle with the value
    with pytest.raises(WouldBlock):
        dropped.try_lock()
    box = [held]
    held2 = held  # noqa: F841
    del h, m2, g, m3, cv, g3, held, held2, box
    gc.collect()
    assert r1() is None and r2() is None and r3() is None
    with dropped.try_lock():  # the dropped guard unlocked
        pass


def test_many_guards_alive_at_once():
    ms = [Mutex(i) for i in range(100)]
    gs = [m.lock() for m in ms]
    for i, g in enumerate(gs):
        with g:
            assert g.value == i
            g.value = -i
    del gs
    assert [m.get_mut() for m in ms] == [-i for i in range(100)]


def test_get_mut_and_repr_after_into_inner():
    m = Mutex("v")
    assert m.get_mut() == "v"
    assert m.into_inner() == "v"
    with pytest.raises(RuntimeError, match="into_inner"):
        m.get_mut()
    assert "retired" in repr(m)


def test_blocked_lock_and_wait_release_the_gil():
    """A thread waiting in C (Mutex.lock, Condvar.wait) lets others run."""
    m, cv = Mutex(0), pyconc.Condvar()
    for wait in ("lock", "condvar"):
        started = threading.Event()

        def waiter():
            if wait == "lock":
                started.set()
                with m.lock(timeout=5):
                    pass
            else:
                with m.lock() as g:
                    started.set()
                    cv.wait_timeout(g, 5)

        g = m.lock() if wait == "lock" else None
        th = threading.Thread(target=waiter)
        th.start()
        started.wait()
        time.sleep(0.01)
        progress, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < 0.1:
            progress += 1
        if g is not None:
            del g  # unlocks
        cv.notify_all()
        th.join(10)
        assert progress > 1000
