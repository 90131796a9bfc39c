"""A broadcast channel after tokio's ``sync::broadcast``: pyconc.broadcast.

Every value sent reaches every receiver subscribed at the time.  The
channel holds the last *capacity* values in a ring; a receiver that falls
further behind than that loses the oldest ones (it gets ``Lagged`` with
the number it missed, then continues from the oldest value still held).
So a slow receiver never blocks the senders or the other receivers, and
memory stays bounded by the capacity.

``BroadcastSender`` and ``BroadcastReceiver`` are C types
(``csrc/pyglue/pc_bcast_py.h``) over one hidden state that embeds the
counters, lock and futex word of ``csrc/pc_bcast.h`` and the ring: a send
is one C call, a receive of a value already sent one C call that takes no
lock, and a receive that must wait waits in C (GIL released, Ctrl-C let
through, deadline on the monotonic clock).  What stays in Python, because
coroutines are Python's to write: ``recv_async`` and ``async for``,
attached to the C receiver type below; they wait without a thread, as the
channels' do (``pyconc/_async.py``): a send fires every registered
coroutine from C, waking each one's event loop through its descriptor.
"""

from __future__ import annotations

from typing import Any, Tuple

from pyconc import _async, _core
from pyconc._generic import subscriptable
from pyconc.errors import Closed, Lagged

__all__ = ["broadcast", "broadcast_sender", "BroadcastSender", "BroadcastReceiver",
           "BroadcastWeakSender"]

BroadcastSender: Any = _core.BroadcastSender
BroadcastReceiver: Any = _core.BroadcastReceiver
BroadcastWeakSender: Any = _core.BroadcastWeakSender
_new = _core._bcast_new


def broadcast(capacity: int) -> Tuple["BroadcastSender", "BroadcastReceiver"]:
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
    return _new(capacity)


async def recv_async(self: Any) -> Any:
    """await recv_async() -> value

    As recv(), for asyncio, without a thread: a value already sent is
    returned at once; otherwise the task sleeps, the event loop runs on,
    and a send from any thread wakes it through its event loop (one file
    descriptor per loop, pyconc/_async.py).  Raises Lagged and Closed as
    recv() does.  Cancellation is safe (no value is lost: a value is taken
    only when the task resumes).
    """
    return await _async.wait_for(_async.recv_attempt(self), self._async_arm, None, None,
                                 "recv_async")


def __aiter__(self: Any) -> Any:
    return self


async def __anext__(self: Any) -> Any:
    """``async for value in rx``: recv_async until Closed, skipping lags."""
    while True:
        try:
            return await self.recv_async()
        except Lagged:
            continue
        except Closed:
            raise StopAsyncIteration from None


for _f in (recv_async, __aiter__, __anext__):
    _f.__qualname__ = "BroadcastReceiver." + _f.__name__
    setattr(BroadcastReceiver, _f.__name__, _f)
del _f, recv_async, __aiter__, __anext__


def broadcast_sender(capacity: int) -> "BroadcastSender":
    """broadcast_sender(capacity) -> sender

    A broadcast channel with a sender and no receiver yet (tokio's
    ``Sender::new``): receivers come from ``sender.subscribe()``; until
    there is one, ``send`` raises SendError.
    """
    tx, rx = broadcast(capacity)
    rx.close()
    return tx


# broadcast[int](n): the item is for type checkers (pyconc/_generic.py).
broadcast = subscriptable(broadcast)
