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
generator, attached to the C Receiver type below), and the waiting half of
the asyncio methods (``pyconc/_async.py``).  ``recv_async``, ``send_async``
and ``async for`` are C (``csrc/pyglue/pc_async_py.h``): a value there is
taken at once with no Python frame; otherwise the coroutine sleeps,
taking no thread, until the channel wakes its event loop through a file
descriptor (one per loop).

Thread safety without the GIL: each handle's state is C atomics (see
``pc_chan_py.h``); receivers serialise their pops with a consumer lock held
for the pop only (``csrc/pc_chan.h``); select is ``csrc/pc_select.h`` and
``csrc/pyglue/pc_select_py.h``.
"""

from __future__ import annotations

from typing import Any, Iterator

from pyconc import _async, _core  # noqa: F401  (_async: the waiting half of recv_async)
from pyconc._generic import subscriptable
from pyconc.errors import Disconnected, Empty

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


# Attached to the C type (a heap type, so its dict takes them): a
# generator, which is Python's to write.  recv_async, send_async and
# `async for` are C (pyglue/pc_async_py.h) with their waiting half in
# pyconc/_async.py.
try_iter.__qualname__ = "Receiver.try_iter"
Receiver.try_iter = try_iter
del try_iter


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


# channel[int]() and sync_channel[int](n): the item is for type checkers
# (see pyconc/_generic.py and channel.pyi).
channel = subscriptable(channel)
sync_channel = subscriptable(sync_channel)
