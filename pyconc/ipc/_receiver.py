"""The receiving end of pyconc.ipc's channel."""

from __future__ import annotations

import sys
import weakref
from typing import Any, Iterator, List, Optional

from pyconc import _procs, _timeout
from pyconc._closing import Closing
from pyconc.errors import ChannelError, Disconnected, Empty, HandleClosed
from pyconc.ipc._segment import _KIND_CHANNEL, _Segment, _state
from pyconc.ipc._sender import _class_getitem, _open_ring

#: Live Receivers of this process (for fork and exit).
_receivers: "weakref.WeakSet[Receiver]" = weakref.WeakSet()


def _stop_watcher(rx: "Receiver") -> None:
    """Stop rx's asyncio watcher, if it has one: only pyconc._async starts
    them, so if that module was never imported there is none (and asyncio
    is not imported for it: ``import pyconc.ipc`` does not import it)."""
    a = sys.modules.get("pyconc._async")
    if a is not None:
        a.ipc_stop(rx)


class Receiver(Closing):
    """The receiving end of a ``pyconc.ipc.channel``.

    ``recv(timeout=None)`` returns the next object (unpickled);
    ``recv_bytes`` the next record as bytes.  Records from one Sender
    arrive in the order it sent them; records of different Senders in the
    order their senders claimed ring space.  A receive waits while the ring
    is empty (Timeout when *timeout* runs out) and raises Disconnected once
    it is empty and every Sender, in every process, is gone.  ``try_recv``
    raises Empty instead of waiting.  Iterating receives until
    Disconnected.  Receiving on a Receiver closed with ``close()`` raises
    HandleClosed.

    A record that cannot be unpickled (its class not importable here, a
    raising ``__setstate__``, a ``send_bytes`` record) raises the
    unpickling error with the record's bytes in the exception's ``.data``;
    in ``recv_many`` the records before it are returned first and those
    after it stay queued for the next receive: nothing is lost.

    One process receives at a time.  The receiving side belongs to the
    process that created the channel, moves with a pickled Receiver to the
    process that unpickles it, and to a ``fork`` child when that child
    first *receives* on its inherited copy (looking at it, ``len(rx)``,
    ``rx.name``, ``rx.skipped``, takes nothing); the Senders see it gone
    when that process closes it (``close()`` or its exit) or dies.  A
    process that takes the receiving side over from one that died in the
    middle of a receive repairs what it left (see ``csrc/pc_shring.h``);
    the records the dead one had taken out are lost with it.  Garbage
    collection of a Receiver does not close the receiving side (a copy may
    live on in a child).

    A producer killed in the middle of a send leaves a record that is never
    committed; the receiver skips it once its process is found dead (after
    about 20 ms), and counts it in ``skipped``.

    Thread safety (with or without the GIL): receives from several
    threads are safe; each takes the C handle's buffer (an atomic ``busy``
    word) for the time it copies records out of the ring into bytes
    objects (never while unpickling them), and receives from several
    processes are serialised by a receive lock in shared memory.  Closing
    is under the module's bookkeeping lock.
    """

    __slots__ = ("_seg", "_c", "_pid", "_moved", "_live", "_lent", "__weakref__")

    __class_getitem__ = classmethod(_class_getitem)

    _BATCH = 256

    @classmethod
    def _new(cls, seg: _Segment, c: Any) -> "Receiver":
        self = cls.__new__(cls)
        self._seg = seg
        self._c = c
        self._pid = _procs.pid
        self._moved = False
        self._live = True  # False: closed, moved, or inherited by fork (see _claim)
        self._lent: List[Any] = []  # weak references to fork children passed it
        _receivers.add(self)
        return self

    def _lent_to(self, proc: object) -> None:
        """A multiprocessing child being forked is passed this Receiver."""
        with _state:
            self._lent = [r for r in self._lent if r() is not None]
            self._lent.append(weakref.ref(proc))

    def _lent_out(self) -> bool:
        """True while a fork child that was passed this Receiver runs: it
        takes the receiving side on its first receive, so closing our copy
        must not close the side under it."""
        for ref in self._lent:
            proc = ref()
            try:
                if proc is not None and proc.is_alive():  # type: ignore[attr-defined]
                    return True
            except (AssertionError, ValueError, OSError):  # not our child, or closed
                continue
        return False

    @classmethod
    def attach(cls, name: str) -> "Receiver":
        """attach(name) -> Receiver

        Take the receiving side of the channel whose segment is *name*
        into this process.  Errors as Sender.attach().
        """
        seg = _Segment.attach(name, _KIND_CHANNEL)
        rx = cls._new(seg, _open_ring(seg))
        rx._c.set_receiver(_procs.pid)
        return rx

    @property
    def name(self) -> str:
        """The channel's segment name."""
        return self._open_seg().name.lstrip("/")

    @property
    def closed(self) -> bool:
        return self._seg is None

    @property
    def skipped(self) -> int:
        """Records skipped because their producer died while writing them."""
        self._open_seg()
        return self._c.stats()[0]

    def _open_seg(self) -> _Segment:
        """Raise if this Receiver is closed (a look: claims nothing)."""
        seg = self._seg
        if seg is None:
            raise HandleClosed("this Receiver is closed")
        return seg

    def _claim(self) -> None:
        """Raise if this Receiver cannot receive; take the receiving side
        if this is a fork child's first receive."""
        self._open_seg()
        if self._moved:
            raise ChannelError("this Receiver was pickled to another process")
        if self._pid != _procs.pid:
            # A fork child receiving on its inherited copy: take the
            # receiving side.
            self._pid = _procs.pid
            self._c.set_receiver(self._pid)
        self._live = True

    def __len__(self) -> int:
        """Records waiting in the ring (including any being written)."""
        self._open_seg()
        return self._c.len()

    # -- receiving

    def recv(self, timeout: Optional[float] = None) -> Any:
        """recv(timeout=None) -> object

        Receive the next record and unpickle it, waiting while the ring is
        empty: without limit if *timeout* is None, else for at most
        *timeout* seconds (then Timeout).  Raises Disconnected when the
        ring is empty and every Sender is gone.  The wait releases the GIL
        and lets Ctrl-C through.
        """
        if not self._live:
            self._claim()
        return self._c.recv(timeout)

    def recv_timeout(self, timeout: float) -> Any:
        """recv_timeout(timeout) -> object: recv() with a timeout."""
        if not self._live:
            self._claim()
        return self._c.recv(_timeout.seconds(timeout))

    def try_recv(self) -> Any:
        """try_recv() -> object

        The next object if one is waiting; else Empty, or Disconnected if
        every Sender is gone.
        """
        if not self._live:
            self._claim()
        return self._c.try_recv()

    def recv_bytes(self, timeout: Optional[float] = None) -> bytes:
        """recv_bytes(timeout=None) -> bytes

        As recv(), but return the record's bytes as they were sent.
        """
        if not self._live:
            self._claim()
        return self._c.recv_bytes(timeout)

    def try_recv_bytes(self) -> bytes:
        """try_recv_bytes() -> bytes: try_recv() without unpickling."""
        if not self._live:
            self._claim()
        return self._c.try_recv_bytes()

    def recv_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[Any]:
        """recv_many(max_items=256, timeout=None) -> list

        Wait as recv() does for at least one object, then return it with
        the others already waiting, up to *max_items*, in order (one call
        into C for up to 256 records).  Timeout and Disconnected as
        recv().  A record that cannot be unpickled ends the batch: the
        objects before it are returned; the next call raises its error
        (with its bytes in ``.data``), and the records after it come
        after.
        """
        if not self._live:
            self._claim()
        return self._c.recv_many(max_items, timeout, True)

    def recv_bytes_many(self, max_items: int = 256, timeout: Optional[float] = None) -> List[bytes]:
        """recv_bytes_many(max_items=256, timeout=None) -> list of bytes:
        recv_many() without unpickling."""
        if not self._live:
            self._claim()
        return self._c.recv_many(max_items, timeout, False)

    def __iter__(self) -> "Receiver":
        """Iterating receives objects until the channel is disconnected and
        empty (``for x in rx``); ``async for`` does the same with
        recv_async()."""
        return self

    def __next__(self) -> Any:
        try:
            return self.recv()
        except Disconnected:
            raise StopIteration from None

    def __aiter__(self) -> "Receiver":
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.recv_async()
        except Disconnected:
            raise StopAsyncIteration from None

    def try_iter(self) -> Iterator[Any]:
        """try_iter(): yield the objects waiting now, without waiting."""
        while True:
            try:
                yield self.try_recv()
            except (Empty, Disconnected):
                return

    async def recv_async(self, timeout: Optional[float] = None) -> Any:
        """recv_async(timeout=None) -> object

        Await the next object without blocking the event loop, and without
        polling: while coroutines of this process await this Receiver, one
        watcher thread (per Receiver, not per await) waits on the ring's
        shared futex, which the Senders' processes signal, and wakes the
        coroutines through their event loops' file descriptors
        (``pyconc/_async.py``).  Cancelling it loses nothing (an object is
        taken only when the coroutine resumes).  Timeout and Disconnected
        as recv().
        """
        from pyconc import _async  # on first use: it sets up asyncio's side

        return await _async.ipc_recv(self, timeout)

    # -- handles

    def close(self) -> None:
        """close() -> None

        Close the receiving side, if this process holds it: Senders then
        raise Disconnected, and what was not received is lost.  In any
        other process, just drop this copy.  Receiving on a closed Receiver
        raises HandleClosed; closing twice does nothing.
        """
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is None:
            return
        _receivers.discard(self)
        _stop_watcher(self)  # its asyncio watcher, before the ring goes
        c = self._c
        c.close()
        if (not self._moved and c.receiver() == _procs.pid == self._pid
                and not self._lent_out()):
            c.close_receiver()
        seg.release()

    def _drop(self) -> None:
        """Let go of the mapping without closing the receiving side."""
        with _state:
            seg, self._seg = self._seg, None
        self._live = False
        if seg is not None:
            _receivers.discard(self)
            _stop_watcher(self)  # its asyncio watcher, before the ring goes
            self._c.close()
            seg.release()

    def __del__(self) -> None:
        try:
            self._drop()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __copy__(self) -> "Receiver":
        raise TypeError(
            "a Receiver cannot be copied: there is one receiving side; pickle "
            "it to move it to another process"
        )

    def __deepcopy__(self, memo: Any) -> "Receiver":
        return self.__copy__()

    def __reduce__(self) -> Any:
        self._claim()
        self._seg.share()  # type: ignore[union-attr]
        self._moved = True
        self._live = False
        return (_rebuild_receiver, (self._seg.name, _procs.pid))  # type: ignore[union-attr]

    def __repr__(self) -> str:
        where = self._seg.name if self._seg else "(closed)"
        return f"<pyconc.ipc.Receiver {where}>"


def _rebuild_receiver(name: str, carried_by: int) -> Receiver:
    seg = _Segment.attach(name, _KIND_CHANNEL, carried_by)
    rx = Receiver._new(seg, _open_ring(seg))
    rx._c.set_receiver(_procs.pid)
    return rx

