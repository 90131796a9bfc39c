"""Faults for the sync types, channels, threads and broadcast (test_spinlock_faults.py
has the SpinLock's): fork while another thread holds each kind of lock, a
thread killed by an exception while holding each kind of lock, and Ctrl-C
in the kinds of wait the other files do not reach.

What a forked child inherits is documented in docs/testing.md ("fork"):
every pyconc primitive is plain memory, copied as it was.  A lock held by
another thread in the parent stays held in the child (that thread does not
exist there), exactly as with threading.Lock; a read-held RwLock still
admits readers and refuses writers; values and poison flags are copies.
Fresh primitives made in the child work normally."""

import gc
import os
import sys
import threading
import time

import pytest

import pyconc
from _interrupt import assert_interrupts
from pyconc import (
    Condvar,
    Mutex,
    Once,
    OnceLock,
    PoisonError,
    RwLock,
    SpinLock,
    WouldBlock,
    broadcast,
    channel,
    sync_channel,
)

pytestmark = pytest.mark.faults  # the kind of test (tests/README.md)

posix_only = pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"),
                                reason="os.fork")


def _in_child(fn):
    """Run fn() in a forked child; its exit status (0 = passed).  A failure
    in the child prints its traceback to stderr before exiting 1."""
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _held_by_another_thread(enter):
    """Start a thread that runs `with enter():` and holds it until told;
    return (release, thread)."""
    held, done = threading.Event(), threading.Event()

    def holder():
        with enter():
            held.set()
            done.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(10)
    return done, t


def _fresh_primitives_work():
    """In a child: new primitives, threads and channels behave normally."""
    m = Mutex(0)
    cv = Condvar()

    def add():
        for _ in range(500):
            with m.lock() as g:
                g.value += 1
        cv.notify_all()

    hs = [pyconc.spawn(add) for _ in range(4)]
    with m.lock() as g:
        g = cv.wait_while(g, lambda v: v < 2000)
        assert g.value == 2000
    for h in hs:
        h.join(timeout=10)
    rw = RwLock([])
    with rw.write() as w:
        w.value.append(1)
    with rw.read() as r:
        assert r.value == [1]
    tx, rx = sync_channel(2)
    h = pyconc.spawn(lambda: [tx.send(i) for i in range(100)] and tx.close())
    assert list(rx) == list(range(100))
    h.join(timeout=10)
    btx, brx = broadcast(4)
    btx.send("x")
    assert brx.recv(timeout=5) == "x"
    with SpinLock():
        pass


@posix_only
def test_fork_while_another_thread_holds_a_mutex():
    m = Mutex("parent")
    done, t = _held_by_another_thread(m.lock)

    def child():
        # Inherited: held by a thread that does not exist here.
        with pytest.raises(WouldBlock):
            m.try_lock()
        with pytest.raises(TimeoutError):
            m.lock(timeout=0.05)
        assert "locked" in repr(m) and "unlocked" not in repr(m)
        assert not m.is_poisoned()
        _fresh_primitives_work()

    try:
        assert _in_child(child) == 0
    finally:
        done.set()
        t.join()
    with m.lock(timeout=5) as g:  # the parent's is untouched by the child
        assert g.value == "parent"


@posix_only
@pytest.mark.parametrize("mode", ["read", "write"])
def test_fork_while_another_thread_holds_an_rwlock(mode):
    rw = RwLock("parent")
    done, t = _held_by_another_thread(getattr(rw, mode))

    def child():
        with pytest.raises(WouldBlock):
            rw.try_write()
        with pytest.raises(TimeoutError):
            rw.write(timeout=0.05)
        if mode == "read":
            # Readers share: the inherited read hold still admits them.
            with rw.read(timeout=1) as r:
                assert r.value == "parent"
        else:
            with pytest.raises(WouldBlock):
                rw.try_read()
            with pytest.raises(TimeoutError):
                rw.read(timeout=0.05)
        _fresh_primitives_work()

    try:
        assert _in_child(child) == 0
    finally:
        done.set()
        t.join()
    with rw.write(timeout=5) as w:
        assert w.value == "parent"


@posix_only
def test_fork_inherits_copies_of_values_and_poison():
    m = Mutex(1)
    with pytest.raises(ValueError):
        with m.lock():
            raise ValueError
    cell = OnceLock()
    cell.set("set in the parent")
    tx, rx = channel()
    tx.send_many([1, 2, 3])

    def child():
        assert m.is_poisoned()  # a copy of the flag
        m.clear_poison()
        with m.lock(timeout=1) as g:
            g.value = 99
        assert cell.get() == "set in the parent"
        assert rx.try_recv() == 1  # the queued values were copied
        tx.send(4)

    assert _in_child(child) == 0
    assert m.is_poisoned()  # the child's changes stayed in the child
    m.clear_poison()
    with m.lock() as g:
        assert g.value == 1
    assert list(rx.try_iter()) == [1, 2, 3]


# ------------------------------------------- a thread dies holding a lock


def _die_in_thread(fn):
    """Run fn in a pyconc thread; it must raise (a panic), and join()
    re-raises that exception, noting the thread."""
    h = pyconc.spawn(fn)
    with pytest.raises(BaseException) as info:
        h.join(timeout=10)
    assert info.value is h._error
    assert any("raised in thread" in n for n in getattr(info.value, "__notes__", ()))


def test_exception_in_a_thread_holding_a_mutex_poisons_it():
    m = Mutex(0)

    def work():
        with m.lock() as g:
            g.value = 1
            raise RuntimeError("dies holding the lock")

    _die_in_thread(work)
    assert m.is_poisoned()
    with pytest.raises(PoisonError) as e:
        m.lock(timeout=1)
    with e.value.into_inner() as g:  # the lock is ours: nothing lost
        assert g.value == 1
    m.clear_poison()
    with m.try_lock():
        pass


def test_exception_in_a_thread_holding_an_rwlock_for_writing_poisons_it():
    rw = RwLock(0)

    def work():
        with rw.write() as w:
            w.value = 1
            raise RuntimeError("dies holding the write lock")

    _die_in_thread(work)
    assert rw.is_poisoned()
    with pytest.raises(PoisonError) as e:
        rw.read(timeout=1)
    with e.value.into_inner() as r:
        assert r.value == 1
    rw.clear_poison()
    with rw.try_write():
        pass


def test_exception_in_a_thread_holding_an_rwlock_for_reading_does_not_poison():
    rw = RwLock(0)

    def work():
        with rw.read():
            raise RuntimeError("dies holding a read lock")

    _die_in_thread(work)
    assert not rw.is_poisoned()
    with rw.try_write() as w:  # released
        assert w.value == 0


def test_exception_in_a_thread_waiting_on_a_condvar_poisons_the_mutex():
    m, cv = Mutex(0), Condvar()
    waiting = threading.Event()

    def work():
        with m.lock() as g:
            waiting.set()
            g = cv.wait_timeout(g, 0.05)[0]  # relocked when it returns
            raise RuntimeError("dies after the wait, holding the lock again")

    _die_in_thread(work)
    assert waiting.is_set() and m.is_poisoned()
    m.clear_poison()
    with m.try_lock():
        pass


def test_exception_in_a_thread_holding_a_spin_lock_releases_it():
    lock = SpinLock()

    def work():
        with lock:
            raise RuntimeError("dies holding the spin lock")

    _die_in_thread(work)
    assert not lock.locked()


def test_exception_in_once_and_oncelock_initialisers():
    once, cell = Once(), OnceLock()

    def bad():
        raise RuntimeError("initialiser dies")

    _die_in_thread(lambda: once.call_once(bad))
    _die_in_thread(lambda: cell.get_or_init(bad))
    with pytest.raises(PoisonError):  # Once: poisoned, callers told
        once.call_once(lambda: None)
    assert cell.get_or_init(lambda: 5) == 5  # OnceLock: the next caller retries


def test_mutex_guard_dropped_by_a_dying_thread_unlocks_without_poison():
    """A guard taken without `with` belongs to the frame.  The frame lives
    as long as the exception's traceback (kept by the JoinHandle for join(),
    as Python keeps any frame a traceback refers to); once that is gone
    the guard, dropped unused, unlocks (no exception passed through a
    `with` block, so no poison)."""
    m = Mutex(0)

    def work():
        g = m.lock()  # noqa: F841 (held by the frame only)
        raise RuntimeError("dies with a guard in a local variable")

    h = pyconc.spawn(work)
    with pytest.raises(RuntimeError) as e:
        h.join(timeout=10)
    with pytest.raises(TimeoutError):  # the traceback still holds the guard
        m.lock(timeout=0.05)
    del h, e
    gc.collect()
    assert not m.is_poisoned()
    with m.lock(timeout=1):
        pass


@pytest.mark.parametrize("mode", ["read", "write"])
def test_rwlock_guard_dropped_by_a_dying_thread_unlocks(mode):
    rw = RwLock(0)

    def work():
        g = getattr(rw, mode)()  # noqa: F841
        raise RuntimeError("dies with a guard in a local variable")

    _die_in_thread(work)
    gc.collect()
    with rw.write(timeout=0.2):
        pass


# ------------------------------------------------------------ Ctrl-C gaps


def test_ctrl_c_channel_timed_and_batch_waits():
    tx, rx = sync_channel(1)
    assert_interrupts(lambda: rx.recv(timeout=30))
    assert_interrupts(lambda: rx.recv_many(4, timeout=30))
    tx.send(0)
    assert_interrupts(lambda: tx.send_timeout(1, 30))
    assert_interrupts(lambda: tx.send_many([1, 2, 3]))
    # Nothing half-sent: the first value is there, the interrupted ones
    # either arrived whole or not at all, in order.
    got = list(rx.try_iter())
    assert got[0] == 0 and got[1:] in ([], [1], [1, 2], [1, 2, 3])
    tx2, rx2 = sync_channel(0)
    assert_interrupts(lambda: tx2.send_timeout("x", 30))
    assert list(rx2.try_iter()) == []  # the rendezvous value was taken back


def test_ctrl_c_rwlock_timed_waits_and_into_inner():
    rw = RwLock(0)
    with rw.write():
        assert_interrupts(lambda: rw.read(timeout=30))
        assert_interrupts(lambda: rw.write(timeout=30))
        assert_interrupts(rw.into_inner)
    with rw.try_read():  # usable, and no writer left waiting
        pass
    assert rw.into_inner() == 0


def test_ctrl_c_once_call_once_force_and_broadcast_iteration():
    once = Once()
    entered, release = threading.Event(), threading.Event()

    def slow(state):
        entered.set()
        release.wait(30)

    h = pyconc.spawn(once.call_once_force, slow)
    assert entered.wait(10)
    try:
        assert_interrupts(lambda: once.call_once_force(lambda s: None))
    finally:
        release.set()
    h.join(timeout=10)
    assert once.is_completed()

    tx, rx = broadcast(2)
    assert_interrupts(lambda: next(iter(rx)))
    tx.send(1)
    assert next(iter(rx)) == 1


@posix_only
def test_fork_with_a_semaphore_permit_and_a_parked_waitgroup():
    """A child inherits copies (issue 14's types): the permits another
    parent thread holds stay taken in the child's copy, the child's own use
    of its copies works and changes nothing in the parent."""
    import threading

    from pyconc import Parker, Semaphore, WaitGroup

    sem, wg, parker = Semaphore(2), WaitGroup(), Parker()
    member = wg.clone()
    done = threading.Event()

    def holder():
        with sem.acquire():
            done.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    while sem.available_permits() != 1:
        time.sleep(0.001)

    def child():
        assert sem.available_permits() == 1  # the holder's permit is not back
        with sem.acquire(timeout=1):
            with pytest.raises(WouldBlock):
                sem.try_acquire()
        with pytest.raises(TimeoutError):
            wg.wait(timeout=0.05)  # the parent's member is alive in the copy
        member.done()
        wg.wait(timeout=1)
        parker.unpark()
        assert parker.park(0)
        _fresh_primitives_work()

    try:
        assert _in_child(child) == 0
    finally:
        done.set()
        t.join()
    assert sem.available_permits() == 2
    assert not parker.park(0)  # the child's unpark was its own
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.01)  # the parent's member is still alive here
    member.done()
    wg.wait(timeout=1)
