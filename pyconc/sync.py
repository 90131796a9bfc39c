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

_SLICE_NS = _timeout.SLICE_NS
_monotonic = time.monotonic
_slice = _timeout.slice_ns

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


# ------------------------------------------- RwLock, Barrier, Once, OnceLock

# C types (csrc/pyglue/pc_rwlock_py.h, pc_barrier_py.h, pc_once_py.h): each
# embeds its pc_* state, takes the fast path in one C call with the GIL
# held and waits in C (pyglue/pc_py.h's pc_py_wait), so a Ctrl-C never
# leaves a lock taken by nobody.  The classes below are what type checkers
# see; at run time the names are the C types.
if TYPE_CHECKING:

    class RwLockReadGuard(Generic[T]):
        """A shared hold on an RwLock, from ``RwLock.read()``."""

        @property
        def value(self) -> T: ...
        def __enter__(self) -> "RwLockReadGuard[T]": ...
        def __exit__(self, *exc_info: object) -> None: ...

    class RwLockWriteGuard(Generic[T]):
        """The exclusive hold on an RwLock, from ``RwLock.write()``."""

        value: T

        def __enter__(self) -> "RwLockWriteGuard[T]": ...
        def __exit__(self, *exc_info: object) -> None: ...

    class RwLock(Generic[T]):
        """RwLock(value=None): a reader-writer lock that owns *value*."""

        def __init__(self, value: T = ...) -> None: ...
        def read(self, timeout: Optional[float] = None) -> RwLockReadGuard[T]: ...
        def write(self, timeout: Optional[float] = None) -> RwLockWriteGuard[T]: ...
        def try_read(self) -> RwLockReadGuard[T]: ...
        def try_write(self) -> RwLockWriteGuard[T]: ...
        def is_poisoned(self) -> bool: ...
        def clear_poison(self) -> None: ...
        def into_inner(self) -> T: ...

    class Barrier:
        """Barrier(n): makes *n* threads wait for each other."""

        def __init__(self, n: int) -> None: ...
        @property
        def n(self) -> int: ...
        def wait(self) -> bool: ...

    class OnceState:
        """What ``Once.call_once_force`` passes to its function."""

        def __init__(self, poisoned: bool = False) -> None: ...
        def is_poisoned(self) -> bool: ...

    class Once:
        """Once(): runs a function once, whichever thread gets there first."""

        def call_once(self, fn: Callable[[], Any]) -> None: ...
        def call_once_force(self, fn: Callable[[OnceState], Any]) -> None: ...
        def is_completed(self) -> bool: ...

    class OnceLock(Generic[T]):
        """OnceLock(): a cell written once."""

        def get(self) -> Optional[T]: ...
        def set(self, value: T) -> bool: ...
        def get_or_init(self, fn: Callable[[], T]) -> T: ...
        def take(self) -> Optional[T]: ...

else:
    RwLock = _core.RwLock
    RwLockReadGuard = _core.RwLockReadGuard
    RwLockWriteGuard = _core.RwLockWriteGuard
    Barrier = _core.Barrier
    Once = _core.Once
    OnceState = _core.OnceState
    OnceLock = _core.OnceLock
