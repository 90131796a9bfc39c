"""Mutex and RwLock beyond lock(): the accessors Rust has (get_mut, set,
replace, get_cloned, RwLockWriteGuard::downgrade), poisoning as a choice
(poison=False, Rust's std::sync::nonpoison), and the TypeError of
``with m:``.

Tests named "port of ..." follow the test of that name in Rust's
library/std/tests/sync/{mutex,rwlock}.rs, rewritten for Python.
"""

import copy
import threading
import time

import pytest

import pyconc
from pyconc import Mutex, PoisonError, RwLock, WouldBlock
from conftest import scaled


def _poison(lock):
    """Poison a Mutex or RwLock by raising out of its (write) block."""
    take = lock.lock if isinstance(lock, Mutex) else lock.write
    with pytest.raises(KeyError):
        with take():
            raise KeyError("boom")
    assert lock.is_poisoned()


LOCKS = [pytest.param(Mutex, id="Mutex"), pytest.param(RwLock, id="RwLock")]


def _value_of(lock):
    take = lock.lock if isinstance(lock, Mutex) else lock.read
    with take() as g:
        return g.value


# ------------------------------------------------------------- get_mut


@pytest.mark.parametrize("make", LOCKS)
def test_get_mut(make):
    """Port of test_get_mut (mutex.rs, rwlock.rs)."""
    lock = make([10])
    v = lock.get_mut()
    v.append(20)
    assert _value_of(lock) == [10, 20]


@pytest.mark.parametrize("make", LOCKS)
def test_get_mut_poison(make):
    """Port of test_get_mut_poison: a poisoned lock gives its value only
    through the PoisonError (issue 14: it used to return it)."""
    lock = make(5)
    _poison(lock)
    with pytest.raises(PoisonError) as info:
        lock.get_mut()
    assert info.value.into_inner() == 5
    lock.clear_poison()
    assert lock.get_mut() == 5


# -------------------------------------------------- set, replace, get_cloned


@pytest.mark.parametrize("make", LOCKS)
def test_set(make):
    """Port of test_set (mutex.rs, rwlock.rs): set stores, and on a
    poisoned lock hands the new value back in the error, storing nothing."""
    lock = make([1])
    lock.set([2])
    assert _value_of(lock) == [2]
    _poison(lock)
    with pytest.raises(PoisonError) as info:
        lock.set([3])
    assert info.value.into_inner() == [3]
    lock.clear_poison()
    assert _value_of(lock) == [2]


@pytest.mark.parametrize("make", LOCKS)
def test_replace(make):
    """Port of test_replace: the old value comes back; poisoned: the new
    one, in the error."""
    lock = make("a")
    assert lock.replace("b") == "a"
    assert lock.replace("c") == "b"
    _poison(lock)
    with pytest.raises(PoisonError) as info:
        lock.replace("d")
    assert info.value.into_inner() == "d"
    lock.clear_poison()
    assert _value_of(lock) == "c"


@pytest.mark.parametrize("make", LOCKS)
def test_get_cloned(make):
    """Port of test_get_cloned: a copy, not the object; poisoned: the copy
    is in the error."""
    lock = make({"k": [1]})
    c = lock.get_cloned()
    assert c == {"k": [1]}
    assert c is not _value_of(lock)
    _poison(lock)
    with pytest.raises(PoisonError) as info:
        lock.get_cloned()
    assert info.value.into_inner() == {"k": [1]}


@pytest.mark.parametrize("make", LOCKS)
def test_get_cloned_raising_copy_does_not_poison(make):
    class NoCopy:
        def __copy__(self):
            raise ValueError("no copies")

    lock = make(NoCopy())
    with pytest.raises(ValueError):
        lock.get_cloned()
    assert not lock.is_poisoned()
    lock.set(1)  # and the lock was released


@pytest.mark.parametrize("make", LOCKS)
def test_old_value_dropped_after_unlock(make):
    """set() drops the old value after unlocking: its __del__ may take the
    same lock without deadlocking."""
    lock = make(None)
    seen = []

    class Locks:
        def __del__(self):
            seen.append(lock.get_cloned())

    lock.set(Locks())
    lock.set(7)
    assert seen == [7]


@pytest.mark.parametrize("make", LOCKS)
def test_set_waits_for_the_holder(make):
    lock = make(0)
    take = lock.lock if isinstance(lock, Mutex) else lock.write
    done = threading.Event()

    def setter():
        lock.set(1)
        done.set()

    with take() as g:
        t = threading.Thread(target=setter)
        t.start()
        assert not done.wait(0.05)  # blocked behind us
        g.value = 5
    t.join(5)
    assert done.is_set() and _value_of(lock) == 1


def test_set_is_exact_under_contention():
    """replace() as a swap: every value put in comes out exactly once."""
    m = Mutex(-1)
    n, threads = scaled(2000), 4
    out = [[] for _ in range(threads)]

    def body(k):
        for i in range(n):
            out[k].append(m.replace(k * n + i))

    with pyconc.scope() as s:
        for k in range(threads):
            s.spawn(body, k)
    got = sorted(x for o in out for x in o) + [m.into_inner()]
    assert sorted(got) == [-1] + list(range(threads * n))


# ---------------------------------------------------------- poison=False


@pytest.mark.parametrize("make", LOCKS)
def test_nonpoison_lock_only_unlocks(make):
    lock = make({}, poison=False)
    take = lock.lock if isinstance(lock, Mutex) else lock.write
    for _ in range(3):
        with pytest.raises(KeyError):
            with take() as g:
                g.value["x"] = 1
                raise KeyError("a miss, as caches have")
    assert not lock.is_poisoned()
    with take() as g:
        assert g.value == {"x": 1}
    assert lock.into_inner() == {"x": 1}


def test_nonpoison_flag_is_keyword_only():
    with pytest.raises(TypeError):
        Mutex(0, False)
    with pytest.raises(TypeError):
        RwLock(0, False)
    assert not Mutex(poison=False).is_poisoned()


def test_nonpoison_mutex_with_condvar():
    """A Condvar works the same over a nonpoison Mutex; an exception in the
    block after a wait does not poison."""
    m, cv = Mutex(0, poison=False), pyconc.Condvar()

    def bump():
        time.sleep(0.01)
        with m.lock() as g:
            g.value = 1
        cv.notify_all()

    t = threading.Thread(target=bump)
    t.start()
    with pytest.raises(RuntimeError):
        with m.lock() as g:
            g = cv.wait_while(g, lambda v: v == 0)
            raise RuntimeError
    t.join()
    assert not m.is_poisoned()


# ------------------------------------------------------- with m: TypeError


def test_with_mutex_itself_says_what_to_write():
    m = Mutex(0)
    with pytest.raises(TypeError, match=r"with m\.lock\(\) as g"):
        with m:
            pass
    with m.lock():  # not left locked
        pass


def test_with_rwlock_itself_says_what_to_write():
    rw = RwLock(0)
    with pytest.raises(TypeError, match=r"rw\.read\(\)"):
        with rw:
            pass
    with rw.write():
        pass


# -------------------------------------------------------------- downgrade


def test_downgrade_basic():
    """Port of test_downgrade_basic (rwlock.rs)."""
    rw = RwLock(())
    with rw.write() as w:
        with w.downgrade() as r:
            assert r.value == ()
    assert "unlocked" in repr(rw)


def test_downgrade_observe():
    """Port of test_downgrade_observe: the value written before the
    downgrade is what the read guard sees, and other readers share it."""
    rw = RwLock(0)
    with rw.write() as w:
        w.value = 42
        r = w.downgrade()
        assert r.value == 42
        with rw.try_read() as other:  # readers share it now
            assert other.value == 42
        with pytest.raises(WouldBlock):
            rw.try_write()
        del r  # a read guard dropped unused releases
    with rw.try_write() as w:
        assert w.value == 42


def test_downgrade_atomic():
    """Port of test_downgrade_atomic: a writer waiting while the lock is
    write-held cannot slip in between the write and the read of a
    downgrade; it gets in only once the read guard is gone."""
    rw = RwLock(0)
    rounds = scaled(200)
    order = []

    for i in range(rounds):
        started = threading.Event()

        def writer():
            started.set()
            with rw.write() as w:
                order.append(("writer", w.value))
                w.value = -1

        with rw.write() as w:
            w.value = i
            t = threading.Thread(target=writer)
            t.start()
            started.wait()
            if i % 2:
                time.sleep(0.001)  # let it park
            with w.downgrade() as r:
                assert r.value == i  # nobody wrote in between
                order.append(("reader", r.value))
        t.join(5)
        assert not t.is_alive()
    assert order == [x for i in range(rounds) for x in (("reader", i), ("writer", i))]


def test_downgrade_guard_states():
    rw = RwLock(1)
    with rw.write() as w:
        r = w.downgrade()
        with pytest.raises(RuntimeError):
            w.downgrade()  # it gave its lock away
        with pytest.raises(RuntimeError):
            w.value
        with pytest.raises(RuntimeError):
            w.value = 2
        assert "released" in repr(w)
        r.__exit__(None, None, None)
    # w's exit was silent; the read guard's exit released; all free:
    with rw.try_write():
        pass
    with rw.write() as w:
        pass
    with pytest.raises(RuntimeError):
        w.downgrade()  # after its block


def test_downgrade_exception_does_not_poison():
    rw = RwLock(1)
    with pytest.raises(KeyError):
        with rw.write() as w:
            with w.downgrade():
                raise KeyError
    assert not rw.is_poisoned()
    with rw.try_write():
        pass


def test_downgrade_refuses_copy():
    rw = RwLock(1)
    with rw.write() as w:
        with w.downgrade() as r:
            with pytest.raises(TypeError):
                copy.copy(r)


def test_downgrade_stress():
    """Writers that downgrade and readers: a reader never sees a value
    another writer wrote while a downgraded reader was inside."""
    rw = RwLock([0, 0])
    n = scaled(2000)
    errors = []

    def writer(k):
        for i in range(n):
            with rw.write() as w:
                w.value = [k, i]
                if i % 2:
                    with w.downgrade() as r:
                        if r.value != [k, i]:
                            errors.append((k, i, list(r.value)))

    def reader():
        for _ in range(n):
            with rw.read() as r:
                v = r.value
                if len(v) != 2:
                    errors.append(v)

    with pyconc.scope() as s:
        for k in range(3):
            s.spawn(writer, k)
        for _ in range(2):
            s.spawn(reader)
    assert errors == []
    assert "unlocked" in repr(rw)
