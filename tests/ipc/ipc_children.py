"""Functions run in child processes by the test_ipc* tests.

Module level, so that ``spawn`` children can import them by name.
"""

import os
import signal
import time

from pyconc import ipc
from pyconc._native import lib


def add(counter, n):
    for _ in range(n):
        counter.fetch_add(1)


def add_under_lock(lock, cell, n):
    # A deliberately non-atomic read-modify-write: only the lock makes the
    # total exact.
    for _ in range(n):
        with lock:
            cell.store(cell.load() + 1)


def hold_and_die(lock, ready, how):
    lock.acquire()
    ready.set()
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(3)  # exits without releasing: the same for a robust lock


def hold_from_buffer_and_die(shm_name, ready):
    from multiprocessing import shared_memory

    from pyconc import SpinLock

    # (Python < 3.13 registers an attached segment with the resource
    # tracker too; a multiprocessing child shares its parent's tracker, in
    # which the name is already registered, so that is harmless.)
    shm = shared_memory.SharedMemory(shm_name)
    lock = SpinLock.from_buffer(shm.buf)
    lock.acquire()
    ready.set()
    os.kill(os.getpid(), signal.SIGKILL)


def park_on_lock(lock, result):
    # Park in C with a long timeout (not Python's 50 ms slices): returns
    # promptly only if the release wakes a process-shared futex.
    t0 = time.monotonic()
    # (Straight on the lock word in the segment: the lock object exposes no
    # address.)
    from pyconc._native import ffi

    word = ffi.cast("pc_rspin_t *", ffi.from_buffer(lock._seg.mm) + ipc._BODY)
    r = lib.pc_rspin_lock_timed(word, os.getpid(), 10_000_000_000)
    result.put((r, time.monotonic() - t0))


def produce(tx, ident, n):
    for i in range(n):
        tx.send((ident, i))
    tx.close()


def produce_many(tx, ident, n):
    tx.send_many((ident, i) for i in range(n))


def produce_bytes(tx, ident, n, size):
    for i in range(n):
        body = i.to_bytes(8, "little") + bytes([ident]) * (size - 8)
        tx.send_bytes(body)


def consume(rx, n, out):
    got = [rx.recv(timeout=60) for _ in range(n)]
    out.put(got)


def consume_then_exit(rx, n, started):
    started.set()
    for _ in range(n):
        rx.recv(timeout=60)
    # Returning exits the process, which closes the receiving side.


def consume_then_die(rx, started):
    rx.recv(timeout=60)
    started.set()
    os.kill(os.getpid(), signal.SIGKILL)


def send_until_disconnected(tx, result):
    sent = 0
    try:
        while True:
            tx.send(sent, timeout=30)
            sent += 1
    except ipc.Disconnected:
        result.put(("disconnected", sent))
    except BaseException as exc:  # pragma: no cover - reported to the test
        result.put((repr(exc), sent))


def abandon_then_die(tx, ready):
    # What a producer SIGKILLed between claiming space and committing
    # leaves in the ring: a claimed, half-written, uncommitted record.
    assert tx._c.debug_abandon(1000) == 0
    ready.set()
    os.kill(os.getpid(), signal.SIGKILL)


def send_big_forever(tx, ident, size, started):
    # Big records: most of the time goes into copying them into the ring,
    # so a SIGKILL at a random moment often lands in the middle of a send.
    i = 0
    started.release()
    while True:
        body = i.to_bytes(8, "little") + bytes([ident]) * (size - 8)
        tx.send_bytes(body)
        i += 1


def wait_recv_long(rx, result):
    t0 = time.monotonic()
    r = 0 if rx._c.wait_recv(10.0) else 1  # PC_PARK_WOKEN / PC_PARK_TIMEDOUT
    waited = time.monotonic() - t0
    result.put((r, waited, rx.recv(timeout=30)))


def create_and_report(kind, conn):
    obj = getattr(ipc, kind)()
    conn.send(obj.name)
    conn.recv()  # wait until the parent has attached
    # Exit without closing: the creator's exit must unlink the name.


def attach_and_die(obj, ready):
    obj.load()
    ready.set()
    os.kill(os.getpid(), signal.SIGKILL)


def from_buffer_add(shm_name, n):
    from multiprocessing import shared_memory

    from pyconc import AtomicInt

    shm = shared_memory.SharedMemory(shm_name)
    cell = AtomicInt.from_buffer(shm.buf, 8)
    for _ in range(n):
        cell.fetch_add(1)
    del cell
    shm.close()


def look_at_receiver(rx, out):
    # Only looks: must not take the receiving side (issue 12).
    out.put((len(rx), rx.name, rx.skipped, repr(rx), rx.closed))


def send_n_then_close(tx, ident, n, ready):
    ready.set()
    for i in range(n):
        tx.send((ident, i), timeout=60)
    tx.close()


def send_forever(tx, ident, started, size=208):
    # While no consumer is alive a blocked send raises ReceiverGone (the
    # receiving side is gone, for now): keep the record and try again, a
    # new consumer may take the channel over.
    i = 0
    body = bytes([ident]) * (size - 8)
    started.release()
    while True:
        try:
            tx.send_bytes(i.to_bytes(8, "little") + body)
        except ipc.ReceiverGone:
            time.sleep(0.001)
            continue
        i += 1


def consume_forever(rx, started):
    # Receives as fast as it can, in batches, until it is killed.
    rx.recv_bytes(timeout=60)
    started.set()
    while True:
        rx.recv_bytes_many(64, timeout=60)


def create_and_die(conn):
    from pyconc import ipc as _ipc

    tx, rx = _ipc.channel(1 << 16)
    cell = _ipc.SharedAtomicInt(5)
    conn.send([tx.name, cell.name])
    time.sleep(60)  # killed here, before anyone else attached


def make_huge_segment(size, out):
    from pyconc import ipc as _ipc

    try:
        _ipc._Segment.create(_ipc._KIND_CHANNEL, size)
    except OSError as exc:
        out.put(("OSError", exc.errno, str(exc)))
    except BaseException as exc:  # pragma: no cover - reported to the test
        out.put((type(exc).__name__, None, str(exc)))
    else:
        out.put(("created", None, ""))
