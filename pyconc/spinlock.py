"""A spin lock that parks: pyconc.SpinLock.

``SpinLock`` is a C type of the compiled module (``csrc/pyglue/pc_spin_py.h``),
built as CPython's ``_thread.lock``: it embeds its 4-byte lock word
(``csrc/pc_spin.h``), ``acquire`` and ``__enter__`` are the same C function,
and an uncontended acquire or release is one atomic operation with the GIL
held.  A contended acquire waits in C with the GIL released (spin, back off,
yield, then park on a futex), returning to the interpreter at least every
50 ms so that Ctrl-C interrupts it; a signal never leaves the lock taken by
a call that does not return True.

``SpinLock.from_buffer(buf, offset=0)`` places a robust, process-shared
variant (``csrc/pc_rspin.h``) in a caller's buffer: the lock word names the
owner's process, and a waiter that finds that process dead takes the lock
over and raises ``OwnerDied`` with the lock held (see its docstring).
``pyconc.ipc.SharedSpinLock`` is the same lock in a segment of its own.

The behaviour is ``threading.Lock``'s: ``acquire(blocking=True,
timeout=-1)`` (a timeout beyond what the platform can wait, such as
``threading.TIMEOUT_MAX``, waits without limit), ``release()`` (RuntimeError
"release unlocked lock" when not held), ``locked()``, any thread may
release, and it is not reentrant.  It cannot be pickled or copied.
"""

from __future__ import annotations

from pyconc import _core

__all__ = ["SpinLock"]

#: The lock (see the module's documentation and ``help(SpinLock)``).
SpinLock = _core.SpinLock
#: The type of ``SpinLock.from_buffer()``'s robust locks (a SpinLock
#: subtype; made only by from_buffer, subclassed by ipc.SharedSpinLock).
_RobustSpinLock = _core._RobustSpinLock
