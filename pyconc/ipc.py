"""pyconc.ipc: atomics, a robust spin lock and an MPSC channel between processes.

Everything here lives in a POSIX shared-memory segment (``shm_open``; the
files in /dev/shm on Linux) that the object creates, and moves to another
process by pickling, which sends only the segment's name: pass the objects
to ``multiprocessing`` children as arguments, under the ``fork``, ``forkserver`` and
``spawn`` start methods alike (see "Fork children" below).

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
killed, ``sweep_segments()`` (which pyconc runs, at most once a second,
whenever it creates a segment) or, at the latest, ``multiprocessing``'s
resource tracker when it stops removes it.  A segment's memory is
reserved when it is made (``posix_fallocate``): a /dev/shm too small for
it raises OSError (ENOSPC) there, never SIGBUS later.  After the name is gone, pickled copies can no longer be opened
(FileNotFoundError).  A pickle that is never unpickled keeps its reference
for as long as the process that pickled it lives.

Closed objects.  ``close()`` gives up the object's reference; the object
keeps its mapping (so nothing can crash) until it is garbage collected.
The atomics and the lock keep working on that mapping; a closed Sender or
Receiver raises ``HandleClosed`` (the rule of ``pyconc.errors``).  The
channel's ends keep their mapping in a ``pyconc._core.IpcHandle``, a C
type that exposes no address.

Fork children.  A ``multiprocessing`` child gets the same handles under
every start method: those ``spawn`` would send it, i.e. the Senders and
Receivers reachable from its Process object (``target``, ``args``,
``kwargs``, attributes of a Process subclass, through tuples, lists,
dicts, sets, ``functools.partial``, bound methods and objects'
attributes).  Under ``fork`` the child inherits every object of its
parent, but a Sender it was not passed is *dormant* there: it holds no
handle, so it does not keep the channel open (``closed`` is True, and
sending, cloning or pickling it raises HandleClosed saying what to do).
That is what makes a pipeline written as for ``spawn`` work under
``fork``: the middle stage of ``a -> b -> c`` inherits the parent's
Sender of its own input, which would otherwise keep that input connected
for ever.  To let fork children use a Sender they reach another way (a
module global, a closure), mark it in the parent before starting them:
``tx.set_inheritable(True)``.  A Receiver passed to a fork child moves to
it on the child's first receive; closing the parent's copy while that
child runs leaves the receiving side to it (as closing a pickled Receiver
does under ``spawn``).  The decision is taken in the parent, as
``Process.start()`` forks (the fork hook finds the Process object in
``multiprocessing``'s fork ``Popen``), so no count can drop to zero in
between; the walk looks at 100,000 objects at most, and a child whose
Process reaches more keeps every Sender it inherits.  A child of a bare ``os.fork()`` has no Process object: it keeps
every Sender it inherits, as it keeps file descriptors; close those it does
not use.

Several consumer processes.  ``channel()`` has one receiving side, held
by one process at a time (it moves with a pickled Receiver, or to a fork
child on its first receive).  The ring itself would hand each record to
exactly one receiver (receives are serialised by a receive lock in shared
memory), but the rest of the protocol is single-consumer: the Senders
watch one receiving process (``rx_pid``) for liveness and see the channel
gone when it closes or dies, the consumer's eventcount wakes one waiter,
and a consumer that dies holding the receive lock is recovered by the
next one to receive as the *same* receiving side.  For a pool of consumer
processes, give each worker a channel of its own and let the producer (or
one dispatcher process reading the shared channel) choose, or use
``multiprocessing.Queue``, which is multi-consumer.

POSIX only (Linux, macOS).  Process ids name the owners of locks and the
ends of channels; the limits of that (pid reuse, pid namespaces) are
described in ``csrc/pc_ipc.h``.
"""

from __future__ import annotations

import atexit
import errno
import functools
import mmap
import os
import secrets
import sys
import threading
import time
import types
import weakref
from multiprocessing import resource_tracker, util
from types import GenericAlias
from typing import Any, Iterable, Iterator, List, Optional, Set

from pyconc import _async, _core, _procs, _timeout
from pyconc._buffer import cell_in_buffer
from pyconc._closing import Closing
from pyconc._generic import subscriptable
from pyconc._native import lib
from pyconc._ordering import RELAXED
from pyconc.atomic import VIEW_TYPES, AtomicBool, AtomicInt, AtomicUInt
from pyconc.errors import (
    ChannelError,
    HandleClosed,
    PyconcError,
    Disconnected,
    Empty,
    OwnerDied,
    SendError,
    Timeout,  # noqa: F401  (re-exported: pyconc.ipc.Timeout)
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
    "MAX_SENDER_PROCESSES",
    "sweep_segments",
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
_IpcHandle = _core.IpcHandle

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


def _reserve(fd: int, size: int, name: str) -> None:
    """Give the new segment its *size* bytes, and have the memory behind
    them now: a tmpfs that runs out later does not fail the write, it
    kills the writer with SIGBUS.  posix_fallocate where the system has it
    (Linux); elsewhere ftruncate alone."""
    os.ftruncate(fd, size)
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None:  # pragma: no cover - macOS
        return
    try:
        fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.ENOMEM, errno.EFBIG):
            raise OSError(
                errno.ENOSPC,
                f"not enough shared memory for a segment of {size} bytes "
                f"({os.strerror(exc.errno)}): /dev/shm (or the system's shared "
                "memory) is too small or full; free some, or ask for less",
            ) from None
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        # A file system without fallocate: as ftruncate alone.


class _Segment:
    """One mapping of a segment in this process, shared by the Python
    objects of this process that use it (``refs`` of them).  The segment's
    users table counts one reference for this process while refs > 0.
    ``handle`` (a ``pyconc._core.IpcHandle``) keeps the mapping exported
    and is the only way to the table: no address is kept in Python."""

    __slots__ = ("name", "kind", "mm", "handle", "refs", "__weakref__")

    def __init__(self, name: str, kind: int, mm: mmap.mmap) -> None:
        self.name = name
        self.kind = kind
        self.mm = mm
        self.handle = _IpcHandle(mm, _TABLE, _NUSERS, -1)
        self.refs = 1
        _segments.add(self)

    @classmethod
    def create(cls, kind: int, body: int) -> "_Segment":
        _need_posix()
        _sweep_now_and_then()
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
            _reserve(fd, size, name)
            mm = mmap.mmap(fd, size)
        except BaseException:
            _posixshmem.shm_unlink(name)
            raise
        finally:
            os.close(fd)
        mm[16:24] = os.getpid().to_bytes(8, "little")
        mm[24:32] = body.to_bytes(8, "little")
        mm[8:12] = kind.to_bytes(4, "little")
        mm[0:8] = _MAGIC
        self = cls(name, kind, mm)
        self.handle.users_add(_procs.pid, 1)
        _created[name] = os.getpid()
        # If this process is killed, the resource tracker (a process of its
        # own) unlinks the segment when it stops; sweep_segments() in any
        # other pyconc process, sooner.
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
        if not self.handle.users_add(_procs.pid, 1):
            raise ChannelError(
                f"too many processes use shared segment {name!r} (at most {_NUSERS})"
            )
        if carried_by:
            self.handle.users_add(carried_by, -1)
        return self

    def body(self, ctype: str, what: str) -> tuple:
        return cell_in_buffer(self.mm, _BODY, ctype, what)

    def ring(self, new_cells: int = 0) -> Any:
        """A new IpcHandle on the channel ring in the body (laying out a new
        ring of *new_cells* cells first, if given)."""
        try:
            return _IpcHandle(self.mm, _TABLE, _NUSERS, _BODY, new_cells, _procs.pid)
        except ValueError:
            raise ValueError(f"shared segment {self.name!r} holds a damaged channel") from None

    def share(self) -> None:
        """A pickle is about to carry a reference to another process."""
        self.handle.users_add(_procs.pid, 1)

    def release(self) -> None:
        """One Python object of this process stops using the segment."""
        with _state:
            self.refs -= 1
            if self.refs != 0:
                return
            _segments.discard(self)
        self.handle.users_add(_procs.pid, -1)
        if self.handle.users_live() == 0:
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


_SHM_DIR = "/dev/shm"
_last_sweep = [0.0]


def sweep_segments() -> List[str]:
    """sweep_segments() -> list of names

    Unlink every pyconc segment in /dev/shm that no live process uses: its
    creator is dead and no live process holds a reference (those of killed
    processes do not count).  A segment normally goes when its last user
    lets it go, or when its creator exits; a segment whose creator was
    killed (SIGKILL) before any other process attached it has nobody left
    to do that, and is removed here (or, at the latest, by
    ``multiprocessing``'s resource tracker when it stops).  pyconc calls
    this itself, at most once a second, when it creates a segment.
    Returns the names removed.  Linux only (elsewhere: nothing).
    """
    removed: List[str] = []
    try:
        names = [n for n in os.listdir(_SHM_DIR) if n.startswith("pc_")]
    except OSError:  # pragma: no cover - no /dev/shm (macOS)
        return removed
    for n in names:
        try:
            fd = os.open(os.path.join(_SHM_DIR, n), os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            if os.fstat(fd).st_size < _BODY + 8:
                continue
            mm = mmap.mmap(fd, _BODY)
        except OSError:  # pragma: no cover - raced with its removal
            continue
        finally:
            os.close(fd)
        try:
            if mm[0:8] != _MAGIC:
                continue
            creator = int.from_bytes(mm[16:24], "little")
            if creator < (1 << 32) and lib.pc_ipc_pid_alive(creator):
                continue
            h = _IpcHandle(mm, _TABLE, _NUSERS, -1)
            live = h.users_live()
            del h
            if live == 0:
                try:
                    _posixshmem.shm_unlink("/" + n)
                    removed.append(n)
                except FileNotFoundError:
                    pass
        finally:
            mm.close()
    return removed


def _sweep_now_and_then() -> None:
    now = time.monotonic()
    if now - _last_sweep[0] >= 1.0:
        _last_sweep[0] = now
        try:
            sweep_segments()
        except Exception:  # pragma: no cover - never fail a creation for it
            pass


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
    # A Python subclass of the C view type (what base.from_buffer returns):
    # the methods are the C ones, working on the cell in the segment, and
    # the view keeps the mapping exported, so alive, for as long as the
    # object exists (close() only gives up the segment's bookkeeping).
    view = VIEW_TYPES[base]

    def __new__(cls, value=0 if base is not AtomicBool else False):
        probe = base(value)  # validates value before a segment exists
        return cls._from_segment(_Segment.create(kind, 8), probe.load(RELAXED))

    @classmethod
    def _from_segment(cls, seg, value=None):
        try:
            self = cls.from_buffer(seg.mm, _BODY)
        except BaseException:
            seg.release()  # nothing else will: the object does not exist
            raise
        self._seg = seg
        if value is not None:
            self.store(value, RELAXED)
        return self

    def __repr__(self):
        state = " closed" if self._seg is None else ""
        return f"{type(self).__name__}({self.load(RELAXED)!r}{state})"

    name = "Shared" + base.__name__
    cls = type(
        name,
        (_Shared, view),
        {
            "__slots__": ("_seg",),
            "__doc__": doc,
            "__new__": __new__,
            "_from_segment": _from_segment,
            "__repr__": __repr__,
            "__reduce__": _Shared.__reduce__,
            "_KIND": kind,
            "__module__": __name__,
        },
    )
    cls.__new__.__qualname__ = f"{name}.__new__"
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
_receivers: "weakref.WeakSet[Receiver]" = weakref.WeakSet()

#: Producer processes that may hold Senders of one channel at once.
MAX_SENDER_PROCESSES = lib.PC_SHRING_SLOTS


def channel(capacity_bytes: int = 1 << 20) -> "tuple[Sender, Receiver]":
    """channel(capacity_bytes=1 MiB) -> (Sender, Receiver)

    A multi-producer, single-consumer channel between processes, over a
    ring of *capacity_bytes* (rounded up to a power of two, at least 1 KiB)
    in a shared-memory segment.  The ring is made of 64-byte cells, each
    carrying 56 bytes of a record (48 in a record's first, after its
    length): a small pickled message takes one cell.  One record may use
    the whole ring (``Sender.max_record_bytes``; at most 112 MiB).  Both
    ends can be passed to child processes (pickled by the segment's name;
    under ``fork`` they are inherited); Senders can be cloned.  At most
    ``MAX_SENDER_PROCESSES`` (256) processes hold Senders at once; the
    slot of a process that died, even in the middle of a send, is reused,
    so over its life a channel serves any number of producer processes.
    See Sender and Receiver for the semantics of each operation, which
    mirror ``pyconc.channel``'s.  The shared memory is reserved when the
    channel is made: OSError (ENOSPC) if /dev/shm cannot hold it.
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
    try:
        c = seg.ring(cells)
    except BaseException:
        seg.release()
        raise
    seg.acquire()  # for the Sender and the Receiver below
    tx = Sender._new(seg, c)
    rx = Receiver._new(seg, seg.ring())
    rx._c.set_receiver(_procs.pid)
    return tx, rx


# ipc.channel[int](): the item is for type checkers (pyconc/_generic.py).
channel = subscriptable(channel)


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


class Receiver(Closing):
    """The receiving end of a ``pyconc.ipc.channel``.

    ``recv(timeout=None)`` returns the next object (unpickled);
    ``recv_bytes`` the next record as bytes.  Records from one Sender
    arrive in the order it sent them; records of different Senders in the
    order their senders claimed ring space.  A receive waits while the ring
    is empty (Timeout when *timeout* runs out) and raises Disconnected once
    it is empty and every Sender, in every process, is gone.  ``try_recv``
    raises Empty instead of waiting.  Iterating receives until
    Disconnected.  Receiving on a Receiver closed with ``close()`` raises
    HandleClosed.

    A record that cannot be unpickled (its class not importable here, a
    raising ``__setstate__``, a ``send_bytes`` record) raises the
    unpickling error with the record's bytes in the exception's ``.data``;
    in ``recv_many`` the records before it are returned first and those
    after it stay queued for the next receive: nothing is lost.

    One process receives at a time.  The receiving side belongs to the
    process that created the channel, moves with a pickled Receiver to the
    process that unpickles it, and to a ``fork`` child when that child
    first *receives* on its inherited copy (looking at it, ``len(rx)``,
    ``rx.name``, ``rx.skipped``, takes nothing); the Senders see it gone
    when that process closes it (``close()`` or its exit) or dies.  A
    process that takes the receiving side over from one that died in the
    middle of a receive repairs what it left (see ``csrc/pc_shring.h``);
    the records the dead one had taken out are lost with it.  Garbage
    collection of a Receiver does not close the receiving side (a copy may
    live on in a child).

    A producer killed in the middle of a send leaves a record that is never
    committed; the receiver skips it once its process is found dead (after
    about 20 ms), and counts it in ``skipped``.

    Thread safety (with or without the GIL): receives from several
    threads are safe; each takes the C handle's buffer (an atomic ``busy``
    word) for the time it copies records out of the ring into bytes
    objects (never while unpickling them), and receives from several
    processes are serialised by a receive lock in shared memory.  Closing
    is under the module's bookkeeping lock.
    """

    __slots__ = ("_seg", "_c", "_pid", "_moved", "_live", "_lent", "__weakref__")

    __class_getitem__ = classmethod(_class_getitem)

    _BATCH = 256

    @classmethod
    def _new(cls, seg: _Segment, c: Any) -> "Receiver":
        self = cls.__new__(cls)
        self._seg = seg
        self._c = c
        self._pid = _procs.pid
        self._moved = False
        self._live = True  # False: closed, moved, or inherited by fork (see _claim)
        self._lent: List[Any] = []  # weak references to fork children passed it
        _receivers.add(self)
        return self

    def _lent_to(self, proc: object) -> None:
        """A multiprocessing child being forked is passed this Receiver."""
        with _state:
            self._lent = [r for r in self._lent if r() is not None]
            self._lent.append(weakref.ref(proc))

    def _lent_out(self) -> bool:
        """True while a fork child that was passed this Receiver runs: it
        takes the receiving side on its first receive, so closing our copy
        must not close the side under it."""
        for ref in self._lent:
            proc = ref()
            try:
                if proc is not None and proc.is_alive():  # type: ignore[attr-defined]
                    return True
            except (AssertionError, ValueError, OSError):  # not our child, or closed
                continue
        return False

    @classmethod
    def attach(cls, name: str) -> "Receiver":
        """attach(name) -> Receiver

        Take the receiving side of the channel whose segment is *name*
        into this process.  Errors as Sender.attach().
        """
        seg = _Segment.attach(name, _KIND_CHANNEL)
        rx = cls._new(seg, _open_ring(seg))
        rx._c.set_receiver(_procs.pid)
        return rx

    @property
    def name(self) -> str:
        """The channel's segment name."""
        return self._open_seg().name.lstrip("/")

    @property
    def closed(self) -> bool:
        return self._seg is None

    @property
    def skipped(self) -> int:
        """Records skipped because their producer died while writing them."""
        self._open_seg()
        return self._c.stats()[0]

    def _open_seg(self) -> _Segment:
        """Raise if this Receiver is closed (a look: claims nothing)."""
        seg = self._seg
        if seg is None:
            raise HandleClosed("this Receiver is closed")
        return seg

    def _claim(self) -> None:
        """Raise if this Receiver cannot receive; take the receiving side
        if this is a fork child's first receive."""
        self._open_seg()
        if self._moved:
            raise ChannelError("this Receiver was pickled to another process")
        if self._pid != _procs.pid:
            # A fork child receiving on its inherited copy: take the
            # receiving side.
            self._pid = _procs.pid
            self._c.set_receiver(self._pid)
        self._live = True

    def __len__(self) -> int:
        """Records waiting in the ring (including any being written)."""
        self._open_seg()
        return self._c.len()

    # -- receiving

    def recv(self, timeout: Optional[float] = None) -> Any:
        """recv(timeout=None) -> object

        Receive the next record and unpickle it, waiting while the ring is
        empty: without limit if *timeout* is None, else for at most
        *timeout* seconds (then Timeout).  Raises Disconnected when the
        ring is empty and every Sender is gone.  The wait releases the GIL
        and lets Ctrl-C through.
        """
        if not self._live:
            self._claim()
        return self._c.recv(timeout)

    def recv_timeout(self, timeout: float) -> Any:
        """recv_timeout(timeout) -> object: recv() with a timeout."""
        if not self._live:
            self._claim()
        return self._c.recv(_timeout.seconds(timeout))

    def try_recv(self) -> Any:
        """try_recv() -> object

        The next object if one is waiting; else Empty, or Disconnected if
        every Sender is gone.
        """
        if not self._live:
            self._claim()
        return self._c.try_recv()

    def recv_bytes(self, timeout: Optional[float] = None) -> bytes:
        """recv_bytes(timeout=None) -> bytes

        As recv(), but return the record's bytes as they were sent.
        """
        if not self._live:
            self._claim()
        return self._c.recv_bytes(timeout)

    def try_recv_bytes(self) -> bytes:
        """try_recv_bytes() -> bytes: try_recv() without unpickling."""
        if not self._live:
            self._claim()
        return self._c.try_recv_bytes()

    def recv_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[Any]:
        """recv_many(max_items=256, timeout=None) -> list

        Wait as recv() does for at least one object, then return it with
        the others already waiting, up to *max_items*, in order (one call
        into C for up to 256 records).  Timeout and Disconnected as
        recv().  A record that cannot be unpickled ends the batch: the
        objects before it are returned; the next call raises its error
        (with its bytes in ``.data``), and the records after it come
        after.
        """
        if not self._live:
            self._claim()
        return self._c.recv_many(max_items, timeout, True)

    def recv_bytes_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[bytes]:
        """recv_bytes_many(max_items=256, timeout=None) -> list of bytes:
        recv_many() without unpickling."""
        if not self._live:
            self._claim()
        return self._c.recv_many(max_items, timeout, False)

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

        Await the next object without blocking the event loop, and without
        polling: while coroutines of this process await this Receiver, one
        watcher thread (per Receiver, not per await) waits on the ring's
        shared futex, which the Senders' processes signal, and wakes the
        coroutines through their event loops' file descriptors
        (``pyconc/_async.py``).  Cancelling it loses nothing (an object is
        taken only when the coroutine resumes).  Timeout and Disconnected
        as recv().
        """
        return await _async.ipc_recv(self, timeout)

    # -- handles

    def close(self) -> None:
        """close() -> None

        Close the receiving side, if this process holds it: Senders then
        raise Disconnected, and what was not received is lost.  In any
        other process, just drop this copy.  Receiving on a closed Receiver
        raises HandleClosed; closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is None:
            return
        _receivers.discard(self)
        _async.ipc_stop(self)  # its asyncio watcher, before the ring goes
        c = self._c
        c.close()
        if (not self._moved and c.receiver() == _procs.pid == self._pid
                and not self._lent_out()):
            c.close_receiver()
        seg.release()

    def _drop(self) -> None:
        """Let go of the mapping without closing the receiving side."""
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is not None:
            _receivers.discard(self)
            _async.ipc_stop(self)  # its asyncio watcher, before the ring goes
            self._c.close()
            seg.release()

    def __del__(self) -> None:
        try:
            self._drop()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __copy__(self) -> "Receiver":
        raise TypeError(
            "a Receiver cannot be copied: there is one receiving side; pickle "
            "it to move it to another process"
        )

    def __deepcopy__(self, memo: Any) -> "Receiver":
        return self.__copy__()

    def __reduce__(self) -> Any:
        self._claim()
        self._seg.share()  # type: ignore[union-attr]
        self._moved = True
        self._live = False
        return (_rebuild_receiver, (self._seg.name, _procs.pid))  # type: ignore[union-attr]

    def __repr__(self) -> str:
        where = self._seg.name if self._seg else "(closed)"
        return f"<pyconc.ipc.Receiver {where}>"


def _rebuild_receiver(name: str, carried_by: int) -> Receiver:
    seg = _Segment.attach(name, _KIND_CHANNEL, carried_by)
    rx = Receiver._new(seg, _open_ring(seg))
    rx._c.set_receiver(_procs.pid)
    return rx


# ------------------------------------------------------- fork and process exit

_fork_pid = [0]


def _before_fork() -> None:
    _fork_pid[0] = _procs.pid
    _fork_passed[0] = None
    try:
        proc = _process_being_forked()
        passed = None if proc is None else _handles_reachable(proc)
    except Exception:  # pragma: no cover - never fail a fork for it: keep all
        proc, passed = None, None
    _fork_passed[0] = passed
    # References for the child's copies, taken before the child exists so
    # that no count can reach zero in between; the child moves them to its
    # own entries.
    for seg in list(_segments):
        seg.handle.users_add(_procs.pid, 1)
    for tx in list(_senders):
        if tx._seg is not None and tx._slot >= 0 and tx._kept_by_child(passed):
            tx._c.handles_add(tx._slot, tx._pid, 1)
    if proc is not None and passed:
        for rx in list(_receivers):
            if id(rx) in passed and rx._seg is not None:
                rx._lent_to(proc)


def _after_fork_child() -> None:
    old = _fork_pid[0]
    _created.clear()  # the child created none of them
    for seg in list(_segments):
        seg.handle.users_add(_procs.pid, 1)
        seg.handle.users_add(old, -1)
    passed = _fork_passed[0]
    for tx in list(_senders):
        if tx._seg is None:
            continue
        if tx._kept_by_child(passed):
            tx._fork_child(old)
        else:
            tx._make_dormant()
    for rx in list(_receivers):
        rx._lent = []
        rx._live = False  # the first receive here takes the receiving side


def _at_exit() -> None:
    """Close what this process holds; unlink what it created."""
    pid = os.getpid()
    for rx in list(_receivers):
        if rx._seg is not None and not rx._moved and rx._pid == pid:
            if rx._c.receiver() == pid:
                rx._c.close_receiver()
        rx._drop()
    for tx in list(_senders):
        tx.close()
    for seg in list(_segments):
        seg.refs = 1
        seg.release()
    for name, creator in list(_created.items()):
        if creator == pid:
            _unlink(name)


def _handles_reachable(root: object, limit: int = 100000) -> Optional[Set[int]]:
    """The ids of the Senders and Receivers reachable from *root* (a
    multiprocessing Process) the way pickling would reach them: through
    tuples, lists, sets, dicts, functools.partial, bound methods and the
    attributes of objects.  None if more than *limit* objects would have
    to be looked at (the child then keeps every Sender, as a bare fork
    does, rather than miss one it was passed)."""
    found: Set[int] = set()
    seen: Set[int] = set()
    stack: List[object] = [root]
    leaves = (str, bytes, bytearray, int, float, complex, type(None), type,
              types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
              types.CodeType, mmap.mmap, memoryview, _Segment)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (Sender, Receiver)):
            found.add(id(obj))
            continue
        if isinstance(obj, leaves):
            continue
        try:
            if isinstance(obj, (tuple, list, set, frozenset)):
                stack.extend(obj)
            elif isinstance(obj, dict):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif isinstance(obj, functools.partial):
                stack.extend((obj.func, obj.args, obj.keywords))
            elif isinstance(obj, types.MethodType):
                stack.append(obj.__self__)
            else:
                d = getattr(obj, "__dict__", None)
                if isinstance(d, dict):
                    stack.extend(d.values())
                for klass in type(obj).__mro__:
                    slots = klass.__dict__.get("__slots__", ())
                    for name in (slots,) if isinstance(slots, str) else slots:
                        if name not in ("__dict__", "__weakref__"):
                            value = getattr(obj, name, None)
                            if value is not None:
                                stack.append(value)
        except Exception:  # an object that will not be looked into: skip it
            continue
    if stack:
        return None  # the limit was reached
    return found


def _process_being_forked() -> Optional[object]:
    """In a fork hook: the multiprocessing Process whose start() is forking
    this process (found in the frame of multiprocessing's fork Popen that
    called os.fork()), or None for a bare os.fork()."""
    try:
        f = sys._getframe(2)
    except ValueError:  # pragma: no cover - no caller
        return None
    for _ in range(4):
        if f is None:
            break
        code = f.f_code
        if code.co_name == "_launch" and f.f_globals.get("__name__") == "multiprocessing.popen_fork":
            return f.f_locals.get("process_obj")
        f = f.f_back
    return None


#: Set in _before_fork: the ids of the handles the Process being started
#: is passed (None: a bare os.fork(), every Sender is inherited).
_fork_passed: List[Optional[Set[int]]] = [None]


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
