"""Faults: fork while a lock is held, exceptions while holding a lock, Ctrl-C."""

import os
import sys
import threading

import pytest

from pyconc import AtomicInt, SpinLock

pytestmark = pytest.mark.faults  # the kind of test (tests/README.md)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="os.fork")


def _in_child(fn):
    """Run fn() in a forked child; return its exit status (0 = passed)."""
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@posix_only
def test_fork_while_another_thread_holds_a_spin_lock():
    """Documented behaviour: the child inherits the lock word as it was
    (held, by a thread that does not exist in the child), so acquiring it
    there times out; fresh primitives in the child work normally."""
    lock = SpinLock()
    counter = AtomicInt(5)
    held = threading.Event()
    done = threading.Event()

    def holder():
        with lock:
            held.set()
            done.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)

    def child():
        assert lock.locked()
        assert lock.acquire(timeout=0.05) is False  # inherited: still held
        fresh = SpinLock()
        with fresh:
            assert fresh.locked()
        assert not fresh.locked()
        assert counter.fetch_add(1) == 5  # a copy: the parent's is unaffected
        a = AtomicInt()
        ts = [threading.Thread(target=lambda: [a.fetch_add(1) for _ in range(1000)]) for _ in range(4)]
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        assert a.load() == 4000

    try:
        assert _in_child(child) == 0
    finally:
        done.set()
        t.join()
    assert counter.load() == 5
    assert not lock.locked()


def test_exception_inside_with_releases_the_lock():
    lock = SpinLock()

    def work():
        with lock:
            raise ValueError("boom")

    t = threading.Thread(target=lambda: pytest.raises(ValueError, work))
    t.start()
    t.join()
    assert not lock.locked()
    assert lock.acquire(timeout=1)
    lock.release()


def test_thread_dying_after_bare_acquire_leaves_lock_held():
    """As with threading.Lock: a lock acquired without `with` and never
    released stays held when its thread dies; any thread may release it."""
    lock = SpinLock()

    def work():
        lock.acquire()
        raise RuntimeError("dies holding the lock")

    def run():
        try:
            work()
        except RuntimeError:
            pass

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert lock.locked()
    assert lock.acquire(timeout=0.05) is False
    lock.release()  # recovery: no owner, so another thread may release
    assert lock.acquire(False)
    lock.release()
