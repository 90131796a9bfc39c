"""A spin lock that parks: pyconc.SpinLock."""

from __future__ import annotations

from typing import Any, Optional

from pyconc import _procs, _timeout
from pyconc._buffer import cell_in_buffer
from pyconc._native import ffi, lib
from pyconc.errors import OwnerDied

__all__ = ["SpinLock"]

_trylock = lib.pc_spin_trylock
_unlock = lib.pc_spin_unlock
_lock_timed = lib.pc_spin_lock_timed
_UNLOCKED = lib.PC_SPIN_UNLOCKED


class SpinLock:
    """SpinLock()

    A mutual-exclusion lock with the interface of ``threading.Lock``, built
    for short critical sections.  Acquiring an unlocked SpinLock is one
    atomic compare-and-swap with the GIL held.  A contended acquire waits in
    C with the GIL released: it spins on the lock word with the CPU's pause
    hint and exponential backoff, then yields its time slice, and finally
    parks in the kernel (a futex), so a waiter never burns a core for long.

    Like ``threading.Lock`` (and unlike ``threading.RLock``), a SpinLock has
    no owner: any thread may release it, and a thread that acquires it twice
    without releasing deadlocks (until its timeout).

    Thread safety without the GIL: all state is the C lock word, changed only
    by atomic operations.
    """

    __slots__ = ("_lock", "_shared", "_keep", "__weakref__")

    def __init__(self) -> None:
        self._lock = ffi.new("pc_spin_t *")
        self._shared = False
        self._keep = None
        lib.pc_spin_init(self._lock)

    @classmethod
    def from_buffer(cls, buf: Any, offset: int = 0) -> "SpinLock":
        """from_buffer(buf, offset=0)

        A SpinLock whose lock word is the 4 bytes at *offset* of *buf*, a
        writable buffer (``multiprocessing.shared_memory`` ``.buf``, mmap,
        bytearray), 4-byte aligned there.  Processes mapping the same memory
        share the lock; waiters park with a process-shared futex.  Zeroed
        bytes are an unlocked lock; nothing is written.  Raises TypeError
        for a read-only or non-buffer object, ValueError for a misaligned or
        too short one.  The buffer is kept alive (and exported) while the
        lock exists.

        The lock is robust, like a POSIX robust mutex: the 32-bit word holds
        the owner's process id (bits 0-29; bit 31 says a waiter may be
        parked; 0 is unlocked), so a waiter notices when the owner's process
        has died (checked before a waiter first parks and then every 10 ms)
        and takes the lock over: ``acquire()`` then raises
        ``pyconc.errors.OwnerDied`` **with the lock held by the caller**,
        who must check the data it protects and ``release()`` it.  The
        liveness test is ``kill(pid, 0)`` (and, on Linux, not a zombie in
        /proc): a dead owner whose pid the system has already given to a
        new process looks alive, and processes in different pid namespaces
        must not share a lock.  Within one process the lock behaves as
        ``SpinLock()`` (its threads share the pid), except that a contended
        acquire costs a liveness check now and then.  ``owner()`` returns
        the holder's pid.
        """
        lock, keep = cell_in_buffer(buf, offset, "pc_rspin_t *", cls.__name__)
        self = _RobustSpinLock.__new__(_RobustSpinLock)
        self._lock = lock
        self._shared = True
        self._keep = keep
        return self

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """acquire(blocking=True, timeout=-1) -> bool

        Acquire the lock.

        When invoked with *blocking* true (the default), wait until the lock
        is unlocked, then lock it and return True.  With a positive
        *timeout*, wait at most *timeout* seconds and return False if the
        lock could not be acquired in that time; a *timeout* of -1 (the
        default) waits without limit.

        When invoked with *blocking* false, do not wait: lock it and return
        True if it is unlocked, else return False at once.  Passing a
        *timeout* as well raises ValueError.

        The wait releases the GIL and returns to the interpreter at least
        every 50 ms, so Ctrl-C interrupts it with KeyboardInterrupt (in the
        main thread).
        """
        if timeout == -1 and blocking is True:  # the common case, checked first
            if _trylock(self._lock):
                return True
            return self._wait(None)
        limit = _timeout.lock_timeout(blocking, timeout)
        if _trylock(self._lock):
            return True
        if limit == 0.0:
            return False
        return self._wait(limit)

    def _wait(self, limit: Optional[float]) -> bool:
        lock, shared = self._lock, self._shared
        end = _timeout.deadline(limit)
        while True:
            ns = _timeout.slice_ns(end)
            if ns <= 0:
                return bool(_trylock(lock))
            if _lock_timed(lock, ns, shared):
                return True

    def __enter__(self) -> bool:
        # acquire() without its argument checks: the with-statement path.
        if _trylock(self._lock):
            return True
        return self._wait(None)

    def release(self) -> None:
        """release() -> None

        Release the lock, waking one waiter if any is parked.  Any thread
        may release it.  Raises RuntimeError if the lock is not locked.
        """
        if _unlock(self._lock, self._shared) == _UNLOCKED:
            raise RuntimeError("release unlocked lock")

    def __exit__(self, *exc_info: object) -> None:
        if _unlock(self._lock, self._shared) == _UNLOCKED:
            raise RuntimeError("release unlocked lock")

    def locked(self) -> bool:
        """locked() -> bool

        Return True if the lock is held (by any thread).  A snapshot: by the
        time it returns, another thread may have changed it.
        """
        return bool(lib.pc_spin_is_locked(self._lock))

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        where = " shared" if self._shared else ""
        return f"<{state}{where} pyconc.SpinLock at {id(self):#x}>"

    def __reduce__(self) -> Any:
        raise TypeError(
            "SpinLock lives in this process's memory and cannot be pickled; "
            "use SpinLock.from_buffer() on shared memory to share one"
        )


_rtrylock = lib.pc_rspin_trylock
_rtrylock_robust = lib.pc_rspin_trylock_robust
_runlock = lib.pc_rspin_unlock
_rlock_timed = lib.pc_rspin_lock_timed
_ACQUIRED = lib.PC_RSPIN_ACQUIRED
_OWNER_DIED = lib.PC_RSPIN_OWNER_DIED


def _owner_died(lock: "SpinLock", dead: int) -> OwnerDied:
    return OwnerDied(
        f"the process that held {lock!r} died (pid {dead}); the lock is now "
        "held by this process: check the data it protects, then release it"
    )


class _RobustSpinLock(SpinLock):
    """A SpinLock in shared memory: see SpinLock.from_buffer().

    Thread safety without the GIL: all state is the C lock word, changed
    only by atomic operations.
    """

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        lock = self._lock
        if timeout == -1 and blocking is True:
            if _rtrylock(lock, _procs.pid):
                return True
            return self._rwait(None)
        limit = _timeout.lock_timeout(blocking, timeout)
        if limit == 0.0:
            return self._rtry()
        if _rtrylock(lock, _procs.pid):
            return True
        return self._rwait(limit)

    acquire.__doc__ = (SpinLock.acquire.__doc__ or "") + """
        Shared (robust) lock: raises OwnerDied, with the lock now held by
        the caller, when the process that held it has died.
        """

    def _rtry(self) -> bool:
        owner = lib.pc_rspin_owner(self._lock)
        r = _rtrylock_robust(self._lock, _procs.pid)
        if r == _OWNER_DIED:
            raise _owner_died(self, owner)
        return r == _ACQUIRED

    def _rwait(self, limit: Optional[float]) -> bool:
        lock = self._lock
        end = _timeout.deadline(limit)
        while True:
            ns = _timeout.slice_ns(end)
            if ns <= 0:
                return self._rtry()
            owner = lib.pc_rspin_owner(lock)
            r = _rlock_timed(lock, _procs.pid, ns)
            if r == _ACQUIRED:
                return True
            if r == _OWNER_DIED:
                raise _owner_died(self, owner)

    __enter__ = acquire

    def release(self) -> None:
        """release() -> None

        Release the lock, waking one waiter if any is parked.  Any thread
        of any process may release it.  Raises RuntimeError if the lock is
        not locked.
        """
        if _runlock(self._lock) == 0:
            raise RuntimeError("release unlocked lock")

    def __exit__(self, *exc_info: object) -> None:
        if _runlock(self._lock) == 0:
            raise RuntimeError("release unlocked lock")

    def locked(self) -> bool:
        """locked() -> bool

        Return True if the lock is held (by any thread of any process).  A
        snapshot.
        """
        return lib.pc_rspin_owner(self._lock) != 0

    def owner(self) -> Optional[int]:
        """owner() -> int or None

        The process id of the lock's holder, or None if it is unlocked (a
        snapshot).
        """
        return lib.pc_rspin_owner(self._lock) or None
