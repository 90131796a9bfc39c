"""Atomics and spin locks in multiprocessing.shared_memory, used by two processes."""

import multiprocessing as mp
from multiprocessing import shared_memory

import pytest

from pyconc import AtomicInt, SpinLock

from conftest import scaled


def _add(name, n):
    shm = shared_memory.SharedMemory(name=name)
    try:
        a = AtomicInt.from_buffer(shm.buf, 0)
        for _ in range(n):
            a.fetch_add(1)
        del a
    finally:
        shm.close()


def _locked_add(name, n):
    shm = shared_memory.SharedMemory(name=name)
    try:
        lock = SpinLock.from_buffer(shm.buf, 0)
        view = shm.buf.cast("q")
        for _ in range(n):
            with lock:
                view[1] += 1  # a plain read-modify-write: exact only under the lock
        view.release()
        del lock
    finally:
        shm.close()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_atomic_in_shared_memory_two_processes(method):
    n = scaled(20_000)
    ctx = mp.get_context(method)
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        procs = [ctx.Process(target=_add, args=(shm.name, n)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        a = AtomicInt.from_buffer(shm.buf, 0)
        assert a.load() == 2 * n
        del a
    finally:
        shm.close()
        shm.unlink()


def test_spin_lock_in_shared_memory_two_processes():
    n = scaled(5_000)
    ctx = mp.get_context("fork")
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        shm.buf[:16] = bytes(16)
        procs = [ctx.Process(target=_locked_add, args=(shm.name, n)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        view = shm.buf.cast("q")
        assert view[1] == 2 * n
        view.release()
    finally:
        shm.close()
        shm.unlink()
