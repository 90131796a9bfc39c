"""Atomic integers and booleans with explicit memory orderings.

``AtomicInt``, ``AtomicUInt``, ``AtomicBool`` and ``fence`` are C types and
a C function of the compiled module (``csrc/pyglue/pc_atomic_py.h``), over
the 8-byte cells of the C core (``csrc/pc_atomic.h``).  Every operation is
one C method call made with the GIL held (it never waits): the ordering is
checked and the value converted in C, and the ordering maps to the
matching C11 ``memory_order``.

Each object embeds its cell (32 bytes per object on 64-bit CPython, not
padded to a cache line, as Rust leaves padding to ``CachePadded``).
``from_buffer()`` returns an instance of a subtype (``AtomicIntView`` and
so on) whose cell lives in the caller's buffer, which it keeps exported.

Thread safety without the GIL: every access to a cell is a C11 atomic
operation, and nothing else in an atomic changes after construction (the
types are immutable, ``__init__`` changes nothing), so free-threaded builds
need no lock.

``AtomicRef`` (``csrc/pyglue/pc_atomicref_py.h``) is an atomic reference to
a Python object: load, store, swap, compare_exchange by identity and
fetch_update, each one step under the GIL or, on free-threaded builds, the
object's critical section (see ``docs/free-threading.md``).
"""

from __future__ import annotations

from pyconc._core import (  # type: ignore[attr-defined]
    AtomicBool,
    AtomicBoolView,
    AtomicInt,
    AtomicIntView,
    AtomicRef,
    AtomicUInt,
    AtomicUIntView,
    fence,
)
from pyconc._ordering import Ordering  # noqa: F401  (the signatures' defaults name it)

__all__ = ["AtomicInt", "AtomicUInt", "AtomicBool", "AtomicRef", "fence"]

#: The types from_buffer() returns (pyconc.ipc's shared atomics subclass them).
VIEW_TYPES = {AtomicInt: AtomicIntView, AtomicUInt: AtomicUIntView, AtomicBool: AtomicBoolView}
