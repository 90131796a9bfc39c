"""Segments and their lifetimes: the one-page header every pyconc.ipc object
lives behind, the users table that counts each process's references, and
the sweep of segments nobody uses any more (see the package's docstring,
"Segment lifetime")."""

from __future__ import annotations

import errno
import mmap
import os
import secrets
import threading
import time
import weakref
from multiprocessing import resource_tracker
from typing import Any, List

from pyconc import _core, _procs
from pyconc._buffer import cell_in_buffer
from pyconc._native import lib
from pyconc.errors import ChannelError

try:
    import _posixshmem
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

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

