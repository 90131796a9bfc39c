"""channel(): a Sender and a Receiver over a new ring in a new segment."""

from __future__ import annotations

from pyconc import _procs
from pyconc._generic import subscriptable
from pyconc._native import lib
from pyconc.ipc._receiver import Receiver
from pyconc.ipc._segment import _KIND_CHANNEL, _Segment
from pyconc.ipc._sender import Sender

def channel(capacity_bytes: int = 1 << 20) -> "tuple[Sender, Receiver]":
    """channel(capacity_bytes=1 MiB) -> (Sender, Receiver)

    A multi-producer, single-consumer channel between processes, over a
    ring of *capacity_bytes* (rounded up to a power of two, at least 1 KiB)
    in a shared-memory segment.  The ring is made of 64-byte cells, each
    carrying 56 bytes of a record (48 in a record's first, after its
    length): a small pickled message takes one cell.  One record may use
    the whole ring (``Sender.max_record_bytes``; at most 112 MiB).  Both
    ends can be passed to child processes (pickled by the segment's name;
    under ``fork`` they are inherited); Senders can be cloned.  At most
    ``MAX_SENDER_PROCESSES`` (256) processes hold Senders at once; the
    slot of a process that died, even in the middle of a send, is reused,
    so over its life a channel serves any number of producer processes.
    See Sender and Receiver for the semantics of each operation, which
    mirror ``pyconc.channel``'s.  The shared memory is reserved when the
    channel is made: OSError (ENOSPC) if /dev/shm cannot hold it.
    """
    if isinstance(capacity_bytes, bool) or not isinstance(capacity_bytes, int):
        raise TypeError(
            f"capacity_bytes must be an int, not {type(capacity_bytes).__name__}"
        )
    if capacity_bytes <= 0:
        raise ValueError("capacity_bytes must be positive")
    cells = lib.pc_shring_cells_for(capacity_bytes) if capacity_bytes < 1 << 40 else 0
    if cells == 0:
        raise ValueError("capacity_bytes is too large (at most 4 GiB)")
    seg = _Segment.create(_KIND_CHANNEL, lib.pc_shring_bytes(cells))
    try:
        c = seg.ring(cells)
    except BaseException:
        seg.release()
        raise
    seg.acquire()  # for the Sender and the Receiver below
    tx = Sender._new(seg, c)
    rx = Receiver._new(seg, seg.ring())
    rx._c.set_receiver(_procs.pid)
    return tx, rx


# ipc.channel[int](): the item is for type checkers (pyconc/_generic.py).
channel = subscriptable(channel)
