"""pyconc's exception types, in one place so that every part shares them.

Every pyconc error derives from PyconcError; channel errors from
ChannelError.  Timeout and the empty/full conditions also derive from the
built-in exceptions a Python programmer would try first (TimeoutError,
queue.Empty, queue.Full), so existing ``except`` clauses keep working.

The rule, the same for channels, broadcast, locks and ``pyconc.ipc``
(the C layer raises each from one table, ``csrc/pyglue/pc_py.h``):

- a blocking call whose timeout runs out raises ``Timeout``;
- a call on a handle that was itself closed (``close()``) raises
  ``HandleClosed``, a ValueError as for a closed file;
- a call that needs the other side of a channel, once it is gone, raises
  ``Disconnected`` (receiving) or ``SendError`` (sending, with the value).
"""

from __future__ import annotations

import queue
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "PyconcError",
    "HandleClosed",
    "ChannelError",
    "SendError",
    "Empty",
    "Full",
    "Disconnected",
    "Timeout",
    "Closed",
    "Lagged",
    "WouldBlock",
    "PoisonError",
    "OwnerDied",
]


class PyconcError(Exception):
    """Base class of every error pyconc raises (but the built-in TypeError,
    ValueError, OverflowError and MemoryError for bad arguments)."""


class ChannelError(PyconcError):
    """Base class of every error raised by pyconc's channels."""


class HandleClosed(ChannelError, ValueError):
    """The handle (Sender, Receiver, broadcast or ipc end) was closed with
    ``close()`` and can no longer be used."""


class SendError(ChannelError, Generic[T]):
    """The receiving side is gone, so the value could not be sent.

    The value is not lost: it is returned in ``.value``.
    """

    def __init__(self, value: T, message: str = "sending on a closed channel") -> None:
        super().__init__(message)
        self.value = value


class Empty(ChannelError, queue.Empty):
    """A non-blocking receive found no value waiting."""


class Full(ChannelError, queue.Full, Generic[T]):
    """A non-blocking send found a bounded channel full.

    The value that was not sent is in ``.value``.
    """

    def __init__(self, value: Any = None, message: str = "channel is full") -> None:
        super().__init__(message)
        self.value = value


class Disconnected(ChannelError):
    """The other side of the channel is gone (and, for a receiver, nothing
    is left to receive)."""


class Timeout(PyconcError, TimeoutError):
    """A blocking call's timeout ran out: a channel, a broadcast receiver,
    a lock, a barrier or an ipc channel.  Nothing was done."""


class Closed(Disconnected):
    """The other side closed: a broadcast receiver has read everything and
    every sender is gone, or a Semaphore was closed (tokio's
    ``AcquireError``)."""


class Lagged(ChannelError):
    """A broadcast receiver fell more than the channel's capacity behind.

    ``.missed`` is the number of values it skipped; the next receive
    continues from the oldest value still held.
    """

    def __init__(self, missed: int) -> None:
        super().__init__(f"receiver lagged behind and missed {missed} values")
        self.missed = missed


class WouldBlock(PyconcError):
    """A try_* call on a lock found it held."""


class PoisonError(PyconcError, Generic[T]):
    """The lock is poisoned: a thread raised while holding it.

    ``into_inner()`` returns the guard anyway, so the data can be inspected
    and repaired (Rust's ``PoisonError::into_inner``).
    """

    def __init__(self, guard: T, message: str = "lock poisoned by an exception in another holder") -> None:
        super().__init__(message)
        self._guard = guard

    def into_inner(self) -> T:
        """Return the guard, held, despite the poisoning."""
        return self._guard


class OwnerDied(PyconcError):
    """The process holding a shared lock died; the caller now holds the lock
    and must check the data it protects."""
