"""SpinLock: the threading.Lock interface, mutual exclusion, timeouts, Ctrl-C."""

import gc
import os
import signal
import sys
import threading
import time
import weakref

import pytest

from pyconc import SpinLock

from conftest import scaled


def test_acquire_release_locked():
    lock = SpinLock()
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(blocking=False) is False
    lock.release()
    assert not lock.locked()
    assert lock.acquire(False) is True
    lock.release()


def test_release_unlocked_raises():
    lock = SpinLock()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.__exit__(None, None, None)


def test_context_manager():
    lock = SpinLock()
    with lock as got:
        assert got is True
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(KeyError):
        with lock:
            raise KeyError
    assert not lock.locked()


def test_timeout_arguments():
    lock = SpinLock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(blocking=False, timeout=0)
    with pytest.raises(ValueError):
        lock.acquire(timeout=-5)
    with pytest.raises(ValueError):
        lock.acquire(timeout=float("nan"))
    with pytest.raises(TypeError):
        lock.acquire(timeout="1")
    assert not lock.locked()  # no bad call took the lock
    # A timeout beyond what the platform can wait means "no limit", as
    # threading.TIMEOUT_MAX does for threading.Lock (issue 11: this used to
    # raise OverflowError).
    for forever in (threading.TIMEOUT_MAX, 1e300, float("inf"), 2**80):
        assert lock.acquire(timeout=forever) is True
        lock.release()
    assert lock.acquire(True, 0) is True  # timeout 0 on a free lock succeeds
    assert lock.acquire(True, 0) is False
    lock.release()


def test_timeout_expires():
    lock = SpinLock()
    lock.acquire()
    t0 = time.monotonic()
    assert lock.acquire(timeout=0.2) is False
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.19
    lock.release()


def test_acquired_when_released_by_another_thread():
    lock = SpinLock()
    lock.acquire()
    threading.Timer(0.1, lock.release).start()
    assert lock.acquire(timeout=5) is True
    lock.release()


@pytest.mark.parametrize("threads", [2, 4])
def test_mutual_exclusion_plain_counter(threads):
    """A plain Python counter incremented under the lock comes out exact."""
    n = scaled(20_000)
    lock = SpinLock()
    box = [0]
    inside = [0]
    overlaps = []
    start = threading.Barrier(threads)

    def work():
        start.wait()
        for _ in range(n):
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    overlaps.append(inside[0])
                v = box[0]
                if _ % 64 == 0:
                    time.sleep(0)  # invite a thread switch inside the section
                box[0] = v + 1
                inside[0] -= 1

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert overlaps == []
    assert box[0] == threads * n
    assert not lock.locked()


def test_contended_waiters_all_get_through():
    """Waiters that park in the kernel are all woken eventually."""
    lock = SpinLock()
    lock.acquire()
    done = []

    def waiter(i):
        with lock:
            done.append(i)
            time.sleep(0.002)

    ts = [threading.Thread(target=waiter, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    time.sleep(0.2)  # long enough for every waiter to reach the parking phase
    lock.release()
    for t in ts:
        t.join(10)
        assert not t.is_alive()
    assert sorted(done) == list(range(8))


def test_release_from_another_thread_like_threading_lock():
    lock = SpinLock()
    lock.acquire()
    t = threading.Thread(target=lock.release)
    t.start()
    t.join()
    assert not lock.locked()


def test_repr_and_weakref():
    lock = SpinLock()
    assert "unlocked" in repr(lock)
    with lock:
        assert "<locked" in repr(lock)
    r = weakref.ref(lock)
    del lock
    gc.collect()
    assert r() is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_blocked_acquire():
    lock = SpinLock()
    lock.acquire()
    main = threading.main_thread().ident
    sent = []

    def interrupt():
        time.sleep(0.2)
        sent.append(time.monotonic())
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        lock.acquire()
    latency = time.monotonic() - sent[0]
    assert latency < 0.1, f"KeyboardInterrupt took {latency * 1000:.0f} ms"
    assert lock.locked()  # still held by us: the interrupted acquire took nothing
    lock.release()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_timed_acquire():
    lock = SpinLock()
    lock.acquire()
    main = threading.main_thread().ident
    threading.Timer(0.1, signal.pthread_kill, (main, signal.SIGINT)).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        lock.acquire(timeout=30)
    assert time.monotonic() - t0 < 5
    lock.release()


def test_from_buffer_spin_lock():
    buf = bytearray(16)
    a = SpinLock.from_buffer(buf, 4)
    b = SpinLock.from_buffer(buf, 4)
    assert a.acquire(False)
    assert b.locked() and not b.acquire(False)
    assert buf[4:8] != bytes(4)
    b.release()
    assert not a.locked()
    with pytest.raises(ValueError, match="align"):
        for off in (1, 2, 3):
            SpinLock.from_buffer(buf, off)
    with pytest.raises(TypeError):
        SpinLock.from_buffer(b"\0" * 8)


# ------------------------------------------- issue 11: the C type's shape


def test_timeout_max_waits_without_limit():
    """threading.TIMEOUT_MAX (and beyond) is "no limit", not OverflowError:
    a waiter with it gets the lock when another thread releases it."""
    lock = SpinLock()
    lock.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=threading.TIMEOUT_MAX)))
    t.start()
    time.sleep(0.05)
    assert got == []
    lock.release()
    t.join(10)
    assert got == [True] and lock.locked()
    lock.release()
    # The same parse as threading.Lock for what it accepts.
    ref = threading.Lock()
    for args in [(True, threading.TIMEOUT_MAX), (True, -1), (1, 0.5), (True, 0)]:
        assert ref.acquire(*args) is lock.acquire(*args) is True
        ref.release()
        lock.release()


class _BadBool:
    def __bool__(self):
        raise ZeroDivisionError


@pytest.mark.parametrize("call, exc", [
    (lambda l: l.acquire(True, 1, 2), TypeError),
    (lambda l: l.acquire(nope=1), TypeError),
    (lambda l: l.acquire(True, blocking=True), TypeError),
    (lambda l: l.acquire(_BadBool()), ZeroDivisionError),
    (lambda l: l.acquire(timeout=None), TypeError),
    (lambda l: l.acquire(timeout=True), TypeError),
    (lambda l: l.acquire(timeout=object()), TypeError),
    (lambda l: l.acquire(timeout=-2**80), ValueError),
    (lambda l: l.acquire(timeout=float("-inf")), ValueError),
    (lambda l: l.release(1), TypeError),
    (lambda l: l.locked(1), TypeError),
    (lambda l: SpinLock(1), TypeError),
    (lambda l: SpinLock(x=1), TypeError),
])
def test_hostile_arguments_raise_and_take_nothing(call, exc):
    for lock in (SpinLock(), SpinLock.from_buffer(bytearray(4))):
        with pytest.raises(exc):
            call(lock)
        assert not lock.locked()


def test_object_is_immutable_and_init_is_harmless():
    lock = SpinLock()
    for name in ("_lock", "_addr", "acquire", "x"):
        with pytest.raises(AttributeError):
            setattr(lock, name, 8)
        with pytest.raises((AttributeError, TypeError)):
            delattr(lock, name)
    with pytest.raises((AttributeError, TypeError)):
        SpinLock.acquire = None
    assert not hasattr(lock, "__dict__")
    lock.acquire()
    lock.__init__()  # all work is done in __new__: nothing changes
    assert lock.locked()
    lock.release()
    shared = SpinLock.from_buffer(bytearray(4))
    shared.acquire()
    shared.__init__()
    assert shared.locked() and shared.owner() == os.getpid()
    shared.release()


def test_no_pickle_or_copy():
    import copy
    import pickle

    for lock in (SpinLock(), SpinLock.from_buffer(bytearray(4))):
        for f in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError, match="cannot copy or pickle"):
                f(lock)


def test_enter_is_acquire_with_its_arguments():
    lock = SpinLock()
    assert lock.__enter__() is True
    assert lock.__enter__(False) is False  # acquire's own arguments
    assert lock.__enter__(timeout=0.01) is False
    assert lock.__exit__(None, None, None) is None
    assert not lock.locked()


def test_robust_type_is_made_only_by_from_buffer():
    from pyconc.spinlock import _RobustSpinLock

    with pytest.raises(TypeError):
        _RobustSpinLock()
    with pytest.raises(TypeError):
        SpinLock.__new__(_RobustSpinLock)
    assert type(SpinLock.from_buffer(bytearray(4))) is _RobustSpinLock


def test_from_buffer_keeps_the_buffer_exported():
    import mmap

    buf = bytearray(8)
    lock = SpinLock.from_buffer(buf, 4)
    with pytest.raises(BufferError):
        buf.extend(b"x")  # cannot move under the lock
    mm = mmap.mmap(-1, 4096)
    mlock = SpinLock.from_buffer(mm)
    with pytest.raises(BufferError):
        mm.close()
    assert mlock.acquire(False)
    mlock.release()
    r = weakref.ref(mlock)
    del lock, mlock
    gc.collect()
    assert r() is None
    buf.extend(b"x")  # released with the lock
    mm.close()


@pytest.mark.parametrize("args, exc", [
    ((bytearray(8), -1), ValueError),
    ((bytearray(8), 5), ValueError),
    ((bytearray(8), 2**100), ValueError),
    ((bytearray(8), -2**100), ValueError),
    ((bytearray(8), True), TypeError),
    ((bytearray(8), "0"), TypeError),
    ((bytearray(8), 0.0), TypeError),
    ((bytearray(3),), ValueError),
    ((memoryview(bytearray(16))[::2],), ValueError),
    ((memoryview(bytearray(8)).toreadonly(),), TypeError),
    ((b"\0" * 8,), TypeError),
    ((object(),), TypeError),
    ((), TypeError),
    ((bytearray(8), 0, 0), TypeError),
])
def test_from_buffer_hostile_arguments(args, exc):
    with pytest.raises(exc):
        SpinLock.from_buffer(*args)


def test_subclass_works():
    class Mine(SpinLock):
        pass

    lock = Mine()
    with lock:
        assert lock.locked()
    assert not lock.locked()
