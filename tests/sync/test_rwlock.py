"""pyconc.RwLock."""

import threading
import time

import pytest

import pyconc
from pyconc import PoisonError, RwLock, WouldBlock
from conftest import scaled


def test_many_readers_at_once():
    rw = RwLock({"k": 1})
    inside = threading.Barrier(4)
    seen = []

    def reader():
        with rw.read() as g:
            inside.wait(timeout=5)  # all four hold the read lock together
            seen.append(g.value["k"])

    with pyconc.scope() as s:
        for _ in range(4):
            s.spawn(reader)
    assert seen == [1, 1, 1, 1]


def test_writer_excludes():
    rw = RwLock(0)
    with rw.write() as g:
        g.value = 5
        with pytest.raises(WouldBlock):
            rw.try_read()
        with pytest.raises(WouldBlock):
            rw.try_write()
        assert "write-locked" in repr(rw)
    with rw.read() as g:
        assert g.value == 5
        with pytest.raises(WouldBlock):
            rw.try_write()
        with rw.try_read() as g2:
            assert g2.value == 5
            assert "read-locked by 2" in repr(rw)
    assert "unlocked" in repr(rw)


def test_read_guard_cannot_replace_value():
    rw = RwLock(1)
    with rw.read() as g:
        with pytest.raises(AttributeError):
            g.value = 2


def test_guards_outside_block():
    rw = RwLock(1)
    with rw.read() as r:
        pass
    with rw.write() as w:
        pass
    for g in (r, w):
        with pytest.raises(RuntimeError, match="outside its with block"):
            g.value
    with pytest.raises(RuntimeError):
        w.value = 3


def test_timeouts():
    rw = RwLock(0)
    with rw.write():
        out = []

        def other():
            for f in (rw.read, rw.write):
                try:
                    with f(timeout=0.05):
                        out.append("got")
                except TimeoutError:
                    out.append("timeout")

        th = threading.Thread(target=other)
        th.start()
        th.join()
        assert out == ["timeout", "timeout"]
    with pytest.raises(ValueError):
        rw.read(timeout=-1)


def test_write_poisons_read_does_not():
    rw = RwLock([1])
    with pytest.raises(KeyError):
        with rw.read():
            raise KeyError
    assert not rw.is_poisoned()
    with pytest.raises(KeyError):
        with rw.write() as g:
            g.value.append(2)
            raise KeyError
    assert rw.is_poisoned()
    for f in (rw.read, rw.write, rw.try_read, rw.try_write):
        with pytest.raises(PoisonError) as info:
            f()
        with info.value.into_inner() as g:
            assert g.value == [1, 2]
    rw.clear_poison()
    with rw.write() as g:
        g.value = [0]
    assert rw.into_inner() == [0]


def test_dropped_poison_error_releases():
    rw = RwLock(0)
    with pytest.raises(ValueError):
        with rw.write():
            raise ValueError
    try:
        rw.write()
    except PoisonError:
        pass
    with pytest.raises(PoisonError) as info:
        rw.try_write()  # not WouldBlock
    with info.value.into_inner():
        pass


def test_waiting_writer_is_not_starved_by_readers():
    rw = RwLock(0)
    stop = threading.Event()
    wrote = threading.Event()

    def reader():
        while not stop.is_set():
            with rw.read():
                time.sleep(0.001)

    with pyconc.scope() as s:
        for _ in range(4):
            s.spawn(reader)
        time.sleep(0.05)
        try:
            with rw.write(timeout=5) as g:  # would time out if starved
                g.value = 1
                wrote.set()
        finally:
            stop.set()
    assert wrote.is_set()


def test_waiting_writer_blocks_new_readers_and_abandon_releases_them():
    rw = RwLock(0)
    r = rw.read()
    r.__enter__()
    h = pyconc.spawn(lambda: _timed_write(rw, 0.2))
    time.sleep(0.05)
    with pytest.raises(WouldBlock):
        rw.try_read()  # writer waiting: readers queue behind it
    assert h.join() == "timeout"
    with rw.try_read():  # the writer gave up: readers may enter again
        pass
    r.__exit__(None, None, None)
    with rw.try_write():
        pass


def _timed_write(rw, t):
    try:
        with rw.write(timeout=t):
            return "got"
    except TimeoutError:
        return "timeout"


def test_stress_readers_and_writers():
    rw = RwLock([0, 0])
    per = scaled(2000)
    errors = []

    def writer():
        for _ in range(per):
            with rw.write() as g:
                a, b = g.value
                g.value = [a + 1, b + 1]

    def reader():
        for _ in range(per):
            with rw.read() as g:
                a, b = g.value
                if a != b:
                    errors.append((a, b))

    with pyconc.scope() as s:
        for _ in range(3):
            s.spawn(writer)
            s.spawn(reader)
    assert errors == []
    assert rw.into_inner() == [3 * per, 3 * per]


def test_stress_writer_timeouts_do_not_wedge_readers():
    rw = RwLock(0)
    per = scaled(300)

    def writer():
        for _ in range(per):
            try:
                with rw.write(timeout=0.0005) as g:
                    g.value += 1
            except TimeoutError:
                pass

    def reader():
        for _ in range(per):
            with rw.read(timeout=10):
                pass

    with pyconc.scope() as s:
        for _ in range(3):
            s.spawn(writer)
            s.spawn(reader)
    with rw.try_write():
        pass


def test_into_inner_of_poisoned_rwlock():
    rw = RwLock({"a": 1})
    with pytest.raises(ValueError):
        with rw.write():
            raise ValueError
    with pytest.raises(PoisonError) as info:
        rw.into_inner()
    assert info.value.into_inner() == {"a": 1}


def test_poisoned_while_waiting_for_write():
    rw = RwLock(0)
    entered = threading.Event()

    def bad():
        with rw.write():
            entered.set()
            time.sleep(0.05)
            raise KeyError

    h = pyconc.spawn(bad)
    entered.wait()
    with pytest.raises(PoisonError) as info:
        rw.read(timeout=5)  # waits, then gets it poisoned
    with info.value.into_inner() as g:
        assert g.value == 0
    with pytest.raises(KeyError):  # the thread's own exception, re-raised
        h.join()


# ------------------------------------------- the C type (issue 11, issue 12)


def test_timeout_raises_pyconc_timeout():
    rw = RwLock(0)
    with rw.write():
        for f in (rw.read, rw.write):
            with pytest.raises(pyconc.Timeout) as info:
                f(timeout=0.01)
            assert isinstance(info.value, TimeoutError)
            with pytest.raises(pyconc.Timeout):
                f(timeout=0)
    with rw.read(timeout=threading.TIMEOUT_MAX) as g:  # no limit, as threading
        assert g.value == 0
    with rw.write(timeout=2**80):
        pass


@pytest.mark.parametrize("bad, exc", [
    ("1", TypeError), (True, TypeError), (b"", TypeError), ([1], TypeError),
    (object(), TypeError), (float("nan"), ValueError), (-1, ValueError),
    (-0.5, ValueError), (-(2**80), ValueError),
])
def test_hostile_timeouts(bad, exc):
    rw = RwLock([1])
    for f in (rw.read, rw.write):
        with pytest.raises(exc):
            f(bad)
        with pytest.raises(exc):
            f(timeout=bad)
    with rw.try_write() as g:  # nothing taken by the rejected calls
        assert g.value == [1]


def test_hostile_call_shapes():
    rw = RwLock(0)
    for f in (rw.read, rw.write):
        with pytest.raises(TypeError):
            f(1, 2)
        with pytest.raises(TypeError):
            f(deadline=1)
        with pytest.raises(TypeError):
            f(1, timeout=1)
    for f in (rw.try_read, rw.try_write, rw.is_poisoned, rw.clear_poison, rw.into_inner):
        with pytest.raises(TypeError):
            f(1)
    with pytest.raises(TypeError):
        RwLock(1, 2)
    with pytest.raises(TypeError):
        RwLock(valu=1)
    assert RwLock(value=3).into_inner() == 3
    assert RwLock().into_inner() is None
    for name in ("read", "write", "try_read", "into_inner"):
        with pytest.raises(TypeError):
            getattr(RwLock, name)(object())
    with rw.try_write():
        pass


def test_immutable_and_init_rerun_changes_nothing():
    rw = RwLock([1])
    g = rw.read()
    g.__enter__()
    rw.__init__([2])  # all work is in __new__: nothing happens
    assert g.value == [1]
    for name in ("value", "_lock", "_value", "read", "x"):
        with pytest.raises(AttributeError):
            setattr(rw, name, 8)
        with pytest.raises(AttributeError):
            delattr(rw, name)
    with pytest.raises(AttributeError):
        g.value = 2  # a read guard cannot replace it
    for name in ("_rw", "x", "__enter__"):
        with pytest.raises(AttributeError):
            setattr(g, name, None)
    g.__exit__(None, None, None)
    w = rw.write()
    with pytest.raises(AttributeError):
        del w.value
    with pytest.raises(TypeError):
        type(w)()  # guards come from write() only
    with pytest.raises(TypeError):
        type(g)()
    w.__exit__(None, None, None)
    assert rw.into_inner() == [1]


def test_guard_exit_twice_and_enter_after_exit():
    rw = RwLock(0)
    w = rw.write()
    with w:
        pass
    with pytest.raises(RuntimeError, match="outside its with block"):
        w.__exit__(None, None, None)
    with pytest.raises(RuntimeError, match="outside its with block"):
        w.__enter__()
    assert "released" in repr(w)
    with rw.try_write():  # released exactly once
        pass


def test_guard_repr_and_generic_alias():
    rw = RwLock({"k": 1})
    with rw.read() as g:
        assert repr(g) == "<pyconc.RwLockReadGuard value={'k': 1}>"
    with rw.write() as w:
        assert repr(w) == "<pyconc.RwLockWriteGuard value={'k': 1}>"
    assert RwLock[int] is not None and pyconc.sync.RwLockReadGuard[int] is not None


@pytest.mark.parametrize("make", [
    lambda: RwLock([1]),
    lambda: RwLock([1]).read(),
    lambda: RwLock([1]).write(),
], ids=["rwlock", "read_guard", "write_guard"])
def test_copy_and_pickle_refused(make):
    import copy
    import pickle

    obj = make()
    for f in (copy.copy, copy.deepcopy, pickle.dumps,
              lambda o: pickle.dumps(o, protocol=0)):
        with pytest.raises(TypeError, match="cannot copy or pickle"):
            f(obj)


def test_cycle_through_the_value_is_collected():
    import gc
    import weakref

    class Node:
        pass

    n = Node()
    rw = RwLock(n)
    n.rw = rw  # rw -> n -> rw
    refs = [weakref.ref(n), weakref.ref(rw)]
    del n, rw
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_cycle_through_a_guard_is_collected_and_releases():
    import gc
    import weakref

    rw = RwLock(None)
    with rw.write() as w:
        w.value = [w]  # rw -> list -> guard -> rw (a released guard)
    r_rw = weakref.ref(rw)
    del rw, w
    gc.collect()
    assert r_rw() is None

    rw = RwLock([])
    g = rw.read()  # held, in a cycle of garbage
    box = [g]
    box.append(box)
    del g, box
    gc.collect()
    with rw.try_write():  # the collected guard released its hold
        pass


def test_signal_between_read_and_with_releases():
    """A guard dropped before its with block (what a KeyboardInterrupt
    between read() and __enter__ does) releases the lock."""
    rw = RwLock(0)
    for f in (rw.read, rw.write, rw.try_read, rw.try_write):
        f()  # dropped at once
        with rw.try_write():
            pass
