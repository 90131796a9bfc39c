"""Ctrl-C reaches every blocking wait of sync, thread and broadcast
within about 0.1 s, and leaves the primitive usable."""

import threading

import pytest

import pyconc
from pyconc import Barrier, Condvar, Mutex, Once, OnceLock, RwLock
from _interrupt import assert_interrupts

pytestmark = pytest.mark.faults  # the kind of test (tests/README.md)


def test_mutex_lock():
    m = Mutex(0)
    with m.lock():
        assert_interrupts(m.lock)  # not reentrant: waits for ourselves
        assert_interrupts(lambda: m.lock(timeout=30))
    with m.try_lock():  # the interrupted waits did not take it
        pass
    assert not m.is_poisoned()


def test_mutex_into_inner():
    m = Mutex(0)
    with m.lock():
        assert_interrupts(m.into_inner)
    with m.lock():
        pass


@pytest.mark.parametrize("make", [Mutex, RwLock], ids=["Mutex", "RwLock"])
def test_accessors_set_replace_get_cloned(make):
    lock = make([1])
    take = lock.lock if isinstance(lock, Mutex) else lock.write
    with take():
        assert_interrupts(lambda: lock.set([2]))
        assert_interrupts(lambda: lock.replace([3]))
        assert_interrupts(lock.get_cloned)
    with take() as g:  # nothing was stored, nothing left held
        assert g.value == [1]
    assert not lock.is_poisoned()


def test_condvar_wait_relocks_before_the_interrupt_propagates():
    m, cv = Mutex(0), Condvar()
    with pytest.raises(KeyboardInterrupt):
        with m.lock() as g:
            assert_interrupts(lambda: cv.wait(g))
            with pytest.raises(pyconc.WouldBlock):  # relocked
                m.try_lock()
            g.value = 1
            raise KeyboardInterrupt  # leave the block as Ctrl-C would
    assert m.is_poisoned()  # an exception left the block
    m.clear_poison()
    with m.lock() as g:
        assert g.value == 1


def test_condvar_timed_waits():
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        assert_interrupts(lambda: cv.wait_timeout(g, 30))
        assert_interrupts(lambda: cv.wait_while(g, lambda v: True))
        assert_interrupts(lambda: cv.wait_timeout_while(g, 30, lambda v: True))
        g.value = 2
    cv.notify_all()
    with m.lock() as g:
        assert g.value == 2


def test_rwlock():
    rw = RwLock(0)
    with rw.write():
        assert_interrupts(rw.read)
        assert_interrupts(rw.write)
    with rw.read():
        assert_interrupts(rw.write)
        with rw.try_read():  # the abandoned writer does not block readers
            pass
    with rw.try_write():
        pass


def test_barrier_takes_back_the_arrival():
    b = Barrier(2)
    assert_interrupts(b.wait)
    h = pyconc.spawn(b.wait)
    assert b.wait() != h.join()  # a fresh round of two, one leader


def test_once_and_oncelock_waiters():
    once, cell = Once(), OnceLock()
    release = threading.Event()
    entered = threading.Barrier(3)

    def slow():
        entered.wait()
        release.wait()

    h1 = pyconc.spawn(once.call_once, slow)
    h2 = pyconc.spawn(cell.get_or_init, lambda: slow() or 5)
    entered.wait()
    try:
        assert_interrupts(lambda: once.call_once(lambda: None))
        assert_interrupts(lambda: cell.get_or_init(lambda: 6))
        assert_interrupts(lambda: cell.set(7))
    finally:
        release.set()
    h1.join()
    assert h2.join() == 5
    assert once.is_completed() and cell.get() == 5


def test_join_and_scope():
    release = threading.Event()
    h = pyconc.spawn(release.wait)
    try:
        assert_interrupts(h.join)
        assert_interrupts(lambda: h.join(timeout=30))

        def in_scope():
            with pyconc.scope() as s:
                s.spawn(release.wait)

        assert_interrupts(in_scope)
    finally:
        release.set()
    assert h.join() is True


def test_broadcast_recv():
    tx, rx = pyconc.broadcast(4)
    assert_interrupts(rx.recv)
    assert_interrupts(lambda: rx.recv(timeout=30))
    tx.send(1)
    assert rx.recv() == 1


# ------------------------------------------------------ the Ctrl-C campaign
#
# Issue 11/12: SIGINT delivered at random moments to the main thread while
# it contends with worker threads for a SpinLock (private, from_buffer,
# ipc.SharedSpinLock), a Mutex and a Condvar's Mutex.  Afterwards every
# lock is free, nothing is poisoned, and every count is exact: an
# interrupted acquire took nothing, a completed one was released, and an
# interrupted Condvar wait held its Mutex again when its KeyboardInterrupt
# arrived.
#
# The signal handler raises KeyboardInterrupt, as the default one does, but
# only while the main thread is "armed" (inside the try of its loop): a
# KeyboardInterrupt raised in the loop's own bookkeeping would escape the
# test, not the lock.  The main thread's critical sections contain no
# point where a handler can run (no call, no backward jump), so a count
# taken there is exact; the workers' sections sleep(0) to invite a switch
# to the main thread while they hold the lock.

import os
import random
import signal
import sys
import time

from conftest import scaled


class _Campaign:
    def __init__(self, shots):
        self.shots = shots
        self.armed = False
        self.hits = 0
        self.missed = 0
        self.done = threading.Event()

    def handler(self, signum, frame):
        if self.armed:
            self.hits += 1
            raise KeyboardInterrupt
        self.missed += 1

    def fire(self):
        import _thread

        rnd = random.Random(os.getpid())
        main = threading.main_thread().ident
        for i in range(self.shots):
            time.sleep(rnd.uniform(0, 0.002))
            if i % 4 == 3:
                _thread.interrupt_main(signal.SIGINT)  # no real signal
            else:
                signal.pthread_kill(main, signal.SIGINT)
        self.done.set()

    def run(self, body):
        """Call body() in the main thread until every shot was fired."""
        old = signal.signal(signal.SIGINT, self.handler)
        t = threading.Thread(target=self.fire)
        try:
            t.start()
            while True:
                try:
                    self.armed = True
                    if self.done.is_set():
                        self.armed = False
                        break
                    body()
                    self.armed = False  # before the loop's jump back
                except KeyboardInterrupt:
                    self.armed = False
            t.join()
            # A last pending signal must meet armed=False while our handler
            # is still installed.  interrupt_main() sends no real signal, so
            # a sleep is not woken by it, and 3.10 runs pending handlers only
            # at some bytecodes (a loop's backward jump): so a loop of short
            # sleeps, not one sleep, before the default handler is back.
            end = time.monotonic() + 0.02
            while time.monotonic() < end:
                time.sleep(0.001)
        finally:
            self.armed = False
            signal.signal(signal.SIGINT, old)
        assert self.hits > 0


def _workers(n, body):
    stop = threading.Event()
    counts = [0] * n
    errors = []

    def work(i):
        try:
            while not stop.is_set():
                body()
                counts[i] += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()

    def finish():
        stop.set()
        for t in ts:
            t.join(30)
            assert not t.is_alive(), "a worker is stuck: a lock was left held"
        assert errors == []
        return sum(counts)

    return finish


def _contend(worker, main):
    """Two threads run worker() while the main thread runs main() under the
    campaign's signals; the workers' count of turns."""
    finish = _workers(2, worker)
    try:
        _Campaign(scaled(300)).run(main)
    finally:
        total = finish()
    return total


def _spin_locks():
    from pyconc import SpinLock, ipc

    yield "SpinLock", SpinLock(), None
    yield "from_buffer", SpinLock.from_buffer(bytearray(8)), None
    if sys.platform != "win32":
        lock = ipc.SharedSpinLock()
        yield "SharedSpinLock", lock, lock.close


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("kind", ["SpinLock", "from_buffer", "SharedSpinLock"])
def test_campaign_spin_lock(kind):
    name, lock, close = next((k, l, c) for k, l, c in _spin_locks() if k == kind)
    box = {"n": 0, "holder": None}
    mine = [0]

    def worker():
        with lock:
            assert box["holder"] is None
            box["holder"] = "worker"
            time.sleep(0)
            box["holder"] = None
            box["n"] += 1

    def main():
        with lock:
            bad = box["holder"] is not None
            box["n"] += 1
            mine[0] += 1
        assert not bad, "the main thread entered a held lock"

    total = _contend(worker, main)
    assert not lock.locked()
    assert box["n"] == total + mine[0]
    assert lock.acquire(timeout=1)
    lock.release()
    if close:
        close()


def _mutex_worker(m, then=lambda: None):
    """A worker's turn on Mutex m: hold it across a thread switch, mark
    itself the holder meanwhile, count one."""

    def worker():
        with m.lock() as g:
            v = g.value
            assert v["holder"] is None
            v["holder"] = "worker"
            time.sleep(0)
            v["holder"] = None
            v["n"] += 1
        then()

    return worker


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_campaign_mutex():
    m = Mutex({"n": 0, "holder": None})
    mine = [0]
    worker = _mutex_worker(m)

    def main():
        with m.lock(timeout=30) as g:
            v = g.value
            bad = v["holder"] is not None
            v["n"] += 1
            mine[0] += 1
        assert not bad, "the main thread entered a held mutex"

    total = _contend(worker, main)
    assert not m.is_poisoned()
    with m.try_lock() as g:
        assert g.value["n"] == total + mine[0]
        assert g.value["holder"] is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_campaign_condvar():
    m, cv = Mutex({"n": 0, "holder": None}), Condvar()
    mine = [0]
    relocked = [0]

    worker = _mutex_worker(m, cv.notify_all)

    def main():
        with m.lock() as g:
            try:
                if mine[0] % 3 == 0:
                    cv.wait(g)
                elif mine[0] % 3 == 1:
                    cv.wait_timeout(g, 0.01)
                else:
                    cv.wait_while(g, lambda v: v["n"] % 2 == 0)
            except KeyboardInterrupt:
                relocked[0] += 1
            # Interrupted or not, the wait holds the mutex again here.
            v = g.value
            bad = v["holder"] is not None
            v["n"] += 1
            mine[0] += 1
        assert not bad, "a Condvar wait returned without its mutex"

    total = _contend(worker, main)
    assert relocked[0] > 0
    assert not m.is_poisoned()
    with m.try_lock() as g:
        assert g.value["n"] == total + mine[0]
        assert g.value["holder"] is None
