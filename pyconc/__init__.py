"""pyconc: Rust-grade concurrency primitives for Python, on a C11 core.

Atomics with memory orderings, a spin lock that parks, channels, Rust's
std::sync types, and cross-process primitives in shared memory
(``pyconc.ipc``).  The work is done in C (``pyconc._core``, built with cffi): calls that cannot
wait keep the GIL, calls that wait release it and stay interruptible.
"""

from pyconc._native import lib as _lib  # fails loudly if the core is missing
from pyconc._ordering import ACQ_REL, ACQUIRE, RELAXED, RELEASE, SEQ_CST, Ordering
from pyconc.atomic import AtomicBool, AtomicInt, AtomicRef, AtomicUInt, fence
from pyconc.spinlock import SpinLock
from pyconc.channel import Receiver, Select, Selected, Sender, channel, select, sync_channel
from pyconc.sync import Barrier, Condvar, Mutex, Once, OnceLock, RwLock, Semaphore, WaitGroup
from pyconc.thread import Builder, JoinHandle, Parker, Unparker, scope, spawn
from pyconc.broadcast import broadcast, broadcast_sender
from pyconc.errors import (
    PyconcError,
    HandleClosed,
    OwnerDied,
    ChannelError,
    Disconnected,
    Empty,
    Full,
    SendError,
    Timeout,
    Closed,
    Lagged,
    PoisonError,
    WouldBlock,
)

__version__ = "0.1.0"

__all__ = [
    "Ordering",
    "RELAXED",
    "ACQUIRE",
    "RELEASE",
    "ACQ_REL",
    "SEQ_CST",
    "AtomicInt",
    "AtomicUInt",
    "AtomicBool",
    "AtomicRef",
    "fence",
    "Parker",
    "Unparker",
    "Semaphore",
    "WaitGroup",
    "SpinLock",
    "channel",
    "sync_channel",
    "Sender",
    "Receiver",
    # MPMC select (issue 13)
    "select",
    "Select",
    "Selected",
    "PyconcError",
    "HandleClosed",
    "OwnerDied",
    "ChannelError",
    "SendError",
    "Empty",
    "Full",
    "Disconnected",
    "Timeout",
    # std::sync, std::thread, tokio::sync::broadcast (issue 4)
    "Mutex",
    "RwLock",
    "Condvar",
    "Barrier",
    "Once",
    "OnceLock",
    "spawn",
    "scope",
    "Builder",
    "JoinHandle",
    "broadcast",
    "broadcast_sender",
    "WouldBlock",
    "PoisonError",
    "Lagged",
    "Closed",
    "ipc",
]

del _lib


from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from pyconc import ipc as ipc
else:

    def __getattr__(name: str):
        # pyconc.ipc on first use: it imports multiprocessing's machinery,
        # which would add half again to the import time of pyconc for all.
        if name == "ipc":
            import importlib

            return importlib.import_module("pyconc.ipc")
        raise AttributeError(f"module 'pyconc' has no attribute {name!r}")
