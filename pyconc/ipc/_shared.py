"""The shared atomics and the robust spin lock: pyconc.atomic's types and
SpinLock.from_buffer's lock, each in a segment of its own."""

from __future__ import annotations

from typing import Any, Optional

from pyconc import _procs
from pyconc._closing import Closing
from pyconc._ordering import RELAXED
from pyconc.atomic import VIEW_TYPES, AtomicBool, AtomicInt, AtomicUInt
from pyconc.ipc._segment import (
    _BODY,
    _KIND_BOOL,
    _KIND_I64,
    _KIND_LOCK,
    _KIND_U64,
    _Segment,
    _state,
)
from pyconc.spinlock import SpinLock, _RobustSpinLock

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
            "__module__": "pyconc.ipc",
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

