"""The sending end of pyconc.ipc's channel, and what the receiving end
shares with it (ReceiverGone, the ring's handle)."""

from __future__ import annotations

import time
import weakref
from types import GenericAlias
from typing import Any, Iterable, Optional, Set

from pyconc import _procs, _timeout
from pyconc._closing import Closing
from pyconc._native import lib
from pyconc.errors import ChannelError, Disconnected, HandleClosed, PyconcError, SendError
from pyconc.ipc._segment import _KIND_CHANNEL, _Segment, _state

# ------------------------------------------------------------------ channel
#
# Each Sender and Receiver holds a pyconc._core.IpcHandle (csrc/pyglue/
# pc_shring_py.h) in its _c slot: the C type keeps the segment's mapping
# exported and the ring's address to itself, does every send and receive in
# one C call with the GIL held, and waits, when it must, in C through the
# one interruptible wait (pc_py_wait).  What is left here is bookkeeping:
# handles, pickling, fork and exit.  Assigning to _c cannot crash anything:
# any object put there either is an IpcHandle (with its own mapping) or
# has no such methods (AttributeError).


class ReceiverGone(SendError, Disconnected):
    """Sending failed because the receiving side is gone.

    A Disconnected (as the issue asks of a cross-process channel) that is
    also a SendError carrying the unsent object in ``.value``, as
    ``pyconc.channel``'s Sender raises, so either ``except`` clause works.
    """


def _class_getitem(cls: type, item: Any) -> GenericAlias:
    """Sender[T], Receiver[T]: a generic alias, for type hints (PEP 585)."""
    return GenericAlias(cls, item)


#: Live Senders of this process (for fork and exit).
_senders: "weakref.WeakSet[Sender]" = weakref.WeakSet()

#: Producer processes that may hold Senders of one channel at once.
MAX_SENDER_PROCESSES = lib.PC_SHRING_SLOTS


def _open_ring(seg: _Segment) -> Any:
    try:
        return seg.ring()
    except BaseException:
        seg.release()
        raise


class Sender(Closing):
    """The sending end of a ``pyconc.ipc.channel``.

    ``send(obj)`` pickles *obj* (highest protocol) and sends the bytes as
    one record; ``send_bytes(data)`` sends bytes-like *data* as they are.
    A full ring makes ``send`` wait (``timeout`` in seconds, None for no
    limit: Timeout when it runs out) and ``try_send`` raise ``Full``.  A
    record larger than the ring raises ValueError at once.  When the
    receiving side is gone (closed, or its process has exited or died),
    sending raises ``Disconnected`` (precisely ``ReceiverGone``, which is
    also a ``SendError`` with the unsent object in ``.value``, as
    ``pyconc.channel`` raises); a blocked send notices within about 50 ms
    (a dead receiver's process is checked once per 50 ms slice).  The
    consumer sees the channel disconnected when every Sender of every
    process is closed, garbage collected, or its process has exited.
    Sending on a Sender closed with ``close()`` raises ``HandleClosed``.

    Each Sender holds one handle, counted in a slot of the ring for its
    process; ``clone()`` makes another, pickling carries one to the process
    that unpickles it, and a ``multiprocessing`` child started by ``fork``
    gets its own for each Sender it is passed (or that is marked with
    ``set_inheritable(True)``); the others it inherits are dormant there
    (see "Fork children" in the module's documentation).  ``with tx:``
    closes it at the end.  A handle in a pickle
    counts for the pickling process until it is unpickled, so that the
    receiver does not see the channel disconnected while a ``spawn`` child
    is starting; the price is that a pickle that is never unpickled (a
    child killed before it got that far) keeps the channel connected for
    as long as the pickling process lives.

    Thread safety (with or without the GIL): sends from any number of
    threads and processes are safe (each claims its space with one
    compare-and-swap in shared memory); the Python object changes only in
    ``close()``, under the module's bookkeeping lock, and the C handle's
    closed flag is atomic, so a send racing with ``close()`` fails cleanly.
    """

    __slots__ = ("_seg", "_c", "_slot", "_pid", "_inheritable", "__weakref__")

    __class_getitem__ = classmethod(_class_getitem)

    @classmethod
    def _new(cls, seg: _Segment, c: Any) -> "Sender":
        self = cls.__new__(cls)
        self._seg = seg
        self._c = c
        self._pid = _procs.pid
        self._inheritable = False
        self._slot = c.register(self._pid)
        if self._slot < 0:
            self._seg = None
            c.close()
            seg.release()
            raise ChannelError(
                f"too many processes hold Senders of this channel "
                f"(at most {MAX_SENDER_PROCESSES} at once)"
            )
        _senders.add(self)
        return self

    @classmethod
    def attach(cls, name: str) -> "Sender":
        """attach(name) -> Sender

        A new Sender of the channel whose segment is *name* (``tx.name`` in
        another process).  FileNotFoundError if it does not exist (any
        more), ValueError if the segment is not a channel.
        """
        seg = _Segment.attach(name, _KIND_CHANNEL)
        return cls._new(seg, _open_ring(seg))

    def _fork_child(self, old_pid: int) -> None:
        c = self._c
        old_slot = self._slot
        self._pid = _procs.pid
        if old_slot < 0:
            return  # dormant in the parent: dormant here too
        slot = c.register(_procs.pid)
        c.handles_add(old_slot, old_pid, -1)
        if slot < 0:  # pragma: no cover - every slot held by a live process
            c.close()
            with _state:
                seg, self._seg = self._seg, None
            if seg is not None:
                seg.release()
        else:
            self._slot = slot

    def _kept_by_child(self, passed: Optional[Set[int]]) -> bool:
        """Whether a fork child keeps a handle of this Sender: always for a
        bare os.fork() (passed is None); for a multiprocessing child, if it
        is passed the Sender, or the Sender is inheritable."""
        return passed is None or self._inheritable or id(self) in passed

    def _make_dormant(self) -> None:
        """In a fork child that inherited this Sender without being passed
        it: no handle here (none was taken for it before the fork)."""
        self._slot = -1
        self._pid = _procs.pid
        if not isinstance(self._c, _DormantHandle):
            self._c = _DormantHandle(self._c)

    def set_inheritable(self, inheritable: bool) -> None:
        """set_inheritable(inheritable) -> None

        Whether a ``multiprocessing`` child started with ``fork`` keeps this
        Sender, as a handle that holds the channel open, even when it is not
        passed to the child (in the Process's target, args, kwargs or
        attributes, the way ``spawn`` would carry it).  False by default:
        such an inherited copy is *dormant* in the child (it does not hold
        the channel open; sending on it raises HandleClosed).  Set it, in
        the parent before starting the child, for a Sender the children
        reach another way (a module global, a closure).  A child of a bare
        ``os.fork()`` keeps every Sender it inherits, whatever this says.
        """
        self._inheritable = bool(inheritable)

    def get_inheritable(self) -> bool:
        """get_inheritable() -> bool: see set_inheritable()."""
        return self._inheritable

    @property
    def name(self) -> str:
        """The channel's segment name."""
        return self._open_seg().name.lstrip("/")

    @property
    def max_record_bytes(self) -> int:
        """The largest record (pickled object or bytes) the ring takes."""
        return self._c.max_payload()

    @property
    def closed(self) -> bool:
        """True after close(), and for a dormant Sender (one a fork child
        inherited without being passed it: see set_inheritable())."""
        return self._seg is None or self._slot < 0

    def _open_seg(self) -> _Segment:
        seg = self._seg
        if seg is None:
            raise HandleClosed("this Sender is closed")
        if self._slot < 0:
            raise HandleClosed(_DORMANT)
        return seg

    # -- sending

    def send(self, obj: Any, timeout: Optional[float] = None) -> None:
        """send(obj, timeout=None) -> None

        Pickle *obj* and send it, waiting while the ring is full: without
        limit if *timeout* is None, else for at most *timeout* seconds
        (then Timeout; nothing is sent).  Raises Disconnected
        (ReceiverGone, with *obj* in ``.value``) if the receiving side is
        gone, ValueError if the pickle is larger than the ring
        (``max_record_bytes``), HandleClosed after ``close()``.  The wait
        releases the GIL and lets Ctrl-C through.
        """
        self._c.send(obj, timeout)

    def send_timeout(self, obj: Any, timeout: float) -> None:
        """send_timeout(obj, timeout) -> None: send() with a timeout."""
        self._c.send(obj, _timeout.seconds(timeout))

    def try_send(self, obj: Any) -> None:
        """try_send(obj) -> None

        Send *obj* if the ring has room, else raise Full (with the object
        in ``.value``) at once.  Disconnected and ValueError as send().
        """
        self._c.try_send(obj)

    def send_bytes(self, data: Any, timeout: Optional[float] = None) -> None:
        """send_bytes(data, timeout=None) -> None

        Send the bytes-like *data* as one record, unpickled (receive it
        with ``recv_bytes``).  Waiting and errors as send().
        """
        self._c.send_bytes(data, timeout)

    def try_send_bytes(self, data: Any) -> None:
        """try_send_bytes(data) -> None: send_bytes() that raises Full
        instead of waiting."""
        self._c.try_send_bytes(data)

    def send_many(self, objs: Iterable[Any], timeout: Optional[float] = None) -> int:
        """send_many(objs, timeout=None) -> int

        Send every object of the iterable *objs*, in order, as send() does
        (*timeout* applies to the whole call).  Returns how many were sent.
        On Timeout, Disconnected or ValueError, the objects before the
        failing one have been sent; the exception's ``sent`` attribute
        says how many.
        """
        send = self._c.send
        end = None if timeout is None else _timeout.deadline(_timeout.seconds(timeout))
        sent = 0  # (validated before anything is sent)
        try:
            if end is None:
                for obj in objs:
                    send(obj)
                    sent += 1
            else:
                for obj in objs:
                    send(obj, max(0.0, end - time.monotonic()))
                    sent += 1
        except (PyconcError, ValueError) as exc:
            exc.sent = sent  # type: ignore[attr-defined]
            raise
        return sent

    # -- handles

    def clone(self) -> "Sender":
        """clone() -> Sender: another handle on the same channel."""
        seg = self._open_seg()
        c = seg.ring()
        c.register(self._pid)
        seg.acquire()
        other = Sender.__new__(Sender)
        other._seg, other._c = seg, c
        other._slot, other._pid = self._slot, self._pid
        other._inheritable = False
        _senders.add(other)
        return other

    def close(self) -> None:
        """close() -> None

        Drop this handle.  When every Sender is gone, the receiver gets
        Disconnected after draining what was sent.  Sending on a closed
        Sender raises HandleClosed; closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        if seg is None:
            return
        _senders.discard(self)
        self._c.close()
        if self._pid == _procs.pid and self._slot >= 0:
            self._c.handles_add(self._slot, self._pid, -1)
        seg.release()  # the mapping stays while the C handle does

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __reduce__(self) -> Any:
        seg = self._open_seg()
        # The pickle carries a handle (counted in our slot until the
        # unpickler moves it to its own) and a segment reference, so that
        # neither count drops to zero while it is in transit.
        self._c.handles_add(self._slot, self._pid, 1)
        seg.share()
        return (_rebuild_sender, (seg.name, self._slot, self._pid))

    def __copy__(self) -> "Sender":
        return self.clone()

    def __deepcopy__(self, memo: Any) -> "Sender":
        return self.clone()

    def __repr__(self) -> str:
        where = self._seg.name if self._seg else "(closed)"
        return f"<pyconc.ipc.Sender {where}>"


_DORMANT = (
    "this Sender was inherited through fork by a process it was not passed to "
    "(not in the Process's target, args, kwargs or attributes), so it holds no "
    "handle here and does not keep the channel open: pass it to the Process "
    "(as spawn requires anyway), or call tx.set_inheritable(True) in the "
    "parent before starting the process"
)


class _DormantHandle:
    """Stands in for the C handle of a dormant Sender: sending raises
    HandleClosed with what to do; closing closes the real handle."""

    __slots__ = ("_real",)

    def __init__(self, real: Any) -> None:
        self._real = real

    def _refuse(self, *args: Any) -> Any:
        raise HandleClosed(_DORMANT)

    send = try_send = send_bytes = try_send_bytes = _refuse
    handles_add = register = _refuse

    def close(self) -> None:
        self._real.close()

    def max_payload(self) -> int:
        return self._real.max_payload()


def _rebuild_sender(name: str, slot: int, pid: int) -> Sender:
    seg = _Segment.attach(name, _KIND_CHANNEL, pid)
    tx = Sender._new(seg, _open_ring(seg))
    tx._c.handles_add(slot, pid, -1)  # the one in transit
    return tx

