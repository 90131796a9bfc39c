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
        """Mutex(value=None): a lock that owns *value* (Rust's Mutex<T>)."""

        def __init__(self, value: T = ...) -> None: ...
        def lock(self, timeout: Optional[float] = None) -> MutexGuard[T]: ...
        def try_lock(self) -> MutexGuard[T]: ...
        def is_poisoned(self) -> bool: ...
        def clear_poison(self) -> None: ...
        def into_inner(self) -> T: ...
        def get_mut(self) -> T: ...

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
