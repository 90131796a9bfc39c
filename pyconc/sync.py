"""Rust's std::sync for Python: Mutex, RwLock, Condvar, Barrier, Once, OnceLock.

The locks own their data, as Rust's do: ``Mutex(value)`` protects *value*,
which is reached only through the guard of a ``with m.lock() as g:`` block
(``g.value``).  An exception that leaves such a block poisons the lock, so
later holders learn that the data may be half-updated.

All waiting happens in C on futex words (``csrc/pc_mutex.h``,
``pc_condvar.h``, ``pc_rwlock.h``, ``pc_barrier.h``, ``pc_once.h``) with the
GIL released, in slices of ``pyconc._timeout.SLICE`` so that Ctrl-C
interrupts every wait.  Taking a free lock is one C call with the GIL held.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, Tuple, TypeVar

from pyconc import _timeout
from pyconc._native import ffi, lib
from pyconc.errors import PoisonError, WouldBlock

__all__ = [
    "Mutex",
    "MutexGuard",
    "RwLock",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "Condvar",
    "Barrier",
    "Once",
    "OnceState",
    "OnceLock",
]

T = TypeVar("T")
_G = TypeVar("_G", bound="_RwGuard[Any]")

_SLICE_NS = _timeout.SLICE_NS
_monotonic = time.monotonic
_slice = _timeout.slice_ns
_new = object.__new__

_mx_init = lib.pc_mutex_init
_mx_try = lib.pc_mutex_trylock
_mx_lock_timed = lib.pc_mutex_lock_timed
_MX_OK = lib.PC_MUTEX_OK
_MX_POISONED = lib.PC_MUTEX_POISONED
_MX_BUSY = lib.PC_MUTEX_BUSY

_cv_prepare = lib.pc_condvar_unlock_prepare
_cv_wait = lib.pc_condvar_wait
_cv_notify_one = lib.pc_condvar_notify_one
_cv_notify_all = lib.pc_condvar_notify_all
_CV_PENDING = lib.PC_CONDVAR_PENDING

_STALE = "guard used outside its with block (the lock was already released)"


def _never() -> bool:
    return False


def _timed_out(what: str, timeout: Optional[float]) -> TimeoutError:
    return TimeoutError(f"{what} timed out after {timeout} s")


def _wait_lock(lock: Any, end: Optional[float], retired: Callable[[], bool]) -> int:
    """Wait for a pc_mutex in slices; _MX_OK/_MX_POISONED, or _MX_BUSY at *end*."""
    while True:
        ns = _slice(end)
        if ns <= 0:
            return _mx_try(lock)
        r = _mx_lock_timed(lock, ns)
        if r != _MX_BUSY:
            return r
        if retired():
            raise RuntimeError("Mutex was consumed by into_inner()")


# --------------------------------------------------------------------- Mutex


if lib.pc_pyguard_install() != 0:  # pragma: no cover
    raise ImportError("pyconc._core: MutexGuard could not be installed")
from pyconc import _core  # noqa: E402  (installed just above)

#: The guard of ``with m.lock() as g:``, a C type (csrc/pyglue/pc_mutex_py.h):
#: ``g.value`` reads and replaces the protected value inside the block;
#: leaving the block unlocks (poisoning on an exception); afterwards the
#: guard is dead and using it raises RuntimeError.  A guard dropped unused
#: (never entered, or inside a dropped PoisonError) unlocks.
if TYPE_CHECKING:

    class MutexGuard(Generic[T]):
        value: T
        _mutex: Optional["Mutex[Any]"]

        def __enter__(self) -> "MutexGuard[T]": ...
        def __exit__(self, *exc_info: object) -> None: ...
        def _forget(self) -> None: ...

else:
    MutexGuard = _core.MutexGuard
_lock_fast = _core.mutex_lock_fast
_make_guard = _core.mutex_guard


class Mutex(Generic[T]):
    """Mutex(value=None)

    A mutual-exclusion lock that owns *value*, as Rust's
    ``std::sync::Mutex<T>``::

        counter = Mutex(0)
        with counter.lock() as g:
            g.value += 1

    ``lock()`` blocks until the mutex is free and returns a guard;
    ``try_lock()`` does not wait.  If an exception leaves a ``with`` block
    holding the guard, the mutex is *poisoned*: later ``lock()`` and
    ``try_lock()`` calls raise PoisonError, whose ``into_inner()`` is the
    guard (the lock is held), so the value can still be inspected, repaired
    and the poison cleared::

        try:
            with m.lock() as g:
                use(g.value)
        except PoisonError as e:
            with e.into_inner() as g:
                g.value = repaired(g.value)
            m.clear_poison()

    Not reentrant: a thread that locks a Mutex it holds deadlocks (until
    its timeout).  Like ``threading.Lock``, a signal that arrives exactly
    between taking the lock and entering the ``with`` block can leave it
    locked.

    Thread safety without the GIL: the lock word and the poison flag are C
    atomics (``pc_mutex_t``); the value is read and written only by the
    lock's holder, whose lock and unlock order those accesses.
    """

    __slots__ = ("_lock", "_addr", "_value", "_retired", "__weakref__")

    def __init__(self, value: T = None) -> None:  # type: ignore[assignment]
        self._lock = ffi.new("pc_mutex_t *")
        self._addr = int(ffi.cast("uintptr_t", self._lock))  # for MutexGuard
        _mx_init(self._lock)
        self._value = value
        self._retired = False

    def lock(self, timeout: Optional[float] = None) -> MutexGuard[T]:
        """lock(timeout=None) -> MutexGuard

        Wait until the mutex is free, lock it and return its guard (use it
        as ``with m.lock() as g:``).  With *timeout* (seconds), raise
        TimeoutError if the mutex is still held after that long; a timeout
        of 0 tries once.  Raises PoisonError, holding the locked guard, if
        the mutex is poisoned.

        The wait releases the GIL and returns to the interpreter at least
        every 50 ms, so Ctrl-C interrupts it with KeyboardInterrupt (in the
        main thread).
        """
        if timeout is None:
            g = _lock_fast(self, self._addr)  # free and not poisoned: one call
            if g is not None:
                return g
            r = _mx_try(self._lock)
            if r == _MX_BUSY:
                r = self._wait(None, None)
        else:
            limit = _timeout.seconds(timeout)
            r = _mx_try(self._lock)
            if r == _MX_BUSY:
                r = self._wait(_monotonic() + limit, limit)
        return self._guard(r)

    def try_lock(self) -> MutexGuard[T]:
        """try_lock() -> MutexGuard

        Lock the mutex if it is free and return its guard; never waits.
        Raises WouldBlock if another thread holds it, PoisonError (holding
        the locked guard) if it is poisoned.
        """
        r = _mx_try(self._lock)
        if r == _MX_BUSY:
            if self._retired:
                raise RuntimeError("Mutex was consumed by into_inner()")
            raise WouldBlock("Mutex is locked")
        return self._guard(r)

    def _wait(self, end: Optional[float], limit: Optional[float]) -> int:
        if self._retired:
            raise RuntimeError("Mutex was consumed by into_inner()")
        r = _wait_lock(self._lock, end, lambda: self._retired)
        if r == _MX_BUSY:
            raise _timed_out("Mutex.lock()", limit)
        return r

    def _guard(self, r: int) -> MutexGuard[T]:
        g = _make_guard(self, self._addr)
        if r == _MX_OK:
            return g
        raise PoisonError(g, "Mutex poisoned: a holder raised inside its with block")

    def is_poisoned(self) -> bool:
        """is_poisoned() -> bool

        True if a holder left its ``with`` block by an exception (and the
        poison was not cleared since).  A snapshot.
        """
        return bool(lib.pc_mutex_is_poisoned(self._lock))

    def clear_poison(self) -> None:
        """clear_poison() -> None

        Mark the mutex healthy again (after repairing its value).
        """
        lib.pc_mutex_clear_poison(self._lock)

    def into_inner(self) -> T:
        """into_inner() -> value

        Lock the mutex (waiting, if needed, for its holder to release it),
        return the value and retire the mutex: any later use raises
        RuntimeError.  If the mutex is poisoned, raise PoisonError whose
        ``into_inner()`` is the value (Rust's ``Mutex::into_inner``).
        """
        r = _mx_try(self._lock)
        if r == _MX_BUSY:
            r = self._wait(None, None)
        self._retired = True  # the lock stays held: later lock() calls fail
        value = self._value
        self._value = None  # type: ignore[assignment]
        if r == _MX_POISONED:
            raise PoisonError(value, "Mutex poisoned: a holder raised inside its with block")
        return value

    def get_mut(self) -> T:
        """get_mut() -> value

        The value, without locking: for a thread that knows no other
        thread can reach the mutex (Rust's ``get_mut``, which the borrow
        checker proves; here it is the caller's promise).
        """
        if self._retired:
            raise RuntimeError("Mutex was consumed by into_inner()")
        return self._value

    def __repr__(self) -> str:
        if self._retired:
            state = "retired"
        else:
            state = "locked" if lib.pc_mutex_is_locked(self._lock) else "unlocked"
            if self.is_poisoned():
                state += " poisoned"
        return f"<{state} pyconc.Mutex at {id(self):#x}>"

    def __reduce__(self) -> Any:
        raise TypeError("a Mutex cannot be pickled: it lives in this process")


# ------------------------------------------------------------------- Condvar


class Condvar:
    """Condvar()

    A condition variable, used with a Mutex's guard, as Rust's
    ``std::sync::Condvar``::

        with m.lock() as g:
            cv.wait_while(g, lambda queue: not queue)   # until non-empty
            item = g.value.pop()

    ``wait(guard)`` unlocks the guard's mutex, sleeps until notified, and
    locks it again before returning the same guard.  Like Rust's (and
    POSIX's), a wait may return without a notification ("spuriously"), so
    wait in a loop on a condition, or use ``wait_while``.  A Condvar is
    used with one Mutex only; a second one raises ValueError.

    Waits raise PoisonError (whose ``into_inner()`` is the guard, still
    held) if the mutex was poisoned while they slept.

    Thread safety without the GIL: the counter and waiter count are C
    atomics (``pc_condvar_t``, Rust's futex Condvar algorithm); the bound
    mutex is set once, and a lost race to set it is reported.
    """

    __slots__ = ("_cv", "_mutex", "__weakref__")

    def __init__(self) -> None:
        self._cv = ffi.new("pc_condvar_t *")
        lib.pc_condvar_init(self._cv)
        self._mutex: Optional[Mutex[Any]] = None

    def _check(self, guard: Any) -> Mutex[Any]:
        if not isinstance(guard, MutexGuard):
            raise TypeError(
                f"Condvar waits take a MutexGuard (from Mutex.lock()), not "
                f"{type(guard).__name__}"
            )
        m = guard._mutex
        if m is None:
            raise RuntimeError(_STALE)
        bound = self._mutex
        if bound is not m:
            if bound is not None:
                raise ValueError("a Condvar is used with one Mutex only")
            self._mutex = m
        return m

    def _wait(self, guard: MutexGuard[T], m: Mutex[Any], end: Optional[float]) -> bool:
        """Unlock, sleep until notified or *end*, relock.  True if timed out."""
        cv, lock = self._cv, m._lock
        seq = _cv_prepare(cv, lock)
        r = _CV_PENDING
        timed_out = False
        try:
            while True:
                ns = _SLICE_NS if end is None else _slice(end)
                if ns <= 0:
                    timed_out = True
                    break
                r = _cv_wait(cv, seq, ns)
                if r != _CV_PENDING:
                    break
        finally:
            # Relock with the GIL held first (see pc_condvar.h), then wait.
            r = _mx_try(lock)
            if r == _MX_BUSY:
                try:
                    r = _wait_lock(lock, None, _never)
                except BaseException:
                    guard._forget()  # not relocked: leaving the block is silent
                    raise
        if r == _MX_POISONED:
            raise PoisonError(guard, "Mutex poisoned while waiting on a Condvar")
        return timed_out

    def wait(self, guard: MutexGuard[T]) -> MutexGuard[T]:
        """wait(guard) -> guard

        Unlock the guard's mutex, sleep until notified, relock it and
        return the guard.  May return spuriously.  Interruptible by Ctrl-C
        (the mutex is relocked before KeyboardInterrupt propagates).
        """
        self._wait(guard, self._check(guard), None)
        return guard

    def wait_while(self, guard: MutexGuard[T], predicate: Callable[[T], Any]) -> MutexGuard[T]:
        """wait_while(guard, predicate) -> guard

        Wait while ``predicate(value)`` is true, *value* being the
        protected value (called with the mutex held); return the guard
        once it is false.
        """
        m = self._check(guard)
        while predicate(m._value):
            self._wait(guard, m, None)
        return guard

    def wait_timeout(self, guard: MutexGuard[T], timeout: float) -> Tuple[MutexGuard[T], bool]:
        """wait_timeout(guard, timeout) -> (guard, timed_out)

        As wait(), for at most *timeout* seconds; *timed_out* is True if the
        time ran out without a notification.
        """
        end = _monotonic() + _timeout.seconds(timeout)
        return guard, self._wait(guard, self._check(guard), end)

    def wait_timeout_while(
        self, guard: MutexGuard[T], timeout: float, predicate: Callable[[T], Any]
    ) -> Tuple[MutexGuard[T], bool]:
        """wait_timeout_while(guard, timeout, predicate) -> (guard, timed_out)

        As wait_while(), for at most *timeout* seconds in all; *timed_out*
        is True if the predicate was still true when the time ran out.
        """
        end = _monotonic() + _timeout.seconds(timeout)
        m = self._check(guard)
        while predicate(m._value):
            if _monotonic() >= end:
                return guard, True
            self._wait(guard, m, end)
        return guard, False

    def notify_one(self) -> None:
        """notify_one() -> None

        Wake one thread waiting on this Condvar, if any (Rust's futex
        Condvar may wake more than one; they re-check their conditions).
        Needs no lock; costs no system call when nobody waits.
        """
        _cv_notify_one(self._cv)

    def notify_all(self) -> None:
        """notify_all() -> None

        Wake every thread waiting on this Condvar.
        """
        _cv_notify_all(self._cv)

    def __repr__(self) -> str:
        return f"<pyconc.Condvar at {id(self):#x}>"


# -------------------------------------------------------------------- RwLock

_rw_try_read = lib.pc_rwlock_try_read
_rw_try_write = lib.pc_rwlock_try_write
_rw_read_timed = lib.pc_rwlock_read_timed
_rw_write_timed = lib.pc_rwlock_write_timed
_rw_read_unlock = lib.pc_rwlock_read_unlock
_rw_write_unlock = lib.pc_rwlock_write_unlock
_RW_OK = lib.PC_RWLOCK_OK
_RW_POISONED = lib.PC_RWLOCK_POISONED
_RW_BUSY = lib.PC_RWLOCK_BUSY


class _RwGuard(Generic[T]):
    """What the read and the write guard share: the ``with`` protocol,
    death after the block, and release on drop.

    Thread safety without the GIL: a guard belongs to the thread that
    took it; the lock it stands for is the RwLock's C state.
    """

    __slots__ = ("_rw",)
    _rw: "Optional[RwLock[T]]"

    def _unlock(self, lock: Any, poison: bool) -> None:
        raise NotImplementedError

    def __enter__(self: _G) -> _G:
        if self._rw is None:
            raise RuntimeError(_STALE)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        rw = self._rw
        if rw is None:
            raise RuntimeError(_STALE)
        self._rw = None
        self._unlock(rw._lock, exc_type is not None)

    def __del__(self) -> None:
        # Dropped without its block ending (never entered, inside a dropped
        # PoisonError, or in the frame of a thread that died): release, as
        # Rust's guard does on drop, without poisoning.  A guard used in a
        # with block is dead by now, and this is a no-op.
        rw = self._rw
        if rw is not None:
            self._rw = None
            self._unlock(rw._lock, False)

    def __repr__(self) -> str:
        name = type(self).__name__
        if self._rw is None:
            return f"<released pyconc.{name} at {id(self):#x}>"
        return f"<pyconc.{name} value={self._rw._value!r}>"


class RwLockReadGuard(_RwGuard[T]):
    """A shared hold on an RwLock, from ``RwLock.read()``.

    ``with rw.read() as g:``: ``g.value`` reads the protected value (it
    cannot be replaced through a read guard; do not mutate it either: other
    readers are looking at it).  Dead after its block.
    """

    __slots__ = ()

    def _unlock(self, lock: Any, poison: bool) -> None:
        _rw_read_unlock(lock)  # readers do not poison (as in Rust)

    @property
    def value(self) -> T:
        rw = self._rw
        if rw is None:
            raise RuntimeError(_STALE)
        return rw._value


class RwLockWriteGuard(_RwGuard[T]):
    """The exclusive hold on an RwLock, from ``RwLock.write()``.

    ``with rw.write() as g:``: ``g.value`` reads and ``g.value = x``
    replaces the protected value.  Leaving the block by an exception
    poisons the lock.  Dead after its block.
    """

    __slots__ = ()

    def _unlock(self, lock: Any, poison: bool) -> None:
        _rw_write_unlock(lock, poison)

    @property
    def value(self) -> T:
        rw = self._rw
        if rw is None:
            raise RuntimeError(_STALE)
        return rw._value

    @value.setter
    def value(self, value: T) -> None:
        rw = self._rw
        if rw is None:
            raise RuntimeError(_STALE)
        rw._value = value


class RwLock(Generic[T]):
    """RwLock(value=None)

    A reader-writer lock that owns *value*, as Rust's
    ``std::sync::RwLock<T>``: many readers at once (``with rw.read() as
    g:``) or one writer (``with rw.write() as g:``).  Writers are
    preferred: once a writer waits, new readers wait behind it, so a stream
    of readers cannot starve it.  An exception leaving a write block
    poisons the lock; ``read()``/``write()`` then raise PoisonError
    holding the (locked) guard.

    ``read()``/``write()`` wait (with an optional *timeout*, raising
    TimeoutError), ``try_read()``/``try_write()`` raise WouldBlock instead.
    Waits release the GIL and are interruptible by Ctrl-C.  Not reentrant:
    a thread holding a read lock that asks for another may deadlock behind
    a waiting writer.

    Thread safety without the GIL: the lock state is C atomics
    (``pc_rwlock_t``, Rust's futex RwLock); the value is written only by
    the writer, and the lock orders readers' reads after it.
    """

    __slots__ = ("_lock", "_value", "__weakref__")

    def __init__(self, value: T = None) -> None:  # type: ignore[assignment]
        self._lock = ffi.new("pc_rwlock_t *")
        lib.pc_rwlock_init(self._lock)
        self._value = value

    def read(self, timeout: Optional[float] = None) -> RwLockReadGuard[T]:
        """read(timeout=None) -> RwLockReadGuard

        Wait for shared access and return a read guard.  With *timeout*
        (seconds), raise TimeoutError if it is not granted in that time.
        Raises PoisonError (holding the read guard) if poisoned.
        """
        limit = None if timeout is None else _timeout.seconds(timeout)
        r = _rw_try_read(self._lock)
        if r == _RW_OK:
            g: RwLockReadGuard[T] = _new(RwLockReadGuard)
            g._rw = self
            return g
        if r == _RW_BUSY:
            r = self._wait_read(limit)
        return self._guard(r, RwLockReadGuard)

    def write(self, timeout: Optional[float] = None) -> RwLockWriteGuard[T]:
        """write(timeout=None) -> RwLockWriteGuard

        Wait for exclusive access and return a write guard.  With
        *timeout* (seconds), raise TimeoutError if it is not granted in
        that time.  Raises PoisonError (holding the write guard) if
        poisoned.
        """
        limit = None if timeout is None else _timeout.seconds(timeout)
        r = _rw_try_write(self._lock)
        if r == _RW_OK:
            w: RwLockWriteGuard[T] = _new(RwLockWriteGuard)
            w._rw = self
            return w
        if r == _RW_BUSY:
            r = self._wait_write(limit)
        return self._guard(r, RwLockWriteGuard)

    def try_read(self) -> RwLockReadGuard[T]:
        """try_read() -> RwLockReadGuard

        Shared access without waiting; raises WouldBlock if a writer holds
        or waits for the lock, PoisonError if poisoned.
        """
        r = _rw_try_read(self._lock)
        if r == _RW_BUSY:
            raise WouldBlock("RwLock is write-locked or a writer is waiting")
        return self._guard(r, RwLockReadGuard)

    def try_write(self) -> RwLockWriteGuard[T]:
        """try_write() -> RwLockWriteGuard

        Exclusive access without waiting; raises WouldBlock if anybody
        holds the lock, PoisonError if poisoned.
        """
        r = _rw_try_write(self._lock)
        if r == _RW_BUSY:
            raise WouldBlock("RwLock is locked")
        return self._guard(r, RwLockWriteGuard)

    def _guard(self, r: int, kind: type) -> Any:
        g: Any = _new(kind)
        g._rw = self
        if r == _RW_POISONED:
            raise PoisonError(g, "RwLock poisoned: a writer raised inside its with block")
        return g

    def _wait_read(self, limit: Optional[float]) -> int:
        lock = self._lock
        end = _timeout.deadline(limit)
        while True:
            ns = _slice(end)
            if ns <= 0:
                r = _rw_try_read(lock)
                if r == _RW_BUSY:
                    raise _timed_out("RwLock.read()", limit)
                return r
            r = _rw_read_timed(lock, ns)
            if r != _RW_BUSY:
                return r

    def _wait_write(self, limit: Optional[float]) -> int:
        lock = self._lock
        end = _timeout.deadline(limit)
        waited = False
        try:
            while True:
                ns = _slice(end)
                if ns <= 0:
                    r = _rw_try_write(lock)
                    if r == _RW_BUSY:
                        raise _timed_out("RwLock.write()", limit)
                    return r
                r = _rw_write_timed(lock, ns, waited)
                if r != _RW_BUSY:
                    return r
                waited = True
        except BaseException:
            if waited:
                # We may have left the "writers waiting" bit set: clear it
                # and wake everybody (pc_rwlock.h).
                lib.pc_rwlock_write_abandon(lock)
            raise

    def is_poisoned(self) -> bool:
        """is_poisoned() -> bool: True if a writer raised inside its block."""
        return bool(lib.pc_rwlock_is_poisoned(self._lock))

    def clear_poison(self) -> None:
        """clear_poison() -> None: mark the lock healthy again."""
        lib.pc_rwlock_clear_poison(self._lock)

    def into_inner(self) -> T:
        """into_inner() -> value

        The value, taken under a write lock; the RwLock keeps it no longer
        (later guards see None).  Raises PoisonError, whose
        ``into_inner()`` is the value, if poisoned.
        """
        try:
            with self.write() as g:
                value = g.value
                g.value = None  # type: ignore[assignment]
        except PoisonError as e:
            with e.into_inner() as g:
                value = g.value
                g.value = None
            raise PoisonError(value, "RwLock poisoned: a writer raised inside its with block") from None
        return value

    def __repr__(self) -> str:
        n = lib.pc_rwlock_holders(self._lock)
        state = "write-locked" if n < 0 else (f"read-locked by {n}" if n else "unlocked")
        if self.is_poisoned():
            state += " poisoned"
        return f"<{state} pyconc.RwLock at {id(self):#x}>"

    def __reduce__(self) -> Any:
        raise TypeError("an RwLock cannot be pickled: it lives in this process")


# ------------------------------------------------------------------- Barrier


class Barrier:
    """Barrier(n)

    Makes *n* threads wait for each other, as Rust's
    ``std::sync::Barrier``: ``wait()`` blocks until *n* threads have
    called it, then releases them all and returns True in exactly one of
    them (the leader) and False in the others.  Reusable: the next *n*
    calls form the next round.

    The wait releases the GIL and is interruptible by Ctrl-C; an
    interrupted thread takes its arrival back if its round has not
    completed yet.

    Thread safety without the GIL: all state is two C atomics
    (``pc_barrier_t``).
    """

    __slots__ = ("_b", "_n", "__weakref__")

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"Barrier(n) needs an int, not {type(n).__name__}")
        if n < 1:
            raise ValueError(f"Barrier(n) needs n >= 1 threads, not {n}")
        if n > 0x7FFFFFFF:
            raise OverflowError("Barrier(n): n is too large")
        self._n = n
        self._b = ffi.new("pc_barrier_t *")
        lib.pc_barrier_init(self._b, n)

    @property
    def n(self) -> int:
        """The number of threads per round."""
        return self._n

    def wait(self) -> bool:
        """wait() -> bool

        Block until *n* threads have called wait(); True in the leader.
        """
        b = self._b
        r = lib.pc_barrier_arrive(b)
        if r == lib.PC_BARRIER_LEADER:
            return True
        wait = lib.pc_barrier_wait
        try:
            while not wait(b, r, _SLICE_NS):
                pass
        except BaseException:
            lib.pc_barrier_leave(b, r)
            raise
        return False

    def __repr__(self) -> str:
        return f"<pyconc.Barrier n={self._n} at {id(self):#x}>"


# ---------------------------------------------------------------------- Once

_ONCE_INCOMPLETE = lib.PC_ONCE_INCOMPLETE
_ONCE_RUNNING = lib.PC_ONCE_RUNNING
_ONCE_COMPLETE = lib.PC_ONCE_COMPLETE
_ONCE_POISONED = lib.PC_ONCE_POISONED
_once_state = lib.pc_once_state


def _once_run(o: Any, fn: Callable[[], Any], ignore_poison: bool, on_error: int,
              what: str) -> bool:
    """Run *fn* once on pc_once word *o*; True if this call ran it."""
    while True:
        s = lib.pc_once_try_begin(o, ignore_poison)
        if s == _ONCE_COMPLETE:
            return False
        if s == _ONCE_POISONED and not ignore_poison:
            raise PoisonError(None, f"{what} poisoned: its initialiser raised")
        if s == _ONCE_INCOMPLETE or s == _ONCE_POISONED:
            try:
                fn()
            except BaseException:
                lib.pc_once_finish(o, on_error)
                raise
            lib.pc_once_finish(o, _ONCE_COMPLETE)
            return True
        # RUNNING in another thread: wait for it, then look again.
        wait = lib.pc_once_wait
        while wait(o, _SLICE_NS) == _ONCE_RUNNING:
            pass


class OnceState:
    """What ``Once.call_once_force`` passes to its function (immutable)."""

    __slots__ = ("_poisoned",)

    def __init__(self, poisoned: bool) -> None:
        self._poisoned = poisoned

    def is_poisoned(self) -> bool:
        """True if an earlier call's function raised."""
        return self._poisoned


class Once:
    """Once()

    Runs a function once, whichever thread gets there first, as Rust's
    ``std::sync::Once``: ``call_once(fn)`` calls *fn* if no call has
    completed yet; concurrent callers wait until it has.  If *fn* raises,
    the exception propagates and the Once is poisoned: later
    ``call_once`` calls raise PoisonError, and ``call_once_force(fn)``
    runs *fn(state)* again (``state.is_poisoned()`` is True).

    Waiting releases the GIL and is interruptible by Ctrl-C.

    Thread safety without the GIL: all state is one C atomic word
    (``pc_once_t``); completion is published with release/acquire.
    """

    __slots__ = ("_o", "__weakref__")

    def __init__(self) -> None:
        self._o = ffi.new("pc_once_t *")
        lib.pc_once_init(self._o)

    def call_once(self, fn: Callable[[], Any]) -> None:
        """call_once(fn) -> None

        Call *fn()* unless a call has completed; wait if one is running.
        Raises PoisonError if an earlier *fn* raised.
        """
        if _once_state(self._o) == _ONCE_COMPLETE:
            return
        if not callable(fn):
            raise TypeError(f"call_once() needs a callable, not {type(fn).__name__}")
        _once_run(self._o, fn, False, _ONCE_POISONED, "Once")

    def call_once_force(self, fn: Callable[[OnceState], Any]) -> None:
        """call_once_force(fn) -> None

        As call_once, but runs even if poisoned: *fn(state)* learns from
        ``state.is_poisoned()`` whether an earlier call raised.
        """
        if _once_state(self._o) == _ONCE_COMPLETE:
            return
        if not callable(fn):
            raise TypeError(f"call_once_force() needs a callable, not {type(fn).__name__}")
        o = self._o

        def run() -> None:
            fn(OnceState(poisoned))

        poisoned = _once_state(o) == _ONCE_POISONED
        _once_run(o, run, True, _ONCE_POISONED, "Once")

    def is_completed(self) -> bool:
        """is_completed() -> bool: True once a call has completed."""
        return _once_state(self._o) == _ONCE_COMPLETE

    def __repr__(self) -> str:
        names = {_ONCE_INCOMPLETE: "incomplete", _ONCE_RUNNING: "running",
                 _ONCE_COMPLETE: "complete", _ONCE_POISONED: "poisoned"}
        return f"<{names[_once_state(self._o)]} pyconc.Once at {id(self):#x}>"


_UNSET: Any = object()


class OnceLock(Generic[T]):
    """OnceLock()

    A cell written once, as Rust's ``std::sync::OnceLock<T>``:
    ``get()`` returns the value or None if unset; ``set(value)`` stores it
    if unset and says whether it did; ``get_or_init(fn)`` returns the
    value, calling *fn()* to make it if unset (exactly one thread runs
    *fn*; the others wait for its result).  If *fn* raises, the exception
    propagates and the cell stays unset (the next caller tries again).

    Thread safety without the GIL: a C once-word (``pc_once_t``) decides
    which thread writes; the value is written before the word is set to
    complete (release) and read after it is seen complete (acquire).
    """

    __slots__ = ("_o", "_value", "__weakref__")

    def __init__(self) -> None:
        self._o = ffi.new("pc_once_t *")
        lib.pc_once_init(self._o)
        self._value: Any = _UNSET

    def get(self) -> Optional[T]:
        """get() -> value or None

        The value if set, else None; never waits (a running initialiser
        counts as unset).
        """
        if _once_state(self._o) == _ONCE_COMPLETE:
            return self._value
        return None

    def set(self, value: T) -> bool:
        """set(value) -> bool

        Store *value* if the cell is unset and return True; return False,
        storing nothing, if it is set (waits if another thread is
        initialising it).
        """
        def store() -> None:
            self._value = value

        return _once_run(self._o, store, False, _ONCE_INCOMPLETE, "OnceLock")

    def get_or_init(self, fn: Callable[[], T]) -> T:
        """get_or_init(fn) -> value

        The value, calling *fn()* to make and store it if unset.  Waits
        while another thread's *fn* runs.
        """
        if _once_state(self._o) == _ONCE_COMPLETE:
            return self._value
        if not callable(fn):
            raise TypeError(f"get_or_init() needs a callable, not {type(fn).__name__}")

        def init() -> None:
            self._value = fn()

        _once_run(self._o, init, False, _ONCE_INCOMPLETE, "OnceLock")
        return self._value

    def take(self) -> Optional[T]:
        """take() -> value or None

        Empty the cell and return what it held (None if unset).  Only
        safe when no other thread uses the cell (Rust's ``&mut self``).
        """
        if _once_state(self._o) != _ONCE_COMPLETE:
            return None
        value, self._value = self._value, _UNSET
        lib.pc_once_init(self._o)
        return value

    def __repr__(self) -> str:
        if _once_state(self._o) == _ONCE_COMPLETE:
            return f"<pyconc.OnceLock value={self._value!r}>"
        return f"<pyconc.OnceLock <unset> at {id(self):#x}>"
