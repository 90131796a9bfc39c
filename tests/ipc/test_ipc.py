"""pyconc.ipc: shared atomics, the robust shared spin lock, segments."""

import gc
import os
import pickle
import signal
import time
from multiprocessing import shared_memory

import pytest

import ipc_children as kids
from conftest import scaled
import ipc_support
from ipc_support import join_all, pyconc_segments, run
from pyconc import AtomicInt, SpinLock, ipc
from pyconc.errors import OwnerDied
from pyconc._native import lib

no_stale_segments = pytest.fixture(autouse=True)(ipc_support.no_stale_segments)
ctx = pytest.fixture(params=ipc_support.START_METHODS)(ipc_support.start_method)

pytestmark = pytest.mark.timeout(120)


# ------------------------------------------------------------ shared atomics


def test_shared_atomic_int_is_an_atomic_int():
    with ipc.SharedAtomicInt(5) as a:
        assert isinstance(a, AtomicInt)
        assert a.fetch_add(2) == 5
        assert a.compare_exchange(7, 9) == (True, 7)
        assert a.load() == 9
        assert repr(a) == "SharedAtomicInt(9)"
        assert ("pc_" + a.name[3:]) in pyconc_segments()
    assert a.closed
    assert "closed" in repr(a)


def test_uint_and_bool_and_their_ranges():
    u = ipc.SharedAtomicUInt()
    assert u.fetch_sub(1) == 0 and u.load() == 2**64 - 1
    b = ipc.SharedAtomicBool(True)
    assert b.swap(False) is True and b.load() is False
    with pytest.raises(OverflowError):
        ipc.SharedAtomicInt(2**63)
    with pytest.raises(TypeError):
        ipc.SharedAtomicUInt("1")
    u.close()
    b.close()


def test_bad_values_leave_no_segment():
    before = pyconc_segments()
    for bad in (2**64, -1, "x"):
        with pytest.raises((OverflowError, TypeError)):
            ipc.SharedAtomicUInt(bad)
    assert pyconc_segments() == before


def test_attach_by_name_and_last_close_unlinks():
    a = ipc.SharedAtomicInt(1)
    b = ipc.SharedAtomicInt.attach(a.name)
    b.fetch_add(41)
    assert a.load() == 42
    name = a.name
    a.close()
    assert "pc_" + name[3:] in pyconc_segments()  # b still uses it
    b.close()
    assert "pc_" + name[3:] not in pyconc_segments()
    with pytest.raises(FileNotFoundError):
        ipc.SharedAtomicInt.attach(name)


def test_a_closed_object_keeps_its_mapping_but_cannot_travel():
    a = ipc.SharedAtomicInt(3)
    a.close()
    a.close()  # twice is fine
    assert a.fetch_add(1) == 3  # still mapped: no crash
    with pytest.raises(ValueError):
        pickle.dumps(a)
    with pytest.raises(ValueError):
        a.name


def test_bad_names_and_kinds():
    with pytest.raises(FileNotFoundError):
        ipc.SharedAtomicInt.attach("pc_does_not_exist")
    with pytest.raises(TypeError):
        ipc.SharedAtomicInt.attach(42)
    lock = ipc.SharedSpinLock()
    with pytest.raises(ValueError, match="SharedSpinLock"):
        ipc.SharedAtomicInt.attach(lock.name)
    tx, rx = ipc.channel(4096)
    with pytest.raises(ValueError, match="channel"):
        ipc.SharedSpinLock.attach(tx.name)
    with pytest.raises(ValueError, match="not a SharedAtomicInt|holds a"):
        ipc.Sender.attach(lock.name)
    # A POSIX segment that is not pyconc's.
    shm = shared_memory.SharedMemory(create=True, size=8192)
    try:
        with pytest.raises(ValueError, match="not a pyconc segment"):
            ipc.SharedAtomicInt.attach(shm.name)
    finally:
        shm.close()
        shm.unlink()
    lock.close()
    tx.close()
    rx.close()


def test_counter_from_two_processes(ctx):
    n = scaled(20_000)
    counter = ipc.SharedAtomicInt()
    procs = [run(ctx, kids.add, counter, n) for _ in range(2)]
    assert join_all(procs) == [0, 0]
    assert counter.load() == 2 * n
    counter.close()


def test_unsigned_and_bool_travel(ctx):
    u = ipc.SharedAtomicUInt(2**64 - 1)
    procs = [run(ctx, kids.add, u, 3)]
    assert join_all(procs) == [0]
    assert u.load() == 2  # wrapped around
    flag = ipc.SharedAtomicBool()
    q = pickle.loads(pickle.dumps(flag))
    q.store(True)
    assert flag.load() is True
    for obj in (u, flag, q):
        obj.close()


def test_from_buffer_over_shared_memory(ctx):
    n = scaled(10_000)
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        cell = AtomicInt.from_buffer(shm.buf, 8)
        cell.store(0)
        procs = [run(ctx, kids.from_buffer_add, shm.name, n) for _ in range(2)]
        assert join_all(procs) == [0, 0]
        assert cell.load() == 2 * n
        del cell
    finally:
        shm.close()
        shm.unlink()


# ------------------------------------------------------------ lifetime


def test_the_creators_exit_unlinks(ctx):
    parent, child = ctx.Pipe()
    p = run(ctx, kids.create_and_report, "SharedAtomicInt", child)
    name = parent.recv()
    mine = ipc.SharedAtomicInt.attach(name)
    mine.store(7)
    parent.send("attached")
    assert join_all([p]) == [0]
    # Unlinked although this process still uses it; the mapping survives.
    assert "pc_" + name[3:] not in pyconc_segments()
    assert mine.fetch_add(1) == 7
    with pytest.raises(FileNotFoundError):
        ipc.SharedAtomicInt.attach(name)
    mine.close()


def test_a_killed_user_does_not_keep_the_segment(ctx):
    a = ipc.SharedAtomicInt()
    ready = ctx.Event()
    p = run(ctx, kids.attach_and_die, a, ready)
    assert ready.wait(60)
    join_all([p])
    assert p.exitcode == -signal.SIGKILL
    name = a.name
    a.close()  # the last *live* user
    assert "pc_" + name[3:] not in pyconc_segments()


def test_garbage_collection_closes():
    a = ipc.SharedAtomicInt()
    name = a.name
    del a
    gc.collect()
    assert "pc_" + name[3:] not in pyconc_segments()


# ------------------------------------------------------------ shared spin lock


def test_private_spinlock_is_unchanged():
    lock = SpinLock()
    assert type(lock) is SpinLock
    shared = SpinLock.from_buffer(bytearray(8))
    assert isinstance(shared, SpinLock) and type(shared) is not SpinLock


def test_shared_lock_basics():
    lock = ipc.SharedSpinLock()
    assert lock.owner() is None and not lock.locked()
    assert lock.acquire()
    assert lock.owner() == os.getpid() and lock.locked()
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0.05) is False
    with pytest.raises(ValueError):
        lock.acquire(blocking=False, timeout=1)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    other = ipc.SharedSpinLock.attach(lock.name)
    with other:
        assert lock.acquire(blocking=False) is False
    lock.close()
    other.close()


def test_shared_lock_excludes_across_processes(ctx):
    n = scaled(5_000)
    lock = ipc.SharedSpinLock()
    cell = ipc.SharedAtomicInt()
    procs = [run(ctx, kids.add_under_lock, lock, cell, n) for _ in range(2)]
    kids.add_under_lock(lock, cell, n)
    assert join_all(procs) == [0, 0]
    assert cell.load() == 3 * n
    lock.close()
    cell.close()


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_owner_died_is_reported_and_the_lock_is_ours(ctx, how):
    lock = ipc.SharedSpinLock()
    ready = ctx.Event()
    p = run(ctx, kids.hold_and_die, lock, ready, how)
    assert ready.wait(60)
    dead = p.pid
    join_all([p])
    assert lock.owner() == dead
    with pytest.raises(OwnerDied):
        lock.acquire(timeout=30)
    assert lock.owner() == os.getpid()  # held by us now
    assert lock.acquire(blocking=False) is False
    lock.release()
    assert lock.acquire(timeout=1)
    lock.release()
    lock.close()


def test_owner_died_while_we_wait(ctx):
    # The waiter is already parked when the owner dies; it must not wait
    # for a wake-up that will never come.
    lock = ipc.SharedSpinLock()
    ready = ctx.Event()
    lock.acquire()  # keep the child from getting it until we wait
    p = ctx.Process(target=kids.hold_and_die, args=(lock, ready, "kill"), daemon=True)
    p.start()
    lock.release()
    assert ready.wait(60)
    t0 = time.monotonic()
    with pytest.raises(OwnerDied):
        lock.acquire(timeout=30)
    assert time.monotonic() - t0 < 30
    join_all([p])
    lock.release()
    lock.close()


def test_owner_died_without_waiting_and_via_with(ctx):
    lock = ipc.SharedSpinLock()
    ready = ctx.Event()
    p = run(ctx, kids.hold_and_die, lock, ready, "kill")
    assert ready.wait(60)
    join_all([p])
    with pytest.raises(OwnerDied):
        lock.acquire(blocking=False)
    lock.release()
    p = run(ctx, kids.hold_and_die, lock, ready, "kill")
    join_all([p])
    with pytest.raises(OwnerDied):
        with lock:
            pass  # pragma: no cover - __enter__ raises
    assert lock.owner() == os.getpid()
    lock.release()
    lock.close()


def test_owner_died_from_buffer_over_shared_memory(ctx):
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        lock = SpinLock.from_buffer(shm.buf)
        ready = ctx.Event()
        p = run(ctx, kids.hold_from_buffer_and_die, shm.name, ready)
        assert ready.wait(60)
        join_all([p])
        with pytest.raises(OwnerDied, match=str(p.pid)):
            lock.acquire(timeout=30)
        lock.release()
        del lock
    finally:
        shm.close()
        shm.unlink()


def test_release_wakes_a_waiter_in_another_process(ctx):
    # The waiter parks in C for up to 10 s; only a process-shared futex
    # wake brings it back early.
    lock = ipc.SharedSpinLock()
    lock.acquire()
    result = ctx.Queue()
    p = run(ctx, kids.park_on_lock, lock, result)
    time.sleep(0.5)  # let it park (a late start only makes this easier)
    lock.release()
    r, waited = result.get(timeout=60)
    join_all([p])
    assert r == lib.PC_RSPIN_ACQUIRED
    assert waited < 5, "the release did not wake the other process"
    lock.close()


def test_lock_pickles_only_in_shared_memory():
    with pytest.raises(TypeError):
        pickle.dumps(SpinLock())
    lock = ipc.SharedSpinLock()
    again = pickle.loads(pickle.dumps(lock))
    assert again.acquire(blocking=False)
    assert lock.locked()
    again.release()
    lock.close()
    again.close()


def test_ipc_package_imports_no_asyncio_machinery_at_module_level():
    # pyconc.ipc is a package of one module per concern; none of them may
    # import asyncio or pyconc._async when imported (recv_async imports
    # pyconc._async on first use; closing stops a watcher only if it did).
    import ast
    import pathlib

    import pyconc.ipc

    folder = pathlib.Path(pyconc.ipc.__file__).parent
    files = sorted(folder.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "_segment.py", "_shared.py",
                                       "_sender.py", "_receiver.py", "_channel.py",
                                       "_fork.py"}
    for f in files:
        tree = ast.parse(f.read_text())
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{a.name}" for a in node.names]
            for n in names:
                assert "asyncio" not in n and n != "pyconc._async", (f.name, n)
