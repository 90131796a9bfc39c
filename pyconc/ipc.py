"""pyconc.ipc: atomics, a robust spin lock and an MPSC channel between processes.

Everything here lives in a POSIX shared-memory segment (``shm_open``; the
files in /dev/shm on Linux) that the object creates, and moves to another
process by pickling, which sends only the segment's name: pass the objects
to ``multiprocessing`` children as arguments, under the ``fork`` and the
``spawn`` start methods alike (a ``fork`` child inherits them directly).

- ``SharedAtomicInt``, ``SharedAtomicUInt``, ``SharedAtomicBool``: the
  atomics of ``pyconc.atomic`` (same methods and orderings), in their own
  segment.
- ``SharedSpinLock``: ``SpinLock.from_buffer``'s robust lock in its own
  segment; when the process holding it dies, the next ``acquire`` raises
  ``OwnerDied`` with the lock held by the caller.
- ``channel(capacity_bytes)``: ``(Sender, Receiver)`` of a multi-producer,
  single-consumer channel of byte records in a shared ring
  (``csrc/pc_shring.h``): ``send`` pickles, ``send_bytes`` sends bytes as
  they are.

To share a *part* of a buffer you manage yourself, use the ``from_buffer``
constructors of ``AtomicInt`` & co. and ``SpinLock`` on
``multiprocessing.shared_memory.SharedMemory(...).buf``.

Segment lifetime.  Each segment keeps a table of the processes that use
it, with a count of references per process (a reference travels with each
pickle, and with each object a ``fork`` child inherits).  It is unlinked
(its name removed; mappings stay valid) when no live process holds a
reference any more (``close()``, garbage collection, or the exit of a
process that used it; references of a killed process stop counting), and
in any case when the process that created it exits; if that process is
killed, ``multiprocessing``'s resource tracker removes it when the tracker
stops.  After the name is gone, pickled copies can no longer be opened
(FileNotFoundError).  A pickle that is never unpickled keeps its reference
for as long as the process that pickled it lives.

Closed objects.  ``close()`` gives up the object's reference; the object
keeps its mapping (so nothing can crash) until it is garbage collected.
The atomics and the lock keep working on that mapping; a closed Sender or
Receiver raises ``Disconnected``.

POSIX only (Linux, macOS).  Process ids name the owners of locks and the
ends of channels; the limits of that (pid reuse, pid namespaces) are
described in ``csrc/pc_ipc.h``.
"""

from __future__ import annotations

import atexit
import mmap
import os
import pickle
import secrets
import threading
import time
import weakref
from multiprocessing import resource_tracker, util
from typing import Any, Iterable, Iterator, List, Optional

from pyconc import _procs, _timeout
from pyconc._buffer import cell_in_buffer
from pyconc._closing import Closing
from pyconc._native import ffi, lib
from pyconc._ordering import RELAXED
from pyconc.atomic import AtomicBool, AtomicInt, AtomicUInt
from pyconc.errors import (
    ChannelError,
    PyconcError,
    Disconnected,
    Empty,
    Full,
    OwnerDied,
    SendError,
    Timeout,
)
from pyconc.spinlock import SpinLock, _RobustSpinLock

try:
    import _posixshmem
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

__all__ = [
    "SharedAtomicInt",
    "SharedAtomicUInt",
    "SharedAtomicBool",
    "SharedSpinLock",
    "channel",
    "Sender",
    "Receiver",
    "ReceiverGone",
    "OwnerDied",
]

# ------------------------------------------------------------------ segments
#
# Layout of every segment: a one-page header, then the body.
#   0   8 bytes  magic b"pyconc\x00\x02"
#   8   u32      kind (what the body is)
#   16  u64      creator pid
#   24  u64      body size
#   64  the users table (pc_ipc_user_t, csrc/pc_ipc.h): one 64-bit word per
#       process using the segment, its pid and its count of references
# The body starts at offset 4096, so its cache-line-aligned fields stay
# aligned (mappings are page aligned).

_MAGIC = b"pyconc\x00\x02"
_TABLE = 64
_BODY = 4096
_NUSERS = (_BODY - _TABLE) // 8
_KIND_I64, _KIND_U64, _KIND_BOOL, _KIND_LOCK, _KIND_CHANNEL = 1, 2, 3, 4, 5
_KIND_NAMES = {
    _KIND_I64: "SharedAtomicInt",
    _KIND_U64: "SharedAtomicUInt",
    _KIND_BOOL: "SharedAtomicBool",
    _KIND_LOCK: "SharedSpinLock",
    _KIND_CHANNEL: "channel",
}
_users_add = lib.pc_ipc_users_add
_users_live = lib.pc_ipc_users_live

#: Guards the Python-level bookkeeping of segments and channel ends
#: (reference counts, closing) without relying on the GIL.  Reentrant: a
#: __del__ may close one object while another is being closed.
_state = threading.RLock()

#: Open segments of this process (for fork and exit).
_segments: "weakref.WeakSet[_Segment]" = weakref.WeakSet()
#: Segments this process created: name -> pid of the creator.
_created: dict = {}


def _posix_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"segment name must be a str, not {type(name).__name__}")
    return name if name.startswith("/") else "/" + name


def _need_posix() -> None:
    if _posixshmem is None:  # pragma: no cover - Windows
        raise NotImplementedError(
            "pyconc.ipc needs POSIX shared memory (Linux, macOS); use the "
            "from_buffer() constructors on multiprocessing.shared_memory instead"
        )


class _Segment:
    """One mapping of a segment in this process, shared by the Python
    objects of this process that use it (``refs`` of them).  The segment's
    users table counts one reference for this process while refs > 0."""

    __slots__ = ("name", "kind", "mm", "table", "keep", "refs", "__weakref__")

    def __init__(self, name: str, kind: int, mm: mmap.mmap) -> None:
        self.name = name
        self.kind = kind
        self.mm = mm
        self.table, self.keep = cell_in_buffer(mm, _TABLE, "pc_ipc_user_t *", "segment")
        self.refs = 1
        _segments.add(self)

    @classmethod
    def create(cls, kind: int, body: int) -> "_Segment":
        _need_posix()
        size = _BODY + -(-body // mmap.PAGESIZE) * mmap.PAGESIZE
        flags = os.O_CREAT | os.O_EXCL | os.O_RDWR
        for _ in range(64):
            name = "/pc_" + secrets.token_hex(8)
            try:
                fd = _posixshmem.shm_open(name, flags, mode=0o600)
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - 64 collisions of 64 random bits
            raise FileExistsError("could not find a free shared-memory name")
        try:
            os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        except BaseException:
            _posixshmem.shm_unlink(name)
            raise
        finally:
            os.close(fd)
        mm[0:8] = _MAGIC
        mm[8:12] = kind.to_bytes(4, "little")
        mm[16:24] = os.getpid().to_bytes(8, "little")
        mm[24:32] = body.to_bytes(8, "little")
        self = cls(name, kind, mm)
        _users_add(self.table, _NUSERS, _procs.pid, 1)
        _created[name] = os.getpid()
        # If this process is killed, the resource tracker (a process of its
        # own) unlinks the segment when it stops.
        resource_tracker.register(name, "shared_memory")
        return self

    @classmethod
    def attach(cls, name: str, kind: int, carried_by: int = 0) -> "_Segment":
        """Open the segment *name*.  carried_by: the pid of the process
        whose pickle carried a reference for us (handed over to us here)."""
        _need_posix()
        pname = _posix_name(name)
        try:
            fd = _posixshmem.shm_open(pname, os.O_RDWR, mode=0)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no pyconc shared segment named {name!r}: it never existed, "
                "or every user has closed it, or the process that created it "
                "has exited"
            ) from None
        try:
            size = os.fstat(fd).st_size
            if size < _BODY + 8:
                raise ValueError(f"shared segment {name!r} is not a pyconc segment")
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        if mm[0:8] != _MAGIC:
            mm.close()
            raise ValueError(f"shared segment {name!r} is not a pyconc segment")
        found = int.from_bytes(mm[8:12], "little")
        if found != kind:
            mm.close()
            raise ValueError(
                f"shared segment {name!r} holds a {_KIND_NAMES.get(found, '?')}, "
                f"not a {_KIND_NAMES[kind]}"
            )
        self = cls(pname, kind, mm)
        if not _users_add(self.table, _NUSERS, _procs.pid, 1):
            raise ChannelError(
                f"too many processes use shared segment {name!r} (at most {_NUSERS})"
            )
        if carried_by:
            _users_add(self.table, _NUSERS, carried_by, -1)
        return self

    def body(self, ctype: str, what: str) -> tuple:
        return cell_in_buffer(self.mm, _BODY, ctype, what)

    def share(self) -> None:
        """A pickle is about to carry a reference to another process."""
        _users_add(self.table, _NUSERS, _procs.pid, 1)

    def release(self) -> None:
        """One Python object of this process stops using the segment."""
        with _state:
            self.refs -= 1
            if self.refs != 0:
                return
            _segments.discard(self)
        _users_add(self.table, _NUSERS, _procs.pid, -1)
        if _users_live(self.table, _NUSERS) == 0:
            _unlink(self.name)

    def acquire(self) -> None:
        """One more Python object of this process uses the segment."""
        with _state:
            self.refs += 1

    def __repr__(self) -> str:
        return f"<pyconc segment {self.name}>"


def _unlink(name: str) -> None:
    try:
        _posixshmem.shm_unlink(name)
    except FileNotFoundError:
        pass
    if _created.get(name) == os.getpid():
        del _created[name]
        resource_tracker.unregister(name, "shared_memory")


# --------------------------------------------------------------- shared atomics


class _Shared(Closing):
    """What the shared objects have in common (a mixin; the concrete
    classes hold the ``_seg`` slot)."""

    __slots__ = ()
    _KIND: int
    _seg: Optional[_Segment]

    @property
    def name(self) -> str:
        """The segment's name (pass it to ``attach()`` in another process)."""
        seg = self._seg
        if seg is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return seg.name.lstrip("/")

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._seg is None

    def close(self) -> None:
        """close() -> None

        Give up this object's use of the segment; the segment is unlinked
        when its last user closes it (see the module's documentation).  The
        object keeps working on its mapping, but cannot be pickled again.
        Closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        if seg is not None:
            seg.release()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __reduce__(self) -> Any:
        seg = self._seg
        if seg is None:
            raise ValueError(f"cannot pickle a closed {type(self).__name__}")
        seg.share()
        return (_rebuild_shared, (type(self), seg.name, _procs.pid))

    @classmethod
    def attach(cls, name: str) -> Any:
        """attach(name)

        Open the existing segment *name* (the ``name`` of an object of this
        class in another process).  Raises FileNotFoundError if no such
        segment exists any more, ValueError if it holds something else.
        """
        return cls._from_segment(_Segment.attach(name, cls._KIND))

    @classmethod
    def _from_segment(cls, seg: _Segment) -> Any:
        raise NotImplementedError


def _rebuild_shared(cls: type, name: str, carried_by: int) -> Any:
    return cls._from_segment(_Segment.attach(name, cls._KIND, carried_by))


def _make_atomic(base: type, kind: int, doc: str) -> type:
    ctype = base._CTYPE

    def __init__(self, value=base.__init__.__defaults__[0]):  # type: ignore[index]
        probe = base(value)  # validates value before a segment exists
        seg = _Segment.create(kind, 8)
        self._cell, self._keep = seg.body(ctype, type(self).__name__)
        self._seg = seg
        self.store(probe.load(RELAXED), RELAXED)

    @classmethod
    def _from_segment(cls, seg):
        self = cls.__new__(cls)
        self._seg = seg
        self._cell, self._keep = seg.body(ctype, cls.__name__)
        return self

    def __repr__(self):
        state = " closed" if self._seg is None else ""
        return f"{type(self).__name__}({self.load(RELAXED)!r}{state})"

    name = "Shared" + base.__name__
    cls = type(
        name,
        (_Shared, base),
        {
            "__slots__": ("_seg",),
            "__doc__": doc,
            "__init__": __init__,
            "_from_segment": _from_segment,
            "__repr__": __repr__,
            "__reduce__": _Shared.__reduce__,
            "_KIND": kind,
            "__module__": __name__,
        },
    )
    cls.__init__.__qualname__ = f"{name}.__init__"
    return cls


_ATOMIC_DOC = """{name}(value={default})

    A ``{base}`` in a shared-memory segment of its own: the same methods and
    orderings, visible to every process that has it.  Pass it to a child
    process as an argument (pickling sends the segment's name), or open it
    by name with ``{name}.attach(name)``.  ``close()`` (or ``with``) gives
    the segment up; see ``pyconc.ipc`` for when it is unlinked.

    Thread and process safety: every access to the value is a C11 atomic
    operation on the shared cell; the Python object never changes but for
    ``close()``.
    """

SharedAtomicInt = _make_atomic(
    AtomicInt, _KIND_I64,
    _ATOMIC_DOC.format(name="SharedAtomicInt", default=0, base="AtomicInt"),
)
SharedAtomicUInt = _make_atomic(
    AtomicUInt, _KIND_U64,
    _ATOMIC_DOC.format(name="SharedAtomicUInt", default=0, base="AtomicUInt"),
)
SharedAtomicBool = _make_atomic(
    AtomicBool, _KIND_BOOL,
    _ATOMIC_DOC.format(name="SharedAtomicBool", default=False, base="AtomicBool"),
)


class SharedSpinLock(_Shared, _RobustSpinLock):
    """SharedSpinLock()

    ``SpinLock.from_buffer``'s robust lock in a shared-memory segment of its
    own, with the interface of ``threading.Lock``: pass it to child
    processes as an argument (pickling sends the segment's name) or open it
    with ``SharedSpinLock.attach(name)``.  If the process holding it dies,
    the next ``acquire()`` (or ``with``) raises ``OwnerDied`` with the lock
    held by the caller, who must repair the shared state and release it.
    ``owner()`` is the holder's pid.

    The lock is the C type of ``SpinLock.from_buffer`` over the segment's
    mapping (which it keeps exported, so alive): ``acquire``,
    ``__enter__`` (the same C function), ``release``, ``__exit__``,
    ``locked`` and ``owner`` are its C methods.

    Thread and process safety: all state is the shared lock word, changed
    only by atomic operations; ``_seg`` changes only in ``close()``, under
    the module's lock.
    """

    __slots__ = ("_seg",)
    _KIND = _KIND_LOCK

    def __new__(cls) -> "SharedSpinLock":
        return cls._over(_Segment.create(_KIND_LOCK, 8))

    @classmethod
    def _from_segment(cls, seg: _Segment) -> "SharedSpinLock":
        return cls._over(seg)

    @classmethod
    def _over(cls, seg: _Segment) -> "SharedSpinLock":
        # The C from_buffer, made to build an instance of cls.
        self: SharedSpinLock = _lock_from_buffer(cls, seg.mm, _BODY)
        self._seg = seg
        return self

    @classmethod
    def from_buffer(cls, buf: Any, offset: int = 0) -> "SharedSpinLock":
        raise TypeError(
            "SharedSpinLock lives in its own segment; use SpinLock.from_buffer() "
            "for a lock in a buffer of yours"
        )

    # The C methods, ahead of Closing's __enter__/__exit__ in the MRO.
    __enter__ = _RobustSpinLock.__enter__
    __exit__ = _RobustSpinLock.__exit__  # type: ignore[assignment]
    __reduce__ = _Shared.__reduce__

    def __repr__(self) -> str:
        owner = self.owner()
        state = f"locked by pid {owner}" if owner else "unlocked"
        return f"<{state} pyconc.ipc.SharedSpinLock {self._seg.name if self._seg else '(closed)'}>"


_lock_from_buffer = SpinLock.__dict__["from_buffer"]


# ------------------------------------------------------------------ channel

_end_send = lib.pc_shring_end_send
_end_recv1 = lib.pc_shring_end_recv1
_end_recv = lib.pc_shring_end_recv
_end_done = lib.pc_shring_end_done
_wait_send = lib.pc_shring_wait_send
_wait_recv = lib.pc_shring_wait_recv
_OK = lib.PC_SHRING_OK
_FULL = lib.PC_SHRING_FULL
_DISCONNECTED = lib.PC_SHRING_DISCONNECTED
_TOO_BIG = lib.PC_SHRING_TOO_BIG
_EMPTY = lib.PC_SHRING_EMPTY
_BUSY = lib.PC_SHRING_BUSY
_TOO_SMALL = lib.PC_SHRING_TOO_SMALL
_TIMEDOUT = 1  # PC_PARK_TIMEDOUT
_TRY = -1.0  # the timeout of the try_ calls: raise Empty/Full, not Timeout
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_dumps = pickle.dumps
_loads = pickle.loads
_buffer = ffi.buffer

class ReceiverGone(SendError, Disconnected):
    """Sending failed because the receiving side is gone.

    A Disconnected (as the issue asks of a cross-process channel) that is
    also a SendError carrying the unsent object in ``.value``, as
    ``pyconc.channel``'s Sender raises, so either ``except`` clause works.
    """


#: A private ring, closed for good: a closed Sender points at it, so that
#: its fast path fails without a check of its own.
_CLOSED_RING_MEM = ffi.new("char[]", lib.pc_shring_bytes(16))
_CLOSED_RING = ffi.cast("pc_shring_t *", _CLOSED_RING_MEM)
lib.pc_shring_init(_CLOSED_RING, 16, 0)
lib.pc_shring_close_receiver(_CLOSED_RING)

#: Live Senders of this process (for fork and exit).
_senders: "weakref.WeakSet[Sender]" = weakref.WeakSet()
_receivers: "weakref.WeakSet[Receiver]" = weakref.WeakSet()


def channel(capacity_bytes: int = 1 << 20) -> "tuple[Sender, Receiver]":
    """channel(capacity_bytes=1 MiB) -> (Sender, Receiver)

    A multi-producer, single-consumer channel between processes, over a
    ring of *capacity_bytes* (rounded up to a power of two, at least 1 KiB)
    in a shared-memory segment.  The ring is made of 64-byte cells, each
    carrying 56 bytes of a record (48 in a record's first, after its
    length): a small pickled message takes one cell.  One record may use
    the whole ring (``Sender.max_record_bytes``; at most 112 MiB).  Both ends can be passed to child processes (pickled by
    the segment's name; under ``fork`` they are inherited); Senders can be
    cloned.  See Sender and Receiver for the semantics of each operation,
    which mirror ``pyconc.channel``'s.
    """
    if isinstance(capacity_bytes, bool) or not isinstance(capacity_bytes, int):
        raise TypeError(
            f"capacity_bytes must be an int, not {type(capacity_bytes).__name__}"
        )
    if capacity_bytes <= 0:
        raise ValueError("capacity_bytes must be positive")
    cells = lib.pc_shring_cells_for(capacity_bytes) if capacity_bytes < 1 << 40 else 0
    if cells == 0:
        raise ValueError("capacity_bytes is too large (at most 4 GiB)")
    seg = _Segment.create(_KIND_CHANNEL, lib.pc_shring_bytes(cells))
    ring, keep = seg.body("pc_shring_t *", "channel")
    lib.pc_shring_init(ring, cells, _procs.pid)
    seg.acquire()  # for the Sender and the Receiver below
    return Sender._new(seg, ring, keep), Receiver._new(seg, ring, keep)


def _open_ring(seg: _Segment) -> tuple:
    ring, keep = seg.body("pc_shring_t *", "channel")
    if lib.pc_shring_check(ring, len(seg.mm) - _BODY) != 0:
        seg.release()
        raise ValueError(f"shared segment {seg.name!r} holds a damaged channel")
    return ring, keep


def _sender_end(ring: Any, slot: int) -> Any:
    end = ffi.new("pc_shring_end_t *")
    end.ring = ring
    end.slot = slot
    return end


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

    Each Sender holds one handle, counted in a slot of the ring for its
    process; ``clone()`` makes another, pickling carries one to the process
    that unpickles it, and a ``fork`` child gets its own for each Sender it
    inherits.  ``with tx:`` closes it at the end.  A handle in a pickle
    counts for the pickling process until it is unpickled, so that the
    receiver does not see the channel disconnected while a ``spawn`` child
    is starting; the price is that a pickle that is never unpickled (a
    child killed before it got that far) keeps the channel connected for
    as long as the pickling process lives.

    Thread safety (with or without the GIL): sends from any number of
    threads and processes are safe (each claims its space with one
    compare-and-swap in shared memory); the Python object changes only in
    ``close()``, under the module's bookkeeping lock, and a closed Sender's
    C state points at a ring that is closed for good, so a send racing
    with ``close()`` fails cleanly.
    """

    __slots__ = ("_seg", "_ring", "_keep", "_slot", "_pid", "_max", "_end", "__weakref__")

    @classmethod
    def _new(cls, seg: _Segment, ring: Any, keep: Any) -> "Sender":
        self = cls.__new__(cls)
        self._seg = seg
        self._ring = ring
        self._keep = keep
        self._pid = _procs.pid
        self._slot = lib.pc_shring_register(ring, self._pid)
        if self._slot < 0:
            self._seg = None
            seg.release()
            raise ChannelError(
                f"too many processes hold Senders of this channel "
                f"(at most {lib.PC_SHRING_SLOTS} at once)"
            )
        self._max = lib.pc_shring_max_payload(lib.pc_shring_cells(ring))
        self._end = _sender_end(ring, self._slot)
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
        ring, keep = _open_ring(seg)
        return cls._new(seg, ring, keep)

    def _fork_child(self, old_pid: int) -> None:
        slot = lib.pc_shring_register(self._ring, _procs.pid)
        lib.pc_shring_handles_add(self._ring, self._slot, old_pid, -1)
        self._pid = _procs.pid
        if slot < 0:  # pragma: no cover - 64 live processes
            self._seg, self._ring = None, _CLOSED_RING
            self._end.ring = _CLOSED_RING
        else:
            self._slot = slot
            self._end.slot = slot

    @property
    def name(self) -> str:
        """The channel's segment name."""
        return self._open_seg().name.lstrip("/")

    @property
    def max_record_bytes(self) -> int:
        """The largest record (pickled object or bytes) the ring takes."""
        return self._max

    @property
    def closed(self) -> bool:
        return self._seg is None

    def _open_seg(self) -> _Segment:
        seg = self._seg
        if seg is None:
            raise Disconnected("this Sender is closed")
        return seg

    # -- sending

    def send(self, obj: Any, timeout: Optional[float] = None) -> None:
        """send(obj, timeout=None) -> None

        Pickle *obj* and send it, waiting while the ring is full: without
        limit if *timeout* is None, else for at most *timeout* seconds
        (then Timeout; nothing is sent).  Raises Disconnected if the
        receiving side is gone, ValueError if the pickle is larger than the
        ring (``max_record_bytes``).  The wait releases the GIL and lets
        Ctrl-C through.
        """
        if timeout is not None:
            timeout = _timeout.seconds(timeout)
        data = _dumps(obj, _PROTOCOL)
        rc = _end_send(self._end, data, len(data))
        if rc:
            self._send_slow(rc, data, obj, timeout)

    def send_timeout(self, obj: Any, timeout: float) -> None:
        """send_timeout(obj, timeout) -> None: send() with a timeout."""
        self.send(obj, _timeout.seconds(timeout))

    def try_send(self, obj: Any) -> None:
        """try_send(obj) -> None

        Send *obj* if the ring has room, else raise Full (with the object
        in ``.value``) at once.  Disconnected and ValueError as send().
        """
        data = _dumps(obj, _PROTOCOL)
        rc = _end_send(self._end, data, len(data))
        if rc:
            self._send_slow(rc, data, obj, _TRY)

    def send_bytes(self, data: Any, timeout: Optional[float] = None) -> None:
        """send_bytes(data, timeout=None) -> None

        Send the bytes-like *data* as one record, unpickled (receive it
        with ``recv_bytes``).  Waiting and errors as send().
        """
        if timeout is not None:
            timeout = _timeout.seconds(timeout)
        if not isinstance(data, bytes):
            data = _as_bytes(data)
        rc = _end_send(self._end, data, len(data))
        if rc:
            self._send_slow(rc, data, data, timeout)

    def try_send_bytes(self, data: Any) -> None:
        """try_send_bytes(data) -> None: send_bytes() that raises Full
        instead of waiting."""
        if not isinstance(data, bytes):
            data = _as_bytes(data)
        rc = _end_send(self._end, data, len(data))
        if rc:
            self._send_slow(rc, data, data, _TRY)

    def send_many(self, objs: Iterable[Any], timeout: Optional[float] = None) -> int:
        """send_many(objs, timeout=None) -> int

        Send every object of the iterable *objs*, in order, as send() does
        (*timeout* applies to the whole call).  Returns how many were sent.
        On Timeout, Disconnected or ValueError, the objects before the
        failing one have been sent; the exception's ``sent`` attribute
        says how many.
        """
        c_end = self._end
        end = None if timeout is None else _timeout.deadline(_timeout.seconds(timeout))
        sent = 0  # (validated before anything is sent)
        try:
            for obj in objs:
                data = _dumps(obj, _PROTOCOL)
                rc = _end_send(c_end, data, len(data))
                if rc:
                    left = None if end is None else max(0.0, end - time.monotonic())
                    self._send_slow(rc, data, obj, left)
                sent += 1
        except (PyconcError, ValueError) as exc:
            exc.sent = sent  # type: ignore[attr-defined]
            raise
        return sent

    def _send_slow(self, rc: int, data: bytes, value: Any, timeout: Optional[float]) -> None:
        ring = self._ring
        while True:
            if self._seg is None:
                raise Disconnected("this Sender is closed")
            if rc == _TOO_BIG:
                raise ValueError(
                    f"record of {len(data)} bytes is larger than the channel's "
                    f"ring allows ({self._max} bytes); make the channel with a "
                    "larger capacity_bytes"
                )
            if rc == _DISCONNECTED:
                raise ReceiverGone(value, "the receiving side of the channel is gone")
            if self._pid != _procs.pid:  # pragma: no cover - fork hook failed
                raise ChannelError("this Sender could not be moved to this process")
            # Full.
            if timeout is _TRY:
                if lib.pc_shring_receiver_gone(ring, True):
                    raise ReceiverGone(value, "the receiving side of the channel is gone")
                raise Full(value)
            break
        end = _timeout.deadline(timeout)
        n = len(data)
        while True:
            ns = _timeout.slice_ns(end)
            if ns <= 0:
                raise Timeout("timed out waiting for room in the channel")
            waited = _wait_send(ring, n, ns)
            rc = _end_send(self._end, data, n)
            if rc == _OK:
                return
            if self._seg is None:
                raise Disconnected("this Sender is closed")
            if rc != _FULL:
                raise ReceiverGone(value, "the receiving side of the channel is gone")
            if waited == _TIMEDOUT and lib.pc_shring_receiver_gone(ring, True):
                raise ReceiverGone(
                    value, "the receiving side of the channel (its process) is gone"
                )

    # -- handles

    def clone(self) -> "Sender":
        """clone() -> Sender: another handle on the same channel."""
        seg = self._open_seg()
        lib.pc_shring_handles_add(self._ring, self._slot, self._pid, 1)
        seg.acquire()
        other = Sender.__new__(Sender)
        other._seg, other._ring, other._keep = seg, self._ring, self._keep
        other._slot, other._pid, other._max = self._slot, self._pid, self._max
        other._end = _sender_end(self._ring, self._slot)
        _senders.add(other)
        return other

    def close(self) -> None:
        """close() -> None

        Drop this handle.  When every Sender is gone, the receiver gets
        Disconnected after draining what was sent.  Sending on a closed
        Sender raises Disconnected; closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        if seg is None:
            return
        _senders.discard(self)
        ring, self._ring = self._ring, _CLOSED_RING
        self._end.ring = _CLOSED_RING
        if self._pid == _procs.pid:
            lib.pc_shring_handles_add(ring, self._slot, self._pid, -1)
        seg.release()  # the mapping stays while _keep does

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
        lib.pc_shring_handles_add(self._ring, self._slot, self._pid, 1)
        seg.share()
        return (_rebuild_sender, (seg.name, self._slot, self._pid))

    def __repr__(self) -> str:
        where = self._seg.name if self._seg else "(closed)"
        return f"<pyconc.ipc.Sender {where}>"


def _rebuild_sender(name: str, slot: int, pid: int) -> Sender:
    seg = _Segment.attach(name, _KIND_CHANNEL, pid)
    ring, keep = _open_ring(seg)
    tx = Sender._new(seg, ring, keep)
    lib.pc_shring_handles_add(ring, slot, pid, -1)  # the one in transit
    return tx


def _as_bytes(data: Any) -> bytes:
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise TypeError(
            f"send_bytes() takes a bytes-like object, not {type(data).__name__}"
        ) from None


class Receiver(Closing):
    """The receiving end of a ``pyconc.ipc.channel``.

    ``recv(timeout=None)`` returns the next object (unpickled);
    ``recv_bytes`` the next record as bytes.  Records from one Sender
    arrive in the order it sent them; records of different Senders in the
    order their senders claimed ring space.  A receive waits while the ring
    is empty (Timeout when *timeout* runs out) and raises Disconnected once
    it is empty and every Sender, in every process, is gone.  ``try_recv``
    raises Empty instead of waiting.  Iterating receives until
    Disconnected.

    One process receives at a time.  The receiving side belongs to the
    process that created the channel, moves with a pickled Receiver to the
    process that unpickles it, and to a ``fork`` child when that child
    first receives on its inherited copy; the Senders see it gone when
    that process closes it (``close()`` or its exit) or dies.  Garbage
    collection of a Receiver does not close the receiving side (a copy may
    live on in a child).

    A producer killed in the middle of a send leaves a record that is never
    committed; the receiver skips it once its process is found dead (after
    about 20 ms), and counts it in ``skipped``.

    Thread safety (with or without the GIL): receives from several
    threads are safe; each takes the Receiver's buffer (a ``busy`` word in
    its C state) for the time it copies a record out of the ring and
    unpickles it, and receives from several processes are serialised by a
    receive lock in shared memory.  The buffer is replaced (when a record
    needs a larger one) only by the thread that holds it.  Closing is
    under the module's bookkeeping lock.
    """

    __slots__ = (
        "_seg", "_ring", "_keep", "_pid", "_buf", "_bufsize", "_view", "_lens",
        "_moved", "_live", "_end", "__weakref__",
    )

    _BATCH = 256

    @classmethod
    def _new(cls, seg: _Segment, ring: Any, keep: Any) -> "Receiver":
        self = cls.__new__(cls)
        self._seg = seg
        self._ring = ring
        self._keep = keep
        self._pid = _procs.pid
        self._bufsize = 1 << 16
        self._buf = ffi.new("char[]", self._bufsize)
        self._view = memoryview(_buffer(self._buf))
        self._end = ffi.new("pc_shring_end_t *")
        self._end.ring = ring
        self._end.buf = self._buf
        self._end.bufsize = self._bufsize
        self._end.pid = self._pid
        self._lens = ffi.new("int64_t[]", cls._BATCH)
        self._moved = False
        self._live = True  # False: closed, moved, or inherited by fork (see _check)
        _receivers.add(self)
        return self

    @classmethod
    def attach(cls, name: str) -> "Receiver":
        """attach(name) -> Receiver

        Take the receiving side of the channel whose segment is *name*
        into this process.  Errors as Sender.attach().
        """
        seg = _Segment.attach(name, _KIND_CHANNEL)
        ring, keep = _open_ring(seg)
        rx = cls._new(seg, ring, keep)
        lib.pc_shring_set_receiver(ring, _procs.pid)
        return rx

    @property
    def name(self) -> str:
        """The channel's segment name."""
        self._check()
        return self._seg.name.lstrip("/")  # type: ignore[union-attr]

    @property
    def closed(self) -> bool:
        return self._seg is None

    @property
    def skipped(self) -> int:
        """Records skipped because their producer died while writing them."""
        self._check()
        out = ffi.new("uint64_t[4]")
        lib.pc_shring_stats(self._ring, out)
        return int(out[0])

    def _check(self) -> None:
        """Raise if this Receiver cannot receive; take the receiving side
        if this is a fork child's first receive."""
        if self._seg is None:
            raise Disconnected("this Receiver is closed")
        if self._moved:
            raise ChannelError("this Receiver was pickled to another process")
        if self._pid != _procs.pid:
            # A fork child receiving on its inherited copy: take the
            # receiving side.
            self._pid = self._end.pid = _procs.pid
            lib.pc_shring_set_receiver(self._ring, self._pid)
        self._live = True

    def __len__(self) -> int:
        """Records waiting in the ring (including any being written)."""
        self._check()
        return int(lib.pc_shring_len(self._ring))

    # -- receiving

    # Every receive follows one protocol (pc_shring_end_t in pc_shring.h):
    # the C call takes the buffer (busy) when it returns a record in it;
    # we read the record out and give the buffer back with _end_done.  A
    # thread that finds the buffer busy backs off and tries again.

    def recv(self, timeout: Optional[float] = None) -> Any:
        """recv(timeout=None) -> object

        Receive the next record and unpickle it, waiting while the ring is
        empty: without limit if *timeout* is None, else for at most
        *timeout* seconds (then Timeout).  Raises Disconnected when the
        ring is empty and every Sender is gone.  The wait releases the GIL
        and lets Ctrl-C through.
        """
        if not self._live:
            self._check()
        if timeout is not None:
            timeout = _timeout.seconds(timeout)
        end = self._end
        n = _end_recv1(end)
        if n < 0:
            n = self._recv1_slow(n, timeout)
        try:
            return _loads(self._view[:n])
        finally:
            _end_done(end)

    def recv_timeout(self, timeout: float) -> Any:
        """recv_timeout(timeout) -> object: recv() with a timeout."""
        return self.recv(_timeout.seconds(timeout))

    def try_recv(self) -> Any:
        """try_recv() -> object

        The next object if one is waiting; else Empty, or Disconnected if
        every Sender is gone.
        """
        if not self._live:
            self._check()
        end = self._end
        n = _end_recv1(end)
        if n < 0:
            n = self._recv1_slow(n, _TRY)
        try:
            return _loads(self._view[:n])
        finally:
            _end_done(end)

    def recv_bytes(self, timeout: Optional[float] = None) -> bytes:
        """recv_bytes(timeout=None) -> bytes

        As recv(), but return the record's bytes as they were sent.
        """
        if not self._live:
            self._check()
        if timeout is not None:
            timeout = _timeout.seconds(timeout)
        end = self._end
        n = _end_recv1(end)
        if n < 0:
            n = self._recv1_slow(n, timeout)
        try:
            return self._view[:n].tobytes()
        finally:
            _end_done(end)

    def try_recv_bytes(self) -> bytes:
        """try_recv_bytes() -> bytes: try_recv() without unpickling."""
        if not self._live:
            self._check()
        end = self._end
        n = _end_recv1(end)
        if n < 0:
            n = self._recv1_slow(n, _TRY)
        try:
            return self._view[:n].tobytes()
        finally:
            _end_done(end)

    def recv_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[Any]:
        """recv_many(max_items=256, timeout=None) -> list

        Wait as recv() does for at least one object, then return it with
        the others already waiting, up to *max_items*, in order (one call
        into C for up to 256 records).  Timeout and Disconnected as
        recv().
        """
        return self._many(max_items, timeout, True)

    def recv_bytes_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[bytes]:
        """recv_bytes_many(max_items=256, timeout=None) -> list of bytes:
        recv_many() without unpickling."""
        return self._many(max_items, timeout, False)

    def _many(self, max_items: int, timeout: Optional[float], decode: bool) -> list:
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items must be an int, not {type(max_items).__name__}")
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._check()
        if timeout is not None:
            timeout = _timeout.seconds(timeout)
        end = self._end
        out: list = []
        want = min(max_items, self._BATCH)
        n = _end_recv(end, self._lens, want)
        if n < 1:
            n = self._recv_slow(n, timeout, want)
        while True:
            # Here we hold the buffer, with n records in it.
            try:
                mv, lens, off = self._view, self._lens, 0
                for i in range(n):
                    size = lens[i]
                    chunk = mv[off:off + size]
                    out.append(_loads(chunk) if decode else chunk.tobytes())
                    off += size
            finally:
                _end_done(end)
            if len(out) >= max_items:
                return out
            want = min(max_items - len(out), self._BATCH)
            n = _end_recv(end, self._lens, want)
            if n == _TOO_SMALL:
                self._grow(self._lens[0])
                _end_done(end)
                continue
            if n < 1:
                return out  # (EMPTY or BUSY: what we have is enough)

    def _grow(self, need: int) -> None:
        """Replace the buffer by one of at least *need* bytes (the caller
        holds it)."""
        size = self._bufsize
        while size < need:
            size *= 2
        buf = ffi.new("char[]", size)
        self._buf, self._view, self._bufsize = buf, memoryview(_buffer(buf)), size
        self._end.buf, self._end.bufsize = buf, size

    def _recv1_slow(self, n: int, timeout: Optional[float]) -> int:
        """_recv_slow for one record: its length (the buffer held)."""
        if n <= -4:  # too small: -4 - the length needed; we hold the buffer
            self._grow(-4 - n)
            _end_done(self._end)
            n = _end_recv(self._end, self._lens, 1)
        self._recv_slow(n, timeout, 1)
        return self._lens[0]

    def _recv_slow(self, n: int, timeout: Optional[float], want: int) -> int:
        """Wait until a receive returns records: their number, with the
        buffer held.  Raise Empty, Timeout or Disconnected."""
        ring, end = self._ring, self._end
        deadline = None
        started = False
        while True:
            if n >= 1:
                return n
            if self._seg is None:  # closed by another thread meanwhile
                raise Disconnected("this Receiver is closed")
            if n == _TOO_SMALL:  # we hold the buffer
                self._grow(self._lens[0])
                _end_done(end)
            elif n == _EMPTY:
                if lib.pc_shring_senders(ring, False) == 0 and lib.pc_shring_is_empty(ring):
                    raise Disconnected("every Sender of the channel is gone")
                if timeout is _TRY:
                    raise Empty("the channel is empty")
                if not started:
                    started = True
                    deadline = _timeout.deadline(timeout)
                ns = _timeout.slice_ns(deadline)
                if ns <= 0:
                    raise Timeout("timed out waiting for a record")
                if _wait_recv(ring, ns) == _TIMEDOUT:
                    # Nothing for a while: look for Senders that died.
                    if lib.pc_shring_senders(ring, True) == 0 and lib.pc_shring_is_empty(ring):
                        raise Disconnected("every Sender of the channel is gone")
            else:  # _BUSY: another thread (or process) is receiving
                if not started:
                    started = True
                    # A try_ call waits for the other receive a little.
                    deadline = _timeout.deadline(0.05 if timeout is _TRY else timeout)
                if deadline is not None and time.monotonic() >= deadline:
                    if timeout is _TRY:
                        raise Empty("another thread is receiving")
                    raise Timeout("timed out waiting for a record")
                time.sleep(0.00005)
            n = _end_recv(end, self._lens, want)

    def __iter__(self) -> "Receiver":
        """Iterating receives objects until the channel is disconnected and
        empty (``for x in rx``); ``async for`` does the same with
        recv_async()."""
        return self

    def __next__(self) -> Any:
        try:
            return self.recv()
        except Disconnected:
            raise StopIteration from None

    def __aiter__(self) -> "Receiver":
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.recv_async()
        except Disconnected:
            raise StopAsyncIteration from None

    def try_iter(self) -> Iterator[Any]:
        """try_iter(): yield the objects waiting now, without waiting."""
        while True:
            try:
                yield self.try_recv()
            except (Empty, Disconnected):
                return

    async def recv_async(self, timeout: Optional[float] = None) -> Any:
        """recv_async(timeout=None) -> object

        Await the next object without blocking the event loop: polls with
        try_recv, sleeping from 50 us up to 5 ms between attempts (a shared
        futex cannot be watched by an event loop).  Cancelling it loses
        nothing.  Timeout and Disconnected as recv().
        """
        import asyncio  # here: it takes longer to import than all of pyconc

        end = _timeout.deadline(None if timeout is None else _timeout.seconds(timeout))
        nap = 0.00005
        while True:
            try:
                return self.try_recv()
            except Empty:
                pass
            if end is not None and time.monotonic() >= end:
                raise Timeout("timed out waiting for a record")
            await asyncio.sleep(nap)
            nap = min(nap * 2, 0.005)

    # -- handles

    def close(self) -> None:
        """close() -> None

        Close the receiving side, if this process holds it: Senders then
        raise Disconnected, and what was not received is lost.  In any
        other process, just drop this copy.  Receiving on a closed Receiver
        raises Disconnected; closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is None:
            return
        _receivers.discard(self)
        if not self._moved and lib.pc_shring_receiver(self._ring) == _procs.pid == self._pid:
            lib.pc_shring_close_receiver(self._ring)
        seg.release()

    def _drop(self) -> None:
        """Let go of the mapping without closing the receiving side."""
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is not None:
            _receivers.discard(self)
            seg.release()

    def __del__(self) -> None:
        try:
            self._drop()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __reduce__(self) -> Any:
        self._check()
        self._seg.share()  # type: ignore[union-attr]
        self._moved = True
        self._live = False
        return (_rebuild_receiver, (self._seg.name, _procs.pid))  # type: ignore[union-attr]

    def __repr__(self) -> str:
        where = self._seg.name if self._seg else "(closed)"
        return f"<pyconc.ipc.Receiver {where}>"


def _rebuild_receiver(name: str, carried_by: int) -> Receiver:
    seg = _Segment.attach(name, _KIND_CHANNEL, carried_by)
    ring, keep = _open_ring(seg)
    rx = Receiver._new(seg, ring, keep)
    lib.pc_shring_set_receiver(ring, _procs.pid)
    return rx


# ------------------------------------------------------- fork and process exit

_fork_pid = [0]


def _before_fork() -> None:
    _fork_pid[0] = _procs.pid
    # References for the child's copies, taken before the child exists so
    # that no count can reach zero in between; the child moves them to its
    # own entries.
    for seg in list(_segments):
        _users_add(seg.table, _NUSERS, _procs.pid, 1)
    for tx in list(_senders):
        if tx._seg is not None:
            lib.pc_shring_handles_add(tx._ring, tx._slot, tx._pid, 1)


def _after_fork_child() -> None:
    old = _fork_pid[0]
    _created.clear()  # the child created none of them
    for seg in list(_segments):
        _users_add(seg.table, _NUSERS, _procs.pid, 1)
        _users_add(seg.table, _NUSERS, old, -1)
    for tx in list(_senders):
        if tx._seg is not None:
            tx._fork_child(old)
    for rx in list(_receivers):
        rx._live = False  # the first receive here takes the receiving side


def _at_exit() -> None:
    """Close what this process holds; unlink what it created."""
    pid = os.getpid()
    for rx in list(_receivers):
        if rx._seg is not None and not rx._moved and rx._pid == pid:
            if lib.pc_shring_receiver(rx._ring) == pid:
                lib.pc_shring_close_receiver(rx._ring)
        rx._drop()
    for tx in list(_senders):
        tx.close()
    for seg in list(_segments):
        seg.refs = 1
        seg.release()
    for name, creator in list(_created.items()):
        if creator == pid:
            _unlink(name)


class _ExitHook:
    """Keeps _at_exit registered with multiprocessing in fork children
    (whose finalizer registry is cleared when they start)."""

    def __call__(self, _obj: object) -> None:
        util.Finalize(None, _at_exit, exitpriority=100)


_exit_hook = _ExitHook()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)
atexit.register(_at_exit)  # the main process, and spawn children
util.Finalize(None, _at_exit, exitpriority=100)  # multiprocessing children
util.register_after_fork(_exit_hook, _exit_hook)
