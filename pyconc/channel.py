"""Channels: Rust's ``std::sync::mpsc`` for Python threads.

``tx, rx = channel()`` gives an unbounded channel, ``sync_channel(bound)`` a
bounded one (``bound=0``: a rendezvous).  Channels are many-producer
many-consumer, as crossbeam-channel's: any number of threads send through
clones of the Sender and receive through clones of the Receiver (or through
one Receiver at once); each value goes to exactly one receiver, and each
sender's values arrive in the order sent.  When every Sender is closed or
garbage-collected, receivers get what is left and then Disconnected (and
iteration ends); when every Receiver is closed, sends raise SendError.
``select(*ops, timeout=None)`` and the ``Select`` builder wait on several
channels at once and complete one operation (``Selected``).

How it is built: the queues are lock-free C (``csrc/pc_mpsc.h``, Vyukov's
node queue, for ``channel``; ``csrc/pc_ring.h``, a bounded ring, for
``sync_channel``).  ``Sender`` and ``Receiver`` are C types
(``csrc/pyglue/pc_chan_py.h``): every method is one C call, and a call that
must wait (a full bounded channel, a rendezvous hand-over, an empty
channel) waits in C with the GIL released, in slices of at most 50 ms
between which it runs the signal handlers, so that Ctrl-C raises
KeyboardInterrupt promptly and nothing is half sent or half received.  A
sleeping receiver is woken by the sender whose value it waits for; a
receiver that is awake costs senders nothing.

What stays in Python, because it is easier here: ``channel()`` and
``sync_channel()`` (argument checks, then one C call), ``try_iter`` (a
generator) and the asyncio methods (``recv_async``, ``async for``), which
are coroutines; they are attached to the C Receiver type below.

Thread safety without the GIL: each handle's state is C atomics (see
``pc_chan_py.h``); receivers serialise their pops with a consumer lock held
for the pop only (``csrc/pc_chan.h``); select is ``csrc/pc_select.h`` and
``csrc/pyglue/pc_select_py.h``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator, Optional

from pyconc import _core, _timeout
from pyconc.errors import Disconnected, Empty, Timeout

__all__ = ["channel", "sync_channel", "Sender", "Receiver", "select", "Select", "Selected"]

Sender: Any = _core.Sender
Receiver: Any = _core.Receiver
Select: Any = _core.Select
Selected: Any = _core.Selected
select = _core.select
_new_channel = _core._chan_new
_UNBOUNDED = _core.CHAN_UNBOUNDED
_BOUNDED = _core.CHAN_BOUNDED
_RENDEZVOUS = _core.CHAN_RENDEZVOUS
_slice_ns = _timeout.slice_ns
_deadline = _timeout.deadline

#: Largest bound accepted by sync_channel (its slots are allocated at once).
MAX_BOUND = 2**32


def try_iter(self: Any) -> Iterator[Any]:
    """try_iter() -> iterator

    Yield the values queued now, without waiting; stop when the channel is
    empty or disconnected.
    """
    try_recv = self.try_recv
    while True:
        try:
            yield try_recv()
        except (Empty, Disconnected):
            return


async def recv_async(self: Any, timeout: Optional[float] = None) -> Any:
    """await recv_async(timeout=None) -> value

    recv for asyncio: never blocks the event loop.  A value already queued
    is returned at once; otherwise a worker thread of the loop's default
    executor waits in C (taking nothing) and the value is taken on the
    loop's thread, so cancelling the await loses no value.  Raises
    Disconnected and Timeout as recv does.
    """
    limit = _timeout.optional_seconds(timeout)
    try:
        return self.try_recv()
    except Empty:
        pass
    loop = asyncio.get_running_loop()
    self._claim()
    # The worker waits in C as the claim's holder.  If this coroutine is
    # cancelled while a worker still waits (up to one slice), the claim is
    # handed to the worker, which lets go when it returns, so that no other
    # receive runs beside it.
    waiter = _AsyncWaiter(self)
    try:
        end = _deadline(limit)
        while True:
            try:
                return self._pop()
            except Empty:
                pass
            if end is not None and _slice_ns(end) <= 0:
                raise Timeout(f"recv_async timed out after {limit:g} s")
            pending = loop.run_in_executor(None, waiter.wait, end, loop)
            _watch_exit()  # after the executor exists: see _watch_exit
            await pending
    finally:
        waiter.finish()


def __aiter__(self: Any) -> Any:
    return self


async def __anext__(self: Any) -> Any:
    """``async for value in rx``: recv_async until disconnected."""
    try:
        return await self.recv_async()
    except Disconnected:
        raise StopAsyncIteration from None


# Attached to the C type (a heap type, so its dict takes them): these are
# generators and coroutines, which are Python's to write.
for _f in (try_iter, recv_async, __aiter__, __anext__):
    _f.__qualname__ = "Receiver." + _f.__name__
    setattr(Receiver, _f.__name__, _f)
del _f, try_iter, recv_async, __aiter__, __anext__


#: Set when the interpreter starts to exit (see _watch_exit).
_exiting = threading.Event()
_watching = False


def _watch_exit() -> None:
    """Have _exiting set when the interpreter starts to shut down, before
    concurrent.futures joins its worker threads (a worker still waiting
    for a value nobody awaits any more would hang the exit).  Threading's
    exit hooks run last-registered first, so this is registered after the
    executor module registered its own."""
    global _watching
    if _watching:
        return
    _watching = True
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - every CPython from 3.9 has it
        return
    try:
        register(_exiting.set)
    except RuntimeError:  # already shutting down
        _exiting.set()


class _AsyncWaiter:
    """recv_async's worker: waits in C (in an executor thread) until the
    receiver has something to look at, the deadline passes, or the await is
    abandoned; and the claim's hand-over between coroutine and worker."""

    __slots__ = ("rx", "lock", "running", "abandoned", "done")

    def __init__(self, rx: Any) -> None:
        self.rx = rx
        self.lock = threading.Lock()
        self.running = False
        self.abandoned = False
        self.done = threading.Event()

    def wait(self, end: Optional[float], loop: Any) -> None:
        with self.lock:
            if self.abandoned:
                return
            self.running = True
            self.done.clear()
        try:
            # One C wait per slice; between slices (this runs in an
            # executor thread, where no signal lands) it looks at whether
            # anybody still awaits it: not if the await was cancelled, if
            # its event loop no longer runs (stopped, or closed), or if the
            # interpreter is shutting down (the executor's threads are
            # about to be joined, and a worker waiting for ever would hang
            # the exit).  The coroutine, if it
            # ever resumes, just waits again.
            while (not self.abandoned and loop.is_running()
                   and not _exiting.is_set()):
                ns = _slice_ns(end)
                if ns <= 0 or self.rx._wait_ready(ns):
                    return
        finally:
            with self.lock:
                self.running = False
                handed_over = self.abandoned
            if handed_over:
                self.rx._unclaim()
            self.done.set()

    def finish(self) -> None:
        """The coroutine is done: let go of the claim; if a worker is still
        waiting (the await was cancelled), wake it and let it go of the
        claim, waiting a moment for that so that the Receiver is free when
        this returns."""
        with self.lock:
            self.abandoned = True
            worker_has_it = self.running
        if not worker_has_it:
            self.rx._unclaim()
            return
        self.rx._interrupt()
        self.done.wait(_timeout.SLICE * 2)


def channel() -> "tuple[Sender, Receiver]":
    """channel() -> (Sender, Receiver)

    An unbounded channel, Rust's ``mpsc::channel``: ``send`` never waits;
    values wait in the channel until received.  Clone the Sender for more
    producers.
    """
    return _new_channel(_UNBOUNDED, 0)


def sync_channel(bound: int) -> "tuple[Sender, Receiver]":
    """sync_channel(bound) -> (Sender, Receiver)

    A bounded channel, Rust's ``mpsc::sync_channel``: at most *bound* values
    wait in it, and ``send`` waits while it is full.  ``bound=0`` makes a
    rendezvous: each ``send`` waits until the Receiver has taken its value.
    Raises TypeError for a non-integer bound, ValueError for a negative one,
    OverflowError above MAX_BOUND (2**32; slots are allocated up front).
    """
    if isinstance(bound, bool) or not isinstance(bound, int):
        raise TypeError(f"bound must be an int, not {type(bound).__name__}")
    if bound < 0:
        raise ValueError(f"bound must be 0 (a rendezvous) or more, not {bound}")
    if bound > MAX_BOUND:
        raise OverflowError(f"bound must be at most {MAX_BOUND}, not {bound}")
    if bound == 0:
        return _new_channel(_RENDEZVOUS, 1)
    return _new_channel(_BOUNDED, bound)
