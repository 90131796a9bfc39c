"""Rust's std::thread for Python: spawn, JoinHandle, scope, Builder.

A thread's result comes back through ``join()``; an exception it raised
comes back too, re-raised by ``join()`` itself with its traceback from the
thread and a note naming the thread, as ``Future.result()`` does (never
printed and forgotten, as ``threading`` does).  Rust wraps it in ``Err``; in
Python, ``except ValueError:`` around ``join()`` catches a ValueError raised
in the thread.  ``scope()`` raises an ``ExceptionGroup`` of every failure.  Joining waits on a
C futex word (a SpinLock's) with the GIL released, interruptibly.

``park(timeout=None)`` and ``current().unpark()`` / ``handle.thread().unpark()``
are Rust's ``thread::park``: every thread has a token (a ``pyconc.Parker``,
made for it on first use, or at spawn for pyconc's threads) that an
``unpark()`` makes available and ``park()`` consumes.
"""

from __future__ import annotations

import itertools
import sys
import threading
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Generic, List, Optional, ParamSpec, TypeVar

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - the backport, a dependency on 3.10
    from exceptiongroup import BaseExceptionGroup


from pyconc import _timeout
from pyconc.errors import Timeout
from pyconc.spinlock import SpinLock

if TYPE_CHECKING:

    class Unparker:
        """The waking half of a Parker."""

        def unpark(self) -> None: ...
        def clone(self) -> "Unparker": ...

    class Parker:
        """Parker(): a token one thread parks for (crossbeam's Parker)."""

        def park(self, timeout: Optional[float] = None) -> bool: ...
        def unparker(self) -> Unparker: ...
        def unpark(self) -> None: ...

else:
    from pyconc._core import Parker, Unparker

__all__ = ["spawn", "JoinHandle", "scope", "Scope", "Builder", "current", "park", "Thread",
           "Parker", "Unparker"]

T = TypeVar("T")
P = ParamSpec("P")

_counter = itertools.count(1)


class Thread:
    """A handle to a running thread, as Rust's ``std::thread::Thread``:
    ``name``, ``ident``, ``native`` (the ``threading.Thread``) and
    ``unpark()``, which makes the thread's park token available.  From
    ``pyconc.thread.current()`` or ``JoinHandle.thread()``.

    Thread safety without the GIL: every field is set at creation; unpark
    is the Unparker's one atomic exchange.
    """

    __slots__ = ("_native", "_unparker", "__weakref__")

    def __init__(self, native: threading.Thread, unparker: Unparker) -> None:
        self._native = native
        self._unparker = unparker

    @property
    def name(self) -> str:
        """The thread's name."""
        return self._native.name

    @property
    def ident(self) -> Optional[int]:
        """The thread's identifier (``threading.get_ident()`` inside it)."""
        return self._native.ident

    @property
    def native(self) -> threading.Thread:
        """The ``threading.Thread`` object of the thread."""
        return self._native

    def unpark(self) -> None:
        """unpark()

        Make the thread's token available: its next (or current)
        ``pyconc.thread.park()`` returns.  Never waits; several unparks
        before a park make one token.
        """
        self._unparker.unpark()

    def __repr__(self) -> str:
        return f"<pyconc.thread.Thread {self.name!r}>"


#: Each thread's parker and handle, made on first use (or by spawn).
_local = threading.local()


def _install(parker: Parker, handle: Thread) -> None:
    _local.parker = parker
    _local.thread = handle


def _parker() -> Parker:
    p = getattr(_local, "parker", None)
    if p is None:
        p = Parker()
        _install(p, Thread(threading.current_thread(), p.unparker()))
    return p


def park(timeout: Optional[float] = None) -> bool:
    """park(timeout=None) -> bool

    Block the calling thread until its token is available, and consume it
    (Rust's ``thread::park`` and ``park_timeout``).  Returns True once the
    token is taken, False if *timeout* seconds passed first.  An unpark
    made before the park is not lost.  The wait releases the GIL and is
    interruptible by Ctrl-C.
    """
    return bool(_parker().park(timeout))


def current() -> Thread:
    """current() -> Thread: the calling thread's handle (Rust's
    ``thread::current()``), whose ``unpark()`` wakes its ``park()``.
    (``.native`` is the ``threading.Thread``.)"""
    _parker()
    return _local.thread


class JoinHandle(Generic[T]):
    """The handle of a thread started by ``pyconc.spawn`` (or a scope).

    ``join(timeout=None)`` waits for the thread and returns its function's
    result, or re-raises the exception the thread raised (with the
    thread's traceback and a note naming it).  ``join`` may be called
    again; it gives the same outcome.
    ``is_finished()`` never waits.  ``name`` and ``ident`` describe the
    thread.  A handle dropped unjoined after its thread raised emits a
    RuntimeWarning, so the exception is never lost silently.

    Thread safety without the GIL: the handle holds a SpinLock from its
    creation until the thread's function has returned or raised; the
    thread writes its outcome before releasing it (a release store), and
    ``join`` reads the outcome only after acquiring it (an acquire), so
    the wait is the lock's: in C, the GIL released, interruptible.
    """

    __slots__ = ("_thread", "_done", "_result", "_error", "_tb", "_observed", "_parker",
                 "_handle", "__weakref__")

    def __init__(self, fn: Callable[..., T], args: tuple, kwargs: dict,
                 name: Optional[str], daemon: Optional[bool]) -> None:
        self._done = SpinLock()
        self._done.acquire()  # held until the thread's function ends
        self._result: Any = None
        self._error: Optional[BaseException] = None
        self._tb: Optional[TracebackType] = None
        self._observed = False
        if name is None:  # as threading names them, but after fn, not _run
            what = getattr(fn, "__qualname__", None) or type(fn).__name__
            name = f"Thread-{next(_counter)} ({what})"
        self._thread = threading.Thread(
            target=self._run, args=(fn, args, kwargs), name=name, daemon=daemon
        )
        # Made now, so that an unpark before the thread parks is kept.
        self._parker = Parker()
        self._handle = Thread(self._thread, self._parker.unparker())

    def _run(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> None:
        _install(self._parker, self._handle)
        try:
            self._result = fn(*args, **kwargs)
        except BaseException as exc:  # a panic: kept for join(), not printed
            note = f"(raised in thread {self._thread.name!r}, re-raised by its join())"
            if hasattr(exc, "add_note"):
                exc.add_note(note)
            else:  # 3.10: shown by the exceptiongroup backport's traceback
                exc.__notes__ = [*getattr(exc, "__notes__", ()), note]  # type: ignore[attr-defined]
            self._tb = exc.__traceback__  # the thread's frames, kept for every join
            self._error = exc
        finally:
            self._done.release()

    @property
    def name(self) -> str:
        """The thread's name."""
        return self._thread.name

    @property
    def ident(self) -> Optional[int]:
        """The thread's identifier (``threading.get_ident()`` inside it)."""
        return self._thread.ident

    def thread(self) -> Thread:
        """thread() -> Thread: the thread's handle (``unpark()``, ``name``),
        as Rust's ``JoinHandle::thread``."""
        return self._handle

    def is_finished(self) -> bool:
        """is_finished() -> bool

        True once the thread's function has returned or raised.  Never
        waits.
        """
        return not self._done.locked()

    def join(self, timeout: Optional[float] = None) -> T:
        """join(timeout=None) -> result

        Wait for the thread to finish and return its function's result.
        If the function raised, raise that same exception here, with its
        traceback from the thread and a note naming the thread (as
        ``concurrent.futures.Future.result()``): ``except ValueError:``
        around ``join()`` catches a ValueError the thread raised.  With *timeout* (seconds), raise ``pyconc.Timeout``
        (a TimeoutError) if the thread is still running after that long; a
        huge timeout waits without limit.  The wait releases the GIL
        and is interruptible by Ctrl-C.  A thread cannot join itself
        (RuntimeError).
        """
        if self._thread.ident == threading.get_ident():
            raise RuntimeError("a thread cannot join itself (it would wait forever)")
        limit = _timeout.optional_seconds(timeout)
        if not self._done.acquire(timeout=-1 if limit is None else limit):
            raise Timeout(f"join() timed out after {limit} s: {self.name} is still running")
        self._done.release()  # finished for good: every join may pass
        self._thread.join()  # the thread is past its function: returns at once
        self._observed = True
        if self._error is not None:
            # The thread's traceback each time, so that joining twice does
            # not pile up the joiner's frames.
            raise self._error.with_traceback(self._tb)
        return self._result

    def __del__(self) -> None:
        # A panic nobody joined would vanish silently: say so, as asyncio
        # does for a task whose exception was never retrieved.
        if getattr(self, "_error", None) is not None and not self._observed:
            warnings.warn(
                f"thread {self.name!r} panicked and was never joined: {self._error!r}",
                RuntimeWarning,
                stacklevel=1,
            )

    def __repr__(self) -> str:
        state = "finished" if self.is_finished() else "running"
        return f"<pyconc.JoinHandle {self.name!r} {state}>"


class Builder:
    """Builder()

    Thread settings before spawning, as Rust's ``thread::Builder``::

        h = pyconc.Builder().name("worker").spawn(work, 1, 2)

    Thread safety without the GIL: a Builder is configured and used by one
    thread (share the JoinHandles, not the Builder).
    """

    __slots__ = ("_name", "_daemon")

    def __init__(self) -> None:
        self._name: Optional[str] = None
        self._daemon: Optional[bool] = None

    def name(self, name: str) -> "Builder":
        """name(name) -> Builder: the thread's name."""
        if not isinstance(name, str):
            raise TypeError(f"thread name must be a str, not {type(name).__name__}")
        self._name = name
        return self

    def daemon(self, daemon: bool = True) -> "Builder":
        """daemon(daemon=True) -> Builder: do not keep the process alive."""
        self._daemon = bool(daemon)
        return self

    def spawn(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> JoinHandle[T]:
        """spawn(fn, *args, **kwargs) -> JoinHandle: start the thread."""
        return _spawn(fn, args, kwargs, self._name, self._daemon)


def _spawn(fn: Callable[..., T], args: tuple, kwargs: dict,
           name: Optional[str], daemon: Optional[bool]) -> JoinHandle[T]:
    if not callable(fn):
        raise TypeError(f"spawn() needs a callable, not {type(fn).__name__}")
    h: JoinHandle[T] = JoinHandle(fn, args, kwargs, name, daemon)
    h._thread.start()
    return h


def spawn(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> JoinHandle[T]:
    """spawn(fn, *args, **kwargs) -> JoinHandle

    Start a thread running ``fn(*args, **kwargs)`` and return its handle;
    ``handle.join()`` returns the result or re-raises the thread's
    exception.  (mypy checks *args* and *kwargs* against *fn*.)  For
    a name, use ``pyconc.Builder().name(...).spawn(...)``.
    """
    return _spawn(fn, args, kwargs, None, None)


class Scope:
    """The scope of ``with pyconc.scope() as s:``; ``s.spawn(fn, ...)``
    starts a thread that is joined when the block ends.

    Thread safety without the GIL: the handle list is guarded by a
    ``threading.Lock``.
    """

    __slots__ = ("_handles", "_lock", "_open")

    def __init__(self) -> None:
        self._handles: List[JoinHandle[Any]] = []
        self._lock = threading.Lock()
        self._open = True

    def spawn(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> JoinHandle[T]:
        """spawn(fn, *args, **kwargs) -> JoinHandle

        Start a thread that the scope joins at its end.  Its handle may be
        joined earlier; an exception observed that way is not raised again
        by the scope.  Raises RuntimeError once the scope has ended.
        """
        with self._lock:
            if not self._open:
                raise RuntimeError("this scope has ended; spawn threads inside its with block")
            h = _spawn(fn, args, kwargs, None, None)
            self._handles.append(h)
        return h

    def _join_all(self) -> List[BaseException]:
        """Join every thread; the exceptions of those whose failure nobody
        observed by joining, in spawn order."""
        failures: List[BaseException] = []
        i = 0
        while True:
            with self._lock:
                if i == len(self._handles):
                    self._open = False
                    return failures
                h = self._handles[i]
            i += 1
            observed = h._observed
            try:
                h.join()
            except BaseException as exc:
                if h._error is not exc:
                    raise  # not the thread's: Ctrl-C during the join
                if not observed:
                    failures.append(exc)


class scope:
    """scope()

    ``with pyconc.scope() as s:`` - threads spawned with ``s.spawn(fn,
    ...)`` are all joined when the block ends, as with Rust's
    ``thread::scope``, so they may use the block's local objects freely.
    If any of them raised (and its handle was not joined by hand), an
    ``ExceptionGroup`` of their exceptions, in spawn order, is raised once
    all are joined (a ``BaseExceptionGroup`` if one is not an Exception),
    as ``asyncio.TaskGroup`` does; catch one kind with ``except*``.  If the
    block itself raised an Exception too, it is the group's first member;
    a block left by KeyboardInterrupt or SystemExit propagates as is.
    Threads may spawn more threads in the same scope.  Ctrl-C interrupts
    the final joins (the threads keep running).

    Thread safety without the GIL: see Scope (its list has a lock).
    """

    __slots__ = ("_scope",)

    def __init__(self) -> None:
        self._scope = Scope()

    def __enter__(self) -> Scope:
        return self._scope

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        failures = self._scope._join_all()
        if not failures:
            return
        if exc is not None:
            if not isinstance(exc, Exception):
                return  # KeyboardInterrupt, SystemExit: let it through
            failures.insert(0, exc)
        n = len(failures)
        raise BaseExceptionGroup(
            f"{n} failure{'s' if n > 1 else ''} in a pyconc.scope", failures)
