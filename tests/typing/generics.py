"""Checked by mypy (tests/test_typing.py runs it on this file) and run by
pytest: the generic constructors and types of issue 13.

``assert_type`` makes mypy fail on a wrong type; the ``reveal_type`` lines
(only seen by mypy) are compared with what test_typing.py expects.
"""

import sys
from typing import TYPE_CHECKING, List

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover - 3.10
    from typing_extensions import assert_type

import pyconc
from pyconc import ipc
from pyconc.broadcast import BroadcastReceiver, BroadcastSender
from pyconc.sync import MutexGuard, RwLockReadGuard, RwLockWriteGuard


def check_channels() -> None:
    tx, rx = pyconc.channel[int]()
    assert_type(tx, pyconc.Sender[int])
    assert_type(rx, pyconc.Receiver[int])
    tx.send(1)
    tx.send(2)
    assert_type(rx.recv(), int)
    assert_type(rx.recv_many(8), List[int])
    tx.close()

    stx, srx = pyconc.sync_channel[str](4)
    assert_type(stx, pyconc.Sender[str])
    assert_type(srx, pyconc.Receiver[str])
    stx.send("a")
    assert_type(srx.recv(), str)

    btx, brx = pyconc.broadcast[bytes](8)
    assert_type(btx, BroadcastSender[bytes])
    assert_type(brx, BroadcastReceiver[bytes])
    btx.send(b"x")
    assert_type(brx.recv(), bytes)

    # An annotation says it as well.
    atx: pyconc.Sender[float]
    arx: pyconc.Receiver[float]
    atx, arx = pyconc.channel()
    atx.send(1.5)
    assert_type(arx.recv(), float)

    if TYPE_CHECKING:
        reveal_type(pyconc.channel[int]())  # noqa: F821
        reveal_type(pyconc.sync_channel[str](1))  # noqa: F821
        reveal_type(pyconc.broadcast[bytes](1))  # noqa: F821
        reveal_type(ipc.channel[int]())  # noqa: F821


def check_ipc() -> None:
    tx, rx = ipc.channel[int](capacity_bytes=1 << 12)
    assert_type(tx, ipc.Sender[int])
    assert_type(rx, ipc.Receiver[int])
    tx.send(7)
    tx.send_bytes(b"raw")
    assert_type(rx.recv(timeout=5), int)
    assert_type(rx.recv_bytes(timeout=5), bytes)
    assert_type(tx.clone(), ipc.Sender[int])
    assert_type(tx.get_inheritable(), bool)
    tx.close()
    for item in rx:
        assert_type(item, int)
    rx.close()
    with ipc.SharedAtomicInt(3) as counter:
        assert_type(counter.fetch_add(1), int)


def check_runtime_subscripts() -> None:
    # What annotations evaluated at runtime need.
    for t in (pyconc.Sender, pyconc.Receiver, BroadcastSender, BroadcastReceiver,
              ipc.Sender, ipc.Receiver, pyconc.Mutex, pyconc.RwLock, pyconc.OnceLock, MutexGuard, RwLockReadGuard,
              RwLockWriteGuard):
        assert getattr(t[int], "__origin__") is t
