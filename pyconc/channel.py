"""Channels: Rust's ``std::sync::mpsc`` for Python threads.

``tx, rx = channel()`` gives an unbounded channel, ``sync_channel(bound)`` a
bounded one (``bound=0``: a rendezvous).  Any number of threads send through
clones of the Sender; one Receiver takes the values, in the order each sender
sent them.  When every Sender is closed or garbage-collected, the Receiver
returns what is left and then raises Disconnected (and iteration ends).

How it is built: the queues are lock-free C (``csrc/pc_mpsc.h``, Vyukov's
node queue, for ``channel``; ``csrc/pc_ring.h``, a bounded ring, for
``sync_channel``).  ``Sender.send``, ``Sender.try_send``, ``Receiver.recv``,
``Receiver.try_recv``, ``Receiver.recv_many`` and iteration are methods of C
types (``csrc/pyglue/pc_chan_py.h``) that run with the GIL held and never
wait.  When they must wait they call the methods below, which wait in C with
the GIL released (``pc_chan_recv_wait``, ``pc_chan_send_wait``), in slices of
at most 50 ms so that Ctrl-C raises KeyboardInterrupt promptly.  A sleeping
receiver is woken by the sender whose value it waits for; a receiver that is
awake costs senders nothing.

Thread safety without the GIL: each handle's state is C atomics (see
``pc_chan_py.h``); the Python methods below keep no state of their own on the
handle.  The Receiver enforces its single consumer with a claim flag: a second
thread receiving at the same time gets ChannelError, never a corrupted queue.
"""

from __future__ import annotations

import asyncio
import threading
import types
from typing import Any, Iterator, List, Optional

from pyconc import _timeout
from pyconc._closing import Closing
from pyconc._native import ffi, lib
from pyconc.errors import ChannelError, Disconnected, Empty, Full, SendError, Timeout

__all__ = ["channel", "sync_channel", "Sender", "Receiver"]


class _EmptyType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<pyconc.channel EMPTY>"


_EMPTY = _EmptyType()

_ns: dict = {
    "ChannelError": ChannelError,
    "SendError": SendError,
    "Empty": Empty,
    "Full": Full,
    "Disconnected": Disconnected,
    "EMPTY": _EMPTY,
}
if lib.pc_chan_py_install(id(_ns)) != 0:  # pragma: no cover
    raise ImportError("pyconc._core: installing the channel types failed")
_SenderBase: Any = _ns["_SenderBase"]
_ReceiverBase: Any = _ns["_ReceiverBase"]
_new_channel = _ns["_new_channel"]
del _ns

_recv_wait = lib.pc_chan_recv_wait
_send_wait = lib.pc_chan_send_wait
_rx_interrupt = lib.pc_chan_rx_interrupt
_UNBOUNDED = lib.PC_CHAN_UNBOUNDED
_BOUNDED = lib.PC_CHAN_BOUNDED
_RENDEZVOUS = lib.PC_CHAN_RENDEZVOUS
_slice_ns = _timeout.slice_ns
_deadline = _timeout.deadline

#: Iterators whose rest may be listed in a SendError (they end).
_FINITE_ITERATORS = (type(iter([])), type(iter(())), type(iter(range(0))))

#: Largest bound accepted by sync_channel (its slots are allocated at once).
MAX_BOUND = 2**32


def _kind_text(state: tuple) -> str:
    kind, cap = state[0], state[1]
    if kind == _UNBOUNDED:
        return "channel()"
    if kind == _RENDEZVOUS:
        return "sync_channel(0)"
    return f"sync_channel({cap})"


def _timeout_error(what: str, timeout: Optional[float], value: Any = None,
                   has_value: bool = False) -> Timeout:
    err = Timeout(f"{what} timed out after {timeout:g} s")
    if has_value:
        err.value = value  # type: ignore[attr-defined]
    return err


class Sender(_SenderBase, Closing):
    """The sending half of a channel (see ``pyconc.channel``).

    Methods: ``send(value)``, ``try_send(value)``, ``send_timeout(value,
    timeout)``, ``send_many(iterable)``, ``clone()``, ``close()``; a context
    manager that closes it on exit.  A Sender may be used from any number of
    threads at once.  Closing the last Sender of a channel, or letting it be
    garbage-collected, disconnects the channel: the Receiver gets what is
    queued, then Disconnected.

    send(value) -> None
        Queue *value* for the Receiver.  On ``channel()`` it never waits.
        On ``sync_channel(n)`` it waits while *n* values are queued; on
        ``sync_channel(0)`` it waits until the Receiver has taken the value.
        Waiting releases the GIL and lets Ctrl-C through.  Raises SendError
        (the value in ``.value``) if the Receiver is closed, and ChannelError
        if this Sender is closed.

    send_many(iterable) -> None
        Send every value of *iterable*, in order, as ``send`` would, but in
        batches of 64: on ``channel()`` a batch costs one atomic exchange
        and one C call.  Waits when a bounded channel is full.  If the
        Receiver is closed, raises SendError whose ``.value`` is the list of
        values not sent (for a list or tuple, all of them; for another
        iterator, those taken from it, the rest left in it).

    try_send(value) -> None
        As send, but never waits: raises Full (value in ``.value``) when a
        bounded channel is full.  On ``sync_channel(0)`` it succeeds only if
        the Receiver is receiving right now (it then waits, briefly, for the
        hand-over).

    Thread safety without the GIL: all state is in C atomics; ``close()`` is
    one atomic exchange, so racing closes count once.
    """

    __slots__ = ("__weakref__",)
    __class_getitem__ = classmethod(types.GenericAlias)  # Sender[int] in hints

    # -- slow paths called by the C methods --------------------------------

    def _send_slow(self, value: Any, pos: Optional[int], timeout: Optional[float] = None,
                   what: str = "send") -> None:
        """Wait for room (pos None), then for a rendezvous hand-over."""
        chan = ffi.cast("pc_chan_t *", self._addr)
        end = _deadline(timeout)
        while pos is None:
            r = self._push(value)
            if r == -1:
                return
            if r == -3:
                raise SendError(value, "sending on a channel whose Receiver is "
                                "closed; the value is in .value")
            if r >= 0:
                pos = r
                break
            ns = _slice_ns(end)
            if ns <= 0:
                if what == "try_send":
                    raise Full(value, "the channel is full; the value is in .value")
                raise _timeout_error(what, timeout, value, True)
            _send_wait(chan, -1, ns)
        self._hand_over(chan, value, pos, end, timeout, what)

    def _hand_over(self, chan: Any, value: Any, pos: int, end: Optional[float],
                   timeout: Optional[float], what: str) -> None:
        """Rendezvous: wait until the value pushed at *pos* is received."""
        done = False
        try:
            while not self._delivered(pos):
                if self._state()[3]:  # the receiver closed
                    break
                ns = _slice_ns(end)
                if ns <= 0:
                    break
                _send_wait(chan, pos, ns)
            else:
                done = True
        finally:
            # Timeout, close or an exception (Ctrl-C): take the value back
            # unless it was received meanwhile; then it counts as sent.
            if not done and not self._retract(pos, value):
                done = True
        if done:
            return
        if self._state()[3]:
            raise SendError(value, "sending on a channel whose Receiver is "
                            "closed; the value is in .value")
        if what == "try_send":
            raise Full(value, "no receiver was ready to take the value; it is in .value")
        raise _timeout_error(what, timeout, value, True)

    def _try_send_rendezvous(self, value: Any) -> None:
        r = self._push(value)
        if r == -3:
            raise SendError(value, "sending on a channel whose Receiver is "
                            "closed; the value is in .value")
        if r < 0:
            raise Full(value, "no receiver was ready to take the value; it is in .value")
        chan = ffi.cast("pc_chan_t *", self._addr)
        receiving = self._state()[4]
        # Only a receiver in the middle of a receive can take it "now".
        limit = _timeout.SLICE if receiving else 0.0
        self._hand_over(chan, value, r, _deadline(limit), 0, "try_send")

    # -- the Python half of the API -----------------------------------------

    def send_timeout(self, value: Any, timeout: float) -> None:
        """send_timeout(value, timeout) -> None

        As send, but wait at most *timeout* seconds (a non-negative number)
        for room or, on ``sync_channel(0)``, for the hand-over.  Raises
        Timeout, with the value in ``.value``, when the time runs out (the
        value is then not sent); SendError if the Receiver is closed.
        """
        limit = _timeout.seconds(timeout)
        r = self._push(value)
        if r == -1:
            return
        if r == -3:
            raise SendError(value, "sending on a channel whose Receiver is "
                            "closed; the value is in .value")
        if limit == 0 and r == -2:
            raise _timeout_error("send_timeout", limit, value, True)
        self._send_slow(value, r if r >= 0 else None, limit, "send_timeout")

    def _send_many_slow(self, pending: List[Any], it: Iterator[Any]) -> None:
        """send_many's other half, for what _send_chunks (which waits for
        room itself) cannot queue: *pending* values were taken from the
        iterator *it* and not sent, because a rendezvous hands values over
        one at a time, or because the Receiver is closed.  Send them one by
        one with send(), then go on in batches."""
        while pending is not None:
            for i, value in enumerate(pending):
                try:
                    self.send(value)
                except SendError:
                    rest = list(pending[i:])
                    if type(it) in _FINITE_ITERATORS:
                        rest.extend(it)
                    raise SendError(rest, "sending on a channel whose Receiver is "
                                    "closed; the values not sent are in .value") from None
            pending = self._send_chunks(it)

    def __repr__(self) -> str:
        st = self._state()
        status = "closed" if self.closed else "open"
        return (f"<{status} pyconc.Sender of a {_kind_text(st)}, "
                f"{st[2]} sender(s) alive{', receiver closed' if st[3] else ''}>")

    def __reduce__(self) -> Any:
        raise TypeError("a channel lives in this process's memory; a Sender "
                        "cannot be pickled (send values through it instead)")

    def __copy__(self) -> Any:
        raise TypeError("use Sender.clone() to get another Sender")

    __deepcopy__ = __copy__


class Receiver(_ReceiverBase, Closing):
    """The receiving half of a channel (see ``pyconc.channel``).

    recv(timeout=None) -> value
        Take the oldest value, waiting for one if the channel is empty: with
        no limit when *timeout* is None, else at most *timeout* seconds, then
        raise Timeout.  Raises Disconnected once every Sender is gone and
        nothing is left.  Waiting releases the GIL and lets Ctrl-C through.

    try_recv() -> value
        Never waits: raises Empty if nothing is queued (senders remain), or
        Disconnected.

    recv_many(max_items, timeout=None) -> list
        Wait (as recv) for the first value, then return it together with
        whatever else is queued, up to *max_items* values.

    ``for value in rx`` receives until the channel is disconnected;
    ``try_iter()`` yields what is queued now; ``len(rx)`` counts the values
    queued; ``await rx.recv_async()`` waits without blocking an asyncio
    event loop, and ``async for value in rx`` receives until disconnected; ``close()`` releases the values queued, and later sends
    raise SendError.

    One thread at a time: a Receiver used from two threads at once raises
    ChannelError in the second (a channel has one consumer), never corrupts.

    Thread safety without the GIL: the claim flag above, and C atomics.
    """

    __slots__ = ("__weakref__",)
    __class_getitem__ = classmethod(types.GenericAlias)  # Receiver[int] in hints

    # -- slow paths called by the C methods --------------------------------

    def _recv_slow(self, timeout: Optional[float] = None) -> Any:
        limit = _timeout.optional_seconds(timeout)
        self._claim()
        try:
            chan = ffi.cast("pc_chan_t *", self._addr)
            end = _deadline(limit)
            while True:
                v = self._pop()
                if v is not _EMPTY:
                    return v
                ns = _slice_ns(end)
                if ns <= 0:
                    raise _timeout_error("recv", limit)
                _recv_wait(chan, ns)
        finally:
            self._unclaim()

    def _recv_many_slow(self, max_items: int, timeout: Optional[float] = None) -> List[Any]:
        limit = _timeout.optional_seconds(timeout)
        self._claim()
        try:
            chan = ffi.cast("pc_chan_t *", self._addr)
            end = _deadline(limit)
            while True:
                got = self._pop_many(max_items)
                if got:
                    return got
                ns = _slice_ns(end)
                if ns <= 0:
                    raise _timeout_error("recv_many", limit)
                _recv_wait(chan, ns)
        finally:
            self._unclaim()

    # -- the Python half of the API -----------------------------------------

    def try_iter(self) -> Iterator[Any]:
        """try_iter() -> iterator

        Yield the values queued now, without waiting; stop when the channel
        is empty or disconnected.
        """
        try_recv = self.try_recv
        while True:
            try:
                yield try_recv()
            except (Empty, Disconnected):
                return

    async def recv_async(self, timeout: Optional[float] = None) -> Any:
        """await recv_async(timeout=None) -> value

        recv for asyncio: never blocks the event loop.  A value already
        queued is returned at once; otherwise a worker thread of the loop's
        default executor waits in C (taking nothing) and the value is taken
        on the loop's thread, so cancelling the await loses no value.
        Raises Disconnected and Timeout as recv does.
        """
        limit = _timeout.optional_seconds(timeout)
        try:
            return self.try_recv()
        except Empty:
            pass
        loop = asyncio.get_running_loop()
        self._claim()
        # The worker waits in C as the claim's holder.  If this coroutine is
        # cancelled while a worker still waits (up to one slice), the claim
        # is handed to the worker, which lets go when it returns, so that
        # no other receive runs beside it.
        waiter = _AsyncWaiter(self)
        try:
            end = _deadline(limit)
            while True:
                v = self._pop()
                if v is not _EMPTY:
                    return v
                if end is not None and _slice_ns(end) <= 0:
                    raise _timeout_error("recv_async", limit)
                await loop.run_in_executor(None, waiter.wait, end)
        finally:
            waiter.finish()

    def __aiter__(self) -> "Receiver":
        return self

    async def __anext__(self) -> Any:
        """``async for value in rx``: recv_async until disconnected."""
        try:
            return await self.recv_async()
        except Disconnected:
            raise StopAsyncIteration from None

    def __repr__(self) -> str:
        st = self._state()
        status = "closed" if self.closed else "open"
        try:
            queued = f"{len(self)} queued"
        except ChannelError:
            queued = "receiving"
        return (f"<{status} pyconc.Receiver of a {_kind_text(st)}, {queued}, "
                f"{st[2]} sender(s) alive>")

    def __reduce__(self) -> Any:
        raise TypeError("a channel lives in this process's memory; a Receiver "
                        "cannot be pickled")

    def __copy__(self) -> Any:
        raise TypeError("a channel has one Receiver; it cannot be copied")

    __deepcopy__ = __copy__


class _AsyncWaiter:
    """recv_async's worker: waits in C (in an executor thread) until the
    receiver has something to look at, the deadline passes, or the await is
    abandoned; and the claim's hand-over between coroutine and worker."""

    __slots__ = ("rx", "chan", "lock", "running", "abandoned", "done")

    def __init__(self, rx: Receiver) -> None:
        self.rx = rx
        self.chan = ffi.cast("pc_chan_t *", rx._addr)
        self.lock = threading.Lock()
        self.running = False
        self.abandoned = False
        self.done = threading.Event()

    def wait(self, end: Optional[float]) -> None:
        with self.lock:
            if self.abandoned:
                return
            self.running = True
            self.done.clear()
        try:
            while not self.abandoned:
                ns = _slice_ns(end)
                if ns <= 0 or _recv_wait(self.chan, ns) == lib.PC_CHAN_READY:
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
        _rx_interrupt(self.chan)
        self.done.wait(_timeout.SLICE * 2)


def channel() -> "tuple[Sender, Receiver]":
    """channel() -> (Sender, Receiver)

    An unbounded channel, Rust's ``mpsc::channel``: ``send`` never waits;
    values wait in the channel until received.  Clone the Sender for more
    producers.
    """
    return _new_channel(_UNBOUNDED, 0, Sender, Receiver)


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
        return _new_channel(_RENDEZVOUS, 1, Sender, Receiver)
    return _new_channel(_BOUNDED, bound, Sender, Receiver)
