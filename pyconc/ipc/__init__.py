"""pyconc.ipc: atomics, a robust spin lock and an MPSC channel between processes.

Everything here lives in a POSIX shared-memory segment (``shm_open``; the
files in /dev/shm on Linux) that the object creates, and moves to another
process by pickling, which sends only the segment's name: pass the objects
to ``multiprocessing`` children as arguments, under the ``fork``, ``forkserver`` and
``spawn`` start methods alike (see "Fork children" below).

- ``SharedAtomicInt``, ``SharedAtomicUInt``, ``SharedAtomicBool``: the
  atomics of ``pyconc.atomic`` (same methods and orderings), in their own
  segment.
- ``SharedSpinLock``: ``SpinLock.from_buffer``'s robust lock in its own
  segment; when the process holding it dies, the next ``acquire`` raises
  ``OwnerDied`` with the lock held by the caller.
- ``channel(capacity_bytes)``: ``(Sender, Receiver)`` of a multi-producer,
  single-consumer channel of byte records in a shared ring
  (``csrc/pc_shring.h``): ``send`` pickles, ``send_bytes`` sends bytes as
  they are.

To share a *part* of a buffer you manage yourself, use the ``from_buffer``
constructors of ``AtomicInt`` & co. and ``SpinLock`` on
``multiprocessing.shared_memory.SharedMemory(...).buf``.

Segment lifetime.  Each segment keeps a table of the processes that use
it, with a count of references per process (a reference travels with each
pickle, and with each object a ``fork`` child inherits).  It is unlinked
(its name removed; mappings stay valid) when no live process holds a
reference any more (``close()``, garbage collection, or the exit of a
process that used it; references of a killed process stop counting), and
in any case when the process that created it exits; if that process is
killed, ``sweep_segments()`` (which pyconc runs, at most once a second,
whenever it creates a segment) or, at the latest, ``multiprocessing``'s
resource tracker when it stops removes it.  A segment's memory is
reserved when it is made (``posix_fallocate``): a /dev/shm too small for
it raises OSError (ENOSPC) there, never SIGBUS later.  After the name is gone, pickled copies can no longer be opened
(FileNotFoundError).  A pickle that is never unpickled keeps its reference
for as long as the process that pickled it lives.

Closed objects.  ``close()`` gives up the object's reference; the object
keeps its mapping (so nothing can crash) until it is garbage collected.
The atomics and the lock keep working on that mapping; a closed Sender or
Receiver raises ``HandleClosed`` (the rule of ``pyconc.errors``).  The
channel's ends keep their mapping in a ``pyconc._core.IpcHandle``, a C
type that exposes no address.

Fork children.  A ``multiprocessing`` child gets the same handles under
every start method: those ``spawn`` would send it, i.e. the Senders and
Receivers reachable from its Process object (``target``, ``args``,
``kwargs``, attributes of a Process subclass, through tuples, lists,
dicts, sets, ``functools.partial``, bound methods and objects'
attributes).  Under ``fork`` the child inherits every object of its
parent, but a Sender it was not passed is *dormant* there: it holds no
handle, so it does not keep the channel open (``closed`` is True, and
sending, cloning or pickling it raises HandleClosed saying what to do).
That is what makes a pipeline written as for ``spawn`` work under
``fork``: the middle stage of ``a -> b -> c`` inherits the parent's
Sender of its own input, which would otherwise keep that input connected
for ever.  To let fork children use a Sender they reach another way (a
module global, a closure), mark it in the parent before starting them:
``tx.set_inheritable(True)``.  A Receiver passed to a fork child moves to
it on the child's first receive; closing the parent's copy while that
child runs leaves the receiving side to it (as closing a pickled Receiver
does under ``spawn``).  The decision is taken in the parent, as
``Process.start()`` forks (the fork hook finds the Process object in
``multiprocessing``'s fork ``Popen``), so no count can drop to zero in
between; the walk looks at 100,000 objects at most, and a child whose
Process reaches more keeps every Sender it inherits.  A child of a bare ``os.fork()`` has no Process object: it keeps
every Sender it inherits, as it keeps file descriptors; close those it does
not use.

Several consumer processes.  ``channel()`` has one receiving side, held
by one process at a time (it moves with a pickled Receiver, or to a fork
child on its first receive).  The ring itself would hand each record to
exactly one receiver (receives are serialised by a receive lock in shared
memory), but the rest of the protocol is single-consumer: the Senders
watch one receiving process (``rx_pid``) for liveness and see the channel
gone when it closes or dies, the consumer's eventcount wakes one waiter,
and a consumer that dies holding the receive lock is recovered by the
next one to receive as the *same* receiving side.  For a pool of consumer
processes, give each worker a channel of its own and let the producer (or
one dispatcher process reading the shared channel) choose, or use
``multiprocessing.Queue``, which is multi-consumer.

POSIX only (Linux, macOS).  Process ids name the owners of locks and the
ends of channels; the limits of that (pid reuse, pid namespaces) are
described in ``csrc/pc_ipc.h``.

Layout of the package (one module per concern): ``_segment`` (segments,
their users tables and lifetimes, the sweep), ``_shared`` (the shared
atomics and lock), ``_sender`` and ``_receiver`` (the channel's ends over
the C ``IpcHandle``, ``csrc/pyglue/pc_shring_py.h``), ``_channel`` (the
factory), ``_fork`` (the process registry: fork and exit hooks).  asyncio
is not imported here: ``recv_async`` imports ``pyconc._async`` on first use.
"""

from __future__ import annotations

from pyconc import _procs  # noqa: F401  (tests patch pyconc.ipc._procs.pid)
from pyconc.errors import (  # noqa: F401  (pyconc.ipc.Disconnected etc., as before the split)
    ChannelError,
    Disconnected,
    Empty,
    HandleClosed,
    OwnerDied,
    PyconcError,
    SendError,
    Timeout,
)
from pyconc.ipc import _fork  # noqa: F401  (registers the fork and exit hooks)
from pyconc.ipc._channel import channel
from pyconc.ipc._fork import _handles_reachable  # noqa: F401
from pyconc.ipc._receiver import Receiver, _rebuild_receiver  # noqa: F401
from pyconc.ipc._segment import (  # noqa: F401
    _BODY,
    _KIND_CHANNEL,
    _IpcHandle,
    _Segment,
    sweep_segments,
)
from pyconc.ipc._sender import (  # noqa: F401  (_rebuild_*: where pickles made
    MAX_SENDER_PROCESSES,         # before the package split look them up)
    ReceiverGone,
    Sender,
    _rebuild_sender,
)
from pyconc.ipc._shared import (  # noqa: F401
    _rebuild_shared,
    SharedAtomicBool,
    SharedAtomicInt,
    SharedAtomicUInt,
    SharedSpinLock,
)

__all__ = [
    "SharedAtomicInt",
    "SharedAtomicUInt",
    "SharedAtomicBool",
    "SharedSpinLock",
    "channel",
    "Sender",
    "Receiver",
    "ReceiverGone",
    "OwnerDied",
    "MAX_SENDER_PROCESSES",
    "sweep_segments",
]

# The public names are pyconc.ipc's (reprs, documentation, pickles of a
# class by reference), wherever in the package they are defined.
for _cls in (SharedSpinLock, Sender, Receiver, ReceiverGone):
    _cls.__module__ = __name__
for _fn in (sweep_segments,):
    _fn.__module__ = __name__
del _cls, _fn
