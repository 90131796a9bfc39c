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
    with pytest.raises(pyconc.Panic):
        h.join()
