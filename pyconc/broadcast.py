"""A broadcast channel after tokio's ``sync::broadcast``: pyconc.broadcast.

Every value sent reaches every receiver subscribed at the time.  The
channel holds the last *capacity* values in a ring; a receiver that falls
further behind than that loses the oldest ones (it gets ``Lagged`` with
the number it missed, then continues from the oldest value still held).
So a slow receiver never blocks the senders or the other receivers, and
memory stays bounded by the capacity.

The ring is a Python list whose slot ``pos % capacity`` holds the pair
``(pos, value)``; sequence numbers, counts and waiting are in C
(``csrc/pc_bcast.h``).  A receive of a value already sent makes no C call
at all; a send makes two (take the senders' lock and read the tail;
publish, unlock, wake sleepers if any).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, List, Optional, Tuple, TypeVar

from pyconc import _timeout
from pyconc._closing import Closing
from pyconc._native import ffi, lib
from pyconc.errors import Closed, Empty, Lagged, SendError, Timeout

__all__ = ["broadcast", "BroadcastSender", "BroadcastReceiver"]

T = TypeVar("T")

_end = lib.pc_bcast_send_end
_tail = lib.pc_bcast_tail
_is_closed = lib.pc_bcast_is_closed
_prepare = lib.pc_bcast_prepare
_unprepare = lib.pc_bcast_unprepare
_wait = lib.pc_bcast_wait
if lib.pc_bcast_py_install() != 0:  # pragma: no cover
    raise ImportError("pyconc._core: bcast_send could not be installed")
from pyconc import _core  # noqa: E402  (installed just above)

_send = _core.bcast_send
_ASYNC = lib.PC_BCAST_PY_ASYNC
_BUSY = lib.PC_BCAST_BUSY
_NO_RECEIVERS = lib.PC_BCAST_NO_RECEIVERS
_PENDING = lib.PC_BCAST_PENDING

#: What an empty slot holds: a position no receiver is ever at.
_EMPTY_SLOT = (-1, None)
#: "No value yet", inside this module (never sent: nobody else has it).
_NOTHING: Any = object()


class _Shared:
    """What every sender and receiver of one channel share."""

    __slots__ = ("b", "addr", "ring", "cap", "alock", "afuts")

    def __init__(self, capacity: int) -> None:
        self.b = ffi.new("pc_bcast_t *")
        self.addr = int(ffi.cast("uintptr_t", self.b))  # for bcast_send
        lib.pc_bcast_init(self.b)
        self.ring: List[Tuple[int, Any]] = [_EMPTY_SLOT] * capacity
        self.cap = capacity
        # asyncio receivers waiting: (loop, future), guarded by alock.
        self.alock = threading.Lock()
        self.afuts: List[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]] = []

    def wake_async(self) -> None:
        with self.alock:
            futs, self.afuts = self.afuts, []
        for loop, fut in futs:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:  # that loop is closed: nobody is waiting
                pass


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def broadcast(capacity: int) -> Tuple["BroadcastSender[Any]", "BroadcastReceiver[Any]"]:
    """broadcast(capacity) -> (sender, receiver)

    A broadcast channel keeping the last *capacity* values (an int >= 1).
    More receivers come from ``sender.subscribe()``, more senders from
    ``sender.clone()``.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise TypeError(f"broadcast(capacity) needs an int, not {type(capacity).__name__}")
    if capacity < 1:
        raise ValueError(f"broadcast(capacity) needs capacity >= 1, not {capacity}")
    if capacity > 1 << 30:
        raise OverflowError("broadcast(capacity): capacity is too large (at most 2**30)")
    shared = _Shared(capacity)
    return BroadcastSender(shared), BroadcastReceiver(shared, 0)


class BroadcastSender(Closing, Generic[T]):
    """The sending side of a broadcast channel (tokio's ``broadcast::Sender``).

    ``send(value)`` stores *value* for every current receiver and returns
    how many there are; it never waits for receivers.  ``clone()`` makes
    another sender; ``subscribe()`` a new receiver that sees values sent
    from then on.  ``close()`` (or garbage collection, or leaving a
    ``with`` block) drops this sender; when the last one is gone,
    receivers get ``Closed`` after reading what is left.

    Thread safety without the GIL: senders serialise on a C lock held
    only while storing one slot; counts and the tail are C atomics; the
    ring's slots are single list items, each replaced whole.
    """

    __slots__ = ("_shared", "__weakref__")

    def __init__(self, shared: _Shared) -> None:
        self._shared: Optional[_Shared] = shared

    def send(self, value: T) -> int:
        """send(value) -> int

        Send *value* to every receiver and return the number of receivers.
        Raises SendError (holding the value) if there are none.  Never
        waits for a receiver; it may wait, briefly, for another sender.
        """
        shared = self._shared
        if shared is None:
            raise RuntimeError("this sender is closed")
        n = _send(shared.addr, shared.ring, value)  # the whole send, in C
        if n >= 0:
            if n < _ASYNC:
                return n
            shared.wake_async()
            return n - _ASYNC
        return self._send_slow(shared, n, value)

    def _send_slow(self, shared: _Shared, n: int, value: T) -> int:
        """Another sender holds the lock: wait for it, then store here."""
        b = shared.b
        pos = n
        while pos == _BUSY:
            pos = lib.pc_bcast_send_lock(b, _timeout.SLICE_NS)
        if pos == _NO_RECEIVERS:
            raise SendError(value, "broadcast channel has no receivers")
        try:
            shared.ring[pos % shared.cap] = (pos, value)
        finally:
            n = _end(b, pos)
        if n < 0:
            n = ~n
            shared.wake_async()
        return n

    def subscribe(self) -> "BroadcastReceiver[T]":
        """subscribe() -> BroadcastReceiver

        A new receiver, which sees the values sent after this call.
        """
        shared = self._shared
        if shared is None:
            raise RuntimeError("this sender is closed")
        return BroadcastReceiver(shared, lib.pc_bcast_subscribe(shared.b))

    def clone(self) -> "BroadcastSender[T]":
        """clone() -> BroadcastSender: another sender on the same channel."""
        shared = self._shared
        if shared is None or not lib.pc_bcast_add_sender(shared.b):
            raise RuntimeError("this sender is closed")
        return BroadcastSender(shared)

    __copy__ = clone

    def receiver_count(self) -> int:
        """receiver_count() -> int: the number of receivers (a snapshot)."""
        shared = self._shared
        return 0 if shared is None else int(lib.pc_bcast_receiver_count(shared.b))

    def close(self) -> None:
        """close() -> None

        Drop this sender (idempotent).  When the last sender is closed,
        receivers get Closed once they have read every value sent.
        """
        shared, self._shared = self._shared, None
        if shared is not None and lib.pc_bcast_drop_sender(shared.b):
            shared.wake_async()

    def __del__(self) -> None:
        if getattr(self, "_shared", None) is not None:
            self.close()

    def __repr__(self) -> str:
        state = "closed " if self._shared is None else ""
        return f"<{state}pyconc.BroadcastSender receivers={self.receiver_count()}>"

    def __reduce__(self) -> Any:
        raise TypeError("a broadcast sender cannot be pickled: it lives in this process")


class BroadcastReceiver(Closing, Generic[T]):
    """A receiving side of a broadcast channel (tokio's ``broadcast::Receiver``).

    ``recv(timeout=None)`` returns the next value, waiting for it;
    ``try_recv()`` never waits (Empty); ``await recv_async()`` waits in
    asyncio.  After falling more than *capacity* values behind, the next
    receive raises ``Lagged`` (``.missed``: how many were lost) and the
    following ones continue from the oldest value held.  Once every sender
    is gone and everything is read, receives raise ``Closed``.  Iterating
    yields values until Closed (skipping over lags).

    A receiver is for one thread (or task) at a time; give another thread
    its own with ``resubscribe()`` or ``sender.subscribe()``.

    Thread safety without the GIL: the position is the receiver's own
    (one thread); the ring and counters are shared as in BroadcastSender.
    """

    __slots__ = ("_shared", "_ring", "_cap", "_pos", "__weakref__")

    def __init__(self, shared: _Shared, pos: int) -> None:
        self._shared: Optional[_Shared] = shared
        self._ring = shared.ring
        self._cap = shared.cap
        self._pos = pos

    def try_recv(self) -> T:
        """try_recv() -> value

        The next value if one is waiting.  Raises Empty if none is,
        Lagged if this receiver fell behind, Closed if the channel is
        closed and drained.
        """
        pos = self._pos
        seq, value = self._ring[pos % self._cap]
        if seq == pos:
            self._pos = pos + 1
            return value
        value = self._miss(pos, seq)
        if value is _NOTHING:
            raise Empty("no value waiting")
        return value

    def _poll(self) -> Any:
        """The next value, or _NOTHING; raises Lagged and Closed."""
        pos = self._pos
        seq, value = self._ring[pos % self._cap]
        if seq == pos:
            self._pos = pos + 1
            return value
        return self._miss(pos, seq)

    def _miss(self, pos: int, seq: int) -> Any:
        """The slow half of _poll (no value at pos yet, or lagged)."""
        shared = self._shared
        if shared is None:
            raise RuntimeError("this receiver is closed")
        if seq > pos:  # our slot was overwritten: we lagged
            oldest = _tail(shared.b) - self._cap
            self._pos = oldest
            raise Lagged(oldest - pos)
        if _is_closed(shared.b):
            # Everything sent before the close is visible now: look again.
            seq, value = self._ring[pos % self._cap]
            if seq == pos:
                self._pos = pos + 1
                return value
            if seq > pos:
                return self._miss(pos, seq)
            raise Closed("broadcast channel closed: every sender is gone")
        return _NOTHING

    def recv(self, timeout: Optional[float] = None) -> T:
        """recv(timeout=None) -> value

        The next value, waiting for it.  With *timeout* (seconds), raise
        ``pyconc.Timeout`` (a TimeoutError) if none comes in that time.
        Raises Lagged and Closed as try_recv.  The wait releases the GIL
        and is interruptible by Ctrl-C.
        """
        pos = self._pos
        seq, value = self._ring[pos % self._cap]
        if seq == pos:  # the fast path: no C call
            self._pos = pos + 1
            return value
        limit = _timeout.optional_seconds(timeout)
        end = _timeout.deadline(limit)
        shared = self._shared
        if shared is None:
            raise RuntimeError("this receiver is closed")
        b = shared.b
        while True:
            value = self._poll()
            if value is not _NOTHING:
                return value
            seen = _prepare(b, False)
            registered = True
            try:
                value = self._poll()  # a send may have come before prepare
                if value is not _NOTHING:
                    return value
                while True:
                    ns = _timeout.slice_ns(end)
                    if ns <= 0:
                        raise Timeout(f"recv() timed out after {limit} s")
                    if _wait(b, seen, ns) != _PENDING:
                        registered = False  # the wait unregistered us
                        break
            finally:
                if registered:
                    _unprepare(b, False)

    async def recv_async(self) -> T:
        """await recv_async() -> value

        As recv(), for asyncio: the task sleeps, the event loop runs on,
        and a send from any thread wakes it.  Cancellation is safe (no
        value is lost).
        """
        value = self._poll()
        if value is not _NOTHING:
            return value
        shared = self._shared
        if shared is None:
            raise RuntimeError("this receiver is closed")
        loop = asyncio.get_running_loop()
        while True:
            fut: asyncio.Future[None] = loop.create_future()
            entry = (loop, fut)
            with shared.alock:
                shared.afuts.append(entry)
            _prepare(shared.b, True)
            try:
                value = self._poll()  # a send may have come before prepare
                if value is not _NOTHING:
                    return value
                await fut
            finally:
                _unprepare(shared.b, True)
                with shared.alock:  # still listed unless a sender woke us
                    try:
                        shared.afuts.remove(entry)
                    except ValueError:
                        pass
            value = self._poll()
            if value is not _NOTHING:
                return value

    def __iter__(self) -> "BroadcastReceiver[T]":
        return self

    def __next__(self) -> T:
        pos = self._pos
        seq, value = self._ring[pos % self._cap]
        if seq == pos:  # recv()'s fast path, inlined: one call fewer per value
            self._pos = pos + 1
            return value
        while True:
            try:
                return self.recv()
            except Lagged:
                continue
            except Closed:
                raise StopIteration from None

    def __aiter__(self) -> "BroadcastReceiver[T]":
        return self

    async def __anext__(self) -> T:
        while True:
            try:
                return await self.recv_async()
            except Lagged:
                continue
            except Closed:
                raise StopAsyncIteration from None

    def resubscribe(self) -> "BroadcastReceiver[T]":
        """resubscribe() -> BroadcastReceiver

        A new receiver on the same channel, starting at the newest
        position (tokio's ``resubscribe``).
        """
        shared = self._shared
        if shared is None:
            raise RuntimeError("this receiver is closed")
        return BroadcastReceiver(shared, lib.pc_bcast_subscribe(shared.b))

    def __len__(self) -> int:
        """The number of values sent that this receiver has not read yet
        (lagged ones included)."""
        shared = self._shared
        return 0 if shared is None else max(0, _tail(shared.b) - self._pos)

    def close(self) -> None:
        """close() -> None

        Drop this receiver (idempotent); senders stop counting it.
        """
        shared, self._shared = self._shared, None
        # An empty one-slot ring: the fast paths miss, _miss() raises.
        self._ring, self._cap = [_EMPTY_SLOT], 1
        if shared is not None:
            lib.pc_bcast_unsubscribe(shared.b)

    def __del__(self) -> None:
        if getattr(self, "_shared", None) is not None:
            self.close()

    def __repr__(self) -> str:
        state = "closed " if self._shared is None else ""
        return f"<{state}pyconc.BroadcastReceiver pending={len(self)}>"

    def __reduce__(self) -> Any:
        raise TypeError("a broadcast receiver cannot be pickled: it lives in this process")
