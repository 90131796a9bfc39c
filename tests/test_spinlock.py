"""SpinLock: the threading.Lock interface, mutual exclusion, timeouts, Ctrl-C."""

import gc
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
