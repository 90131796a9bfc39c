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

from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, Tuple, TypeVar


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


_STALE = "guard used outside its with block (the lock was already released)"


def _timed_out(what: str, timeout: Optional[float]) -> TimeoutError:
    return TimeoutError(f"{what} timed out after {timeout} s")


# -------------------------------------------------------- Mutex and Condvar
#
# C types of the compiled module (csrc/pyglue/pc_mutex_py.h), built as
# CPython's _thread.lock: each embeds its C state (pc_mutex_t, pc_condvar_t),
# does all its work in tp_new (so calling __init__ again changes nothing),
# and waits in C through the one interruptible wait (pyglue/pc_py.h), with
# the GIL released and Ctrl-C checked between slices.  See help(Mutex),
# help(MutexGuard), help(Condvar) for the full documentation; the stubs
# below are what type checkers see.

if TYPE_CHECKING:

    class MutexGuard(Generic[T]):
        """The proof that a thread holds a Mutex; made by Mutex.lock()."""

        value: T

        def __enter__(self) -> "MutexGuard[T]": ...
        def __exit__(self, *exc_info: object) -> None: ...

    class Mutex(Generic[T]):
        """Mutex(value=None, *, poison=True): a lock that owns *value*
        (Rust's Mutex<T>; with poison=False, std::sync::nonpoison's)."""

        def __init__(self, value: T = ..., *, poison: bool = True) -> None: ...
        def lock(self, timeout: Optional[float] = None) -> MutexGuard[T]: ...
        def try_lock(self) -> MutexGuard[T]: ...
        def is_poisoned(self) -> bool: ...
        def clear_poison(self) -> None: ...
        def into_inner(self) -> T: ...
        def get_mut(self) -> T: ...
        def set(self, value: T, /) -> None: ...
        def replace(self, value: T, /) -> T: ...
        def get_cloned(self) -> T: ...

    class Condvar:
        """Condvar(): a condition variable used with a Mutex's guard."""

        def wait(self, guard: MutexGuard[T]) -> MutexGuard[T]: ...
        def wait_while(
            self, guard: MutexGuard[T], predicate: Callable[[T], Any]
        ) -> MutexGuard[T]: ...
        def wait_timeout(
            self, guard: MutexGuard[T], timeout: float
        ) -> Tuple[MutexGuard[T], bool]: ...
        def wait_timeout_while(
            self, guard: MutexGuard[T], timeout: float, predicate: Callable[[T], Any]
        ) -> Tuple[MutexGuard[T], bool]: ...
        def notify_one(self) -> None: ...
        def notify_all(self) -> None: ...

else:
    from pyconc import _core

    Mutex = _core.Mutex
    MutexGuard = _core.MutexGuard
    Condvar = _core.Condvar


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
        def downgrade(self) -> RwLockReadGuard[T]: ...

    class RwLock(Generic[T]):
        """RwLock(value=None, *, poison=True): a reader-writer lock that
        owns *value*."""

        def __init__(self, value: T = ..., *, poison: bool = True) -> None: ...
        def read(self, timeout: Optional[float] = None) -> RwLockReadGuard[T]: ...
        def write(self, timeout: Optional[float] = None) -> RwLockWriteGuard[T]: ...
        def try_read(self) -> RwLockReadGuard[T]: ...
        def try_write(self) -> RwLockWriteGuard[T]: ...
        def is_poisoned(self) -> bool: ...
        def clear_poison(self) -> None: ...
        def into_inner(self) -> T: ...
        def get_mut(self) -> T: ...
        def set(self, value: T, /) -> None: ...
        def replace(self, value: T, /) -> T: ...
        def get_cloned(self) -> T: ...

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
