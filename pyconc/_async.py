"""asyncio without a thread per waiter: the waiting half of recv_async,
send_async and ``async for`` (channels, broadcast receivers, pyconc.ipc).

The fast paths are C (``csrc/pyglue/pc_async_py.h``): ``rx.recv_async()``
returns an awaitable that takes a value queued at once, with no Python
frame.  When there is none, the coroutines here wait:

1. try the operation (a value is only ever taken here, on the loop's
   thread, between two awaits: a cancellation, which lands at an await,
   can neither lose one nor take one twice);
2. make a future and *arm* a waiter with it: the waiter is registered in
   the channel's list (per channel, not per handle), to be fired by
   whatever makes the operation possible, from any thread, without the
   GIL;
3. try again (the other half of the Dekker pattern: a send that came
   between 1 and 2 saw no waiter, so we must see its value), then await
   the future;
4. a fired waiter's loop is woken through one file descriptor per event
   loop (an eventfd on Linux; a pipe, or a socket pair on Windows),
   written once however many waiters it fires, and watched with
   ``loop.add_reader``: the reader callback resolves the futures.

A waiter that was fired but leaves without using its wake-up (cancelled,
timed out) passes it on to the next one (``_async_chain``), and so does
one that took a value while more remain, so no coroutine sleeps beside a
value.  asyncio is imported here only, on the first wait.
"""

from __future__ import annotations

import collections.abc
import os
import sys
import threading
import weakref
from typing import Any, Callable, Optional

from pyconc import _core, _timeout
from pyconc.errors import Disconnected, Empty, Timeout

__all__ = ["hub", "wait_for", "AGAIN"]

#: "Not yet": what an attempt returns to be retried after a wake-up.
AGAIN: Any = object()

_hubs: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
_strong: dict = {}  # loops that cannot be weakly referenced
_hubs_lock = threading.Lock()


def hub(loop: Any) -> Any:
    """The _AsyncHub of *loop*, made (and its fd watched) on first use."""
    try:
        return _hubs[loop]
    except KeyError:
        pass
    except TypeError:
        got = _strong.get(id(loop))
        if got is not None and got[0] is loop:
            return got[1]
    with _hubs_lock:
        h = _make_hub(loop)
        try:
            _hubs[loop] = h
        except TypeError:
            _strong[id(loop)] = (loop, h)
    return h


def _make_hub(loop: Any) -> Any:
    """One descriptor pair, the C hub over it, and the loop watching it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows
        import socket

        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        try:
            loop.add_reader(rsock.fileno(), lambda: None)
        except NotImplementedError:
            # The Proactor loop has no add_reader: a task reads the socket.
            h = _core._AsyncHub(-1, wsock.detach(), _core.ASYNC_FD_SOCKET)
            loop.create_task(_proactor_reader(loop, rsock, h))
            return h
        loop.remove_reader(rsock.fileno())
        h = _core._AsyncHub(rsock.detach(), wsock.detach(), _core.ASYNC_FD_SOCKET)
        loop.add_reader(h.fileno(), h._drain)
        return h
    if hasattr(os, "eventfd"):
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        h = _core._AsyncHub(fd, fd, _core.ASYNC_FD_EVENTFD)
    else:
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        h = _core._AsyncHub(r, w, _core.ASYNC_FD_PIPE)
    loop.add_reader(h.fileno(), h._drain)
    return h


async def _proactor_reader(loop: Any, rsock: Any, h: Any) -> None:  # pragma: no cover
    with rsock:
        while True:
            data = await loop.sock_recv(rsock, 256)
            if not data:
                return
            h._drain()


def _wake(fut: Any) -> None:
    if not fut.done():
        fut.set_result(None)


async def wait_for(attempt: Callable[[], Any], arm: Callable[[Any, Any], Any],
                   chain: Optional[Callable[[], Any]], limit: Optional[float],
                   what: str, timeout_value: Any = AGAIN) -> Any:
    """Run *attempt* until it returns something other than AGAIN, sleeping
    between attempts until a waiter armed with *arm(hub, future)* is fired,
    or *limit* seconds pass (then Timeout, with *timeout_value* in .value
    if given).  *chain()* passes a wake-up on (see the module's doc)."""
    value = attempt()
    if value is not AGAIN:
        if chain is not None:
            chain()
        return value
    import asyncio

    loop = asyncio.get_running_loop()
    h = hub(loop)
    end = None if limit is None else loop.time() + limit
    while True:
        fut = loop.create_future()
        w = arm(h, fut)
        try:
            value = attempt()  # registered: a send from now on fires us
            if value is AGAIN:
                if end is not None:
                    left = end - loop.time()
                    if left <= 0:
                        exc = Timeout(f"{what} timed out after {limit:g} s")
                        if timeout_value is not AGAIN:
                            exc.value = timeout_value  # type: ignore[attr-defined]
                        raise exc
                    timer = loop.call_later(left, _wake, fut)
                    try:
                        await fut
                    finally:
                        timer.cancel()
                else:
                    await fut
        except BaseException:
            if w.disarm() and chain is not None:
                chain()  # fired, and the wake-up goes unused: pass it on
            raise
        w.disarm()
        if value is AGAIN:
            value = attempt()
        if value is not AGAIN:
            if chain is not None:
                chain()
            return value


# ------------------------------------------------------------- channels


def recv_attempt(rx: Any) -> Callable[[], Any]:
    """rx.try_recv, with AGAIN for Empty."""
    try_recv = rx.try_recv

    def attempt() -> Any:
        try:
            return try_recv()
        except Empty:
            return AGAIN

    return attempt


async def recv_slow(rx: Any, timeout: Optional[float]) -> Any:
    """recv_async's wait (the C fast path found nothing)."""
    limit = _timeout.optional_seconds(timeout)
    return await wait_for(recv_attempt(rx), rx._async_arm, rx._async_chain, limit,
                          "recv_async")


async def anext_slow(rx: Any) -> Any:
    """``async for``'s wait: recv_async until disconnected."""
    try:
        return await wait_for(recv_attempt(rx), rx._async_arm, rx._async_chain, None,
                              "recv_async")
    except Disconnected:
        raise StopAsyncIteration from None


async def send_slow(tx: Any, value: Any, timeout: Optional[float]) -> None:
    """send_async's wait: for room (bounded), or for the receiver to take
    the value (rendezvous: it waits queued at `pos`, and is taken back if
    the wait ends without a delivery)."""
    limit = _timeout.optional_seconds(timeout)
    step = tx._async_try_send
    pos = -1

    def attempt() -> Any:
        nonlocal pos
        r = step(value, pos)
        if r == -2:
            pos = -1
            return None
        pos = r
        return AGAIN

    try:
        await wait_for(attempt, tx._async_arm, tx._async_chain, limit, "send_async",
                       timeout_value=value)
    except BaseException:
        if pos >= 0 and not tx._async_retract(value, pos):
            # The receiver took the value before the cancellation or the
            # timeout landed: the send happened.  Say so rather than
            # raise, so that the caller does not send it again.
            return None
        raise
    return None


# ------------------------------------------------------------ pyconc.ipc
#
# The ring lives in shared memory and its Senders are other processes,
# which know nothing of this process's event loops: they signal the ring's
# futex (pc_shring.h), which no event loop can watch.  So, while coroutines
# of this process await a Receiver, one watcher thread per Receiver (not
# per await) parks on that futex and, when a record comes, fires the
# Receiver's waiters, which wakes their loops through their descriptors.
# An fd that crosses processes instead (an eventfd or FIFO per ring) would
# have to reach every Sender's process, including those that attach by
# name or unpickle a Sender later, and be written by each send; the futex
# is already there and costs a sender nothing while the receiver is awake.
# While no coroutine waits the watcher parks on a local futex
# (_AsyncList._wait_armed), so an idle Receiver costs nothing.

#: Seconds the watcher waits on the ring at a time (it stops within this
#: when the Receiver closes).
_IPC_SLICE = 0.02
#: Nanoseconds the idle watcher parks at a time (an arm or a stop wakes it).
_IPC_IDLE_NS = 1_000_000_000


class _IpcWatch:
    __slots__ = ("alist", "stop", "thread", "pid")

    def __init__(self, alist: Any, stop: threading.Event, thread: threading.Thread,
                 pid: int) -> None:
        self.alist = alist
        self.stop = stop
        self.thread = thread
        self.pid = pid


_ipc: "weakref.WeakKeyDictionary[Any, _IpcWatch]" = weakref.WeakKeyDictionary()


def _ipc_watch(c: Any, alist: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        # Idle: parked until a coroutine arms (or ipc_stop pokes).
        if not alist._wait_armed(_IPC_IDLE_NS) or stop.is_set():
            continue
        if c.wait_recv(_IPC_SLICE) and not stop.is_set():
            alist._wake(-1)


def _ipc_list(rx: Any) -> Any:
    """The waiters' list of *rx*, and its watcher, started on first use."""
    w = _ipc.get(rx)
    if w is None or w.pid != os.getpid():  # none yet, or a fork parent's
        with _hubs_lock:
            w = _ipc.get(rx)
            if w is None or w.pid != os.getpid():
                alist, stop = _core._AsyncList(), threading.Event()
                thread = threading.Thread(target=_ipc_watch, args=(rx._c, alist, stop),
                                          name="pyconc ipc asyncio watcher", daemon=True)
                w = _IpcWatch(alist, stop, thread, os.getpid())
                thread.start()
                _ipc[rx] = w
    return w.alist


def ipc_stop(rx: Any) -> None:
    """Stop *rx*'s watcher (before its ring is unmapped) and wake its
    coroutines, which then find the Receiver closed."""
    w = _ipc.pop(rx, None)
    if w is None or w.pid != os.getpid():
        return
    w.stop.set()
    w.alist._poke()
    w.alist._wake(-1)
    if w.thread is not threading.current_thread():
        w.thread.join(5.0)


async def ipc_recv(rx: Any, timeout: Optional[float]) -> Any:
    """pyconc.ipc.Receiver.recv_async."""
    limit = None if timeout is None else _timeout.seconds(timeout)

    def arm(h: Any, fut: Any) -> Any:
        return _ipc_list(rx)._arm(h, fut)

    return await wait_for(recv_attempt(rx), arm, None, limit, "recv_async")


# ---------------------------------------------------------------- locks
#
# Mutex.lock_async(), Semaphore.acquire_async(), Condvar.wait_async()
# (csrc/pyglue/pc_async_lock_py.h): the C coroutine tries once; when it
# cannot, this waits.  Each primitive has _async_try() (the acquire, or
# AGAIN), _async_arm(hub, future) and _async_chain(); a release by any
# thread or coroutine fires one waiter.

#: pc_async_lock_py.h's PC_ASYNC_LOCK_PY_*: what is acquired.
_ACQUIRE_WHAT = ("lock_async", "acquire_async", "wait_async", "read_async", "write_async")


async def acquire_slow(lock: Any, which: int, timeout: Any, extra: Any) -> Any:
    """The wait of an asyncio acquire whose first try failed."""
    limit = _timeout.optional_seconds(timeout)
    what = _ACQUIRE_WHAT[which]
    if which == 1:  # Semaphore: extra is the number of permits
        n = 1 if extra is None else extra
        try_n = lock._async_try

        def attempt() -> Any:
            return try_n(n)

        return await wait_for(attempt, lock._async_arm, lock._async_chain, limit, what)
    if which >= 3:  # RwLock: every wake fires every coroutine, nothing to chain
        write = which == 4
        try_rw = lock._async_try

        def attempt_rw() -> Any:
            return try_rw(write)

        try:
            return await wait_for(attempt_rw, lock._async_arm, None, limit, what)
        except BaseException:
            if write:
                lock._async_abandon()  # no writers' bit left behind us
            raise
    return await wait_for(lock._async_try, lock._async_arm, lock._async_chain, limit, what)


async def _condvar_wait1(cv: Any, guard: Any, loop: Any, h: Any,
                         left: Optional[float]) -> bool:
    """One wait of Condvar.wait_*_async: True if it timed out."""
    import asyncio

    fut = loop.create_future()
    w, m = cv._async_begin(guard, h, fut)  # registered, then the mutex unlocked
    stop: Optional[BaseException] = None
    timer = None if left is None else loop.call_later(left, _wake, fut)
    try:
        await fut
    except BaseException as e:  # cancelled: the mutex is re-taken first
        stop = e
    finally:
        if timer is not None:
            timer.cancel()
    notified = w.disarm()
    if stop is not None and notified:
        cv._async_pass()  # the notification goes unused: pass it on

    def relock() -> Any:
        return cv._async_relock(guard)

    while True:  # as asyncio.Condition.wait: the mutex is re-taken even if cancelled
        try:
            await wait_for(relock, m._async_arm, m._async_chain, None, "wait_async")
            break
        except asyncio.CancelledError as e:
            stop = stop or e
    if stop is not None:
        raise stop
    return not notified


async def condvar_wait(cv: Any, guard: Any, timeout: Any, predicate: Any,
                       pair: bool) -> Any:
    """Condvar.wait_async and its _while / _timeout forms."""
    import asyncio

    loop = asyncio.get_running_loop()
    h = hub(loop)
    limit = _timeout.optional_seconds(timeout)
    end = None if limit is None else loop.time() + limit
    while True:
        if predicate is not None and not predicate(guard.value):
            return (guard, False) if pair else guard
        left = None if end is None else max(0.0, end - loop.time())
        timed_out = await _condvar_wait1(cv, guard, loop, h, left)
        if predicate is None:
            return (guard, timed_out) if pair else guard
        if timed_out:
            return guard, bool(predicate(guard.value))


async def barrier_wait(b: Any) -> bool:
    """Barrier.wait_async."""
    r = b._async_arrive()
    if r is True:
        return True

    def attempt() -> Any:
        return b._async_passed(r)

    try:
        return await wait_for(attempt, b._async_arm, None, None, "wait_async")
    except BaseException:
        b._async_leave(r)  # taken back, or the round completed: either way, raise
        raise


async def bcast_closed(tx: Any, timeout: Any) -> None:
    """broadcast Sender.wait_closed_async: until every receiver is gone."""
    limit = _timeout.optional_seconds(timeout)
    await wait_for(tx._closed_try, tx._closed_arm, None, limit, "wait_closed_async")


_core._async_setup(recv_slow, anext_slow, send_slow, acquire_slow, AGAIN,
                   condvar_wait, barrier_wait, bcast_closed)
# recv_async() and send_async() return this C coroutine: let
# asyncio.create_task, gather and wait_for take it as one.
collections.abc.Coroutine.register(_core._Ready)
