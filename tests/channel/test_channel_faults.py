"""Channels under faults: nothing lost, duplicated or leaked (issue 12), and
the waits in C (issue 11): Ctrl-C, a raising iterator, copies, closes."""

import copy
import gc
import random
import signal
import threading
import time
import weakref

import pytest

import pyconc
from pyconc import HandleClosed, SendError, Timeout, channel, sync_channel

from _interrupt import assert_interrupts
from conftest import scaled

pytestmark = pytest.mark.faults  # the kind of test (tests/README.md)

KINDS = {
    "channel": channel,
    "sync_channel(0)": lambda: sync_channel(0),
    "sync_channel(1)": lambda: sync_channel(1),
    "sync_channel(4)": lambda: sync_channel(4),
    "sync_channel(1024)": lambda: sync_channel(1024),
}


def _drain_in_thread(rx):
    """Receive until disconnected in a thread; returns (thread, got)."""
    got = []

    def run():
        for v in rx:
            got.append(v)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, got


# ------------------------------------------------- send_many and iterators


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
@pytest.mark.parametrize("fail_at", [0, 1, 5, 63, 64, 65, 130])
def test_send_many_iterator_raising_loses_nothing(make, fail_at):
    # Regression (issue 12): the values yielded since the last batch of 64
    # were neither sent nor reported when the iterator raised.
    tx, rx = make()
    t, got = _drain_in_thread(rx)

    def values():
        for i in range(fail_at):
            yield i
        raise RuntimeError("iterator broke")

    with pytest.raises(RuntimeError, match="iterator broke"):
        tx.send_many(values())
    tx.close()
    t.join(10)
    assert got == list(range(fail_at))  # every value yielded was sent


def test_send_many_iterator_raising_then_receiver_closed_hands_values_back():
    tx, rx = sync_channel(1)
    rx.close()

    def values():
        yield "a"
        yield "b"
        raise RuntimeError("iterator broke")

    with pytest.raises(SendError) as info:
        tx.send_many(values())
    assert info.value.value == ["a", "b"]
    assert isinstance(info.value.__context__, RuntimeError)


def test_send_many_sender_closed_while_waiting_hands_values_back():
    tx, rx = sync_channel(2)
    errors = []

    def run():
        try:
            tx.send_many(list(range(10)))
        except HandleClosed as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    while len(rx) < 2:
        time.sleep(0.001)
    time.sleep(0.01)
    tx.close()
    t.join(10)
    assert errors and errors[0].value == list(range(2, 10))
    assert list(rx.try_iter()) == [0, 1]


# ------------------------------------------------------------- copies


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_copy_and_deepcopy_refuse_clearly(make):
    # Regression (issue 12): deepcopy failed with a TypeError about
    # __copy__'s arguments.
    tx, rx = make()
    for h, word in ((tx, "clone"), (rx, "Receiver")):
        for fn in (copy.copy, copy.deepcopy):
            with pytest.raises(TypeError) as info:
                fn(h)
            msg = str(info.value)
            assert word in msg and "argument" not in msg, msg
        with pytest.raises(TypeError):
            copy.deepcopy([h])


def test_handles_are_not_subclassable_and_have_no_dict():
    tx, rx = channel()
    for h in (tx, rx):
        with pytest.raises(TypeError):
            class Sub(type(h)):  # noqa: F841
                pass
        with pytest.raises(AttributeError):
            h.anything = 1
        with pytest.raises(AttributeError):
            h._addr = 8  # no address to overwrite
        with pytest.raises(AttributeError):
            h.closed = True
        h.__init__()  # no __init__ of its own: re-running it changes nothing
    tx.send(1)
    assert rx.recv() == 1


# ------------------------------------------------------------- timeouts


@pytest.mark.parametrize("make", [lambda: sync_channel(0), lambda: sync_channel(1)],
                         ids=["sync_channel(0)", "sync_channel(1)"])
def test_send_timeout_hands_value_back_and_sends_nothing(make):
    tx, rx = make()
    if len(rx) == 0 and rx._state()[1] == 1 and rx._state()[0] == 1:
        tx.send("filler")
    v = object()
    with pytest.raises(Timeout) as info:
        tx.send_timeout(v, 0.02)
    assert info.value.value is v
    assert isinstance(info.value, TimeoutError)
    rest = list(rx.try_iter())
    assert v not in rest


def test_rendezvous_try_send_with_a_waiting_receiver():
    tx, rx = sync_channel(0)
    got = []
    t = threading.Thread(target=lambda: got.append(rx.recv(timeout=10)))
    t.start()
    while not rx._state()[4]:
        time.sleep(0.001)
    deadline = time.monotonic() + 10
    while True:  # the receiver may be between slices: retry
        try:
            tx.try_send("now")
            break
        except pyconc.Full:
            assert time.monotonic() < deadline
    t.join(10)
    assert got == ["now"]


# --------------------------------------------------------------- Ctrl-C


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_ctrl_c_interrupts_a_blocking_recv(make):
    tx, rx = make()
    assert_interrupts(rx.recv)
    assert_interrupts(lambda: rx.recv_many(10))
    assert_interrupts(lambda: rx.recv(timeout=60))
    assert_interrupts(lambda: list(rx))
    tx.send_many([] if make is KINDS["sync_channel(0)"] else [1])
    if make is not KINDS["sync_channel(0)"]:
        assert rx.recv() == 1  # the channel works on


@pytest.mark.parametrize("bound", [0, 1, 3])
def test_ctrl_c_interrupts_a_blocking_send(bound):
    tx, rx = sync_channel(bound)
    for i in range(bound):
        tx.send(i)
    v = object()
    assert_interrupts(lambda: tx.send(v))
    assert_interrupts(lambda: tx.send_timeout(v, 60))
    with pytest.raises(KeyboardInterrupt) as info:
        def later():
            time.sleep(0.2)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

        t = threading.Thread(target=later)
        t.start()
        try:
            tx.send_many(iter(["x", "y"]))
        finally:
            t.join()
    assert info.value.value == ["x", "y"]  # handed back, not lost
    assert list(rx.try_iter()) == list(range(bound))  # and nothing more sent


class _Firing:
    """SIGINT to the main thread at random moments, until stopped.  The
    handler raises KeyboardInterrupt once per arm(): the bookkeeping
    between two calls runs disarmed, so that a second signal cannot land in
    an except block and escape the test."""

    def __init__(self, seed):
        self.stop = threading.Event()
        self.rnd = random.Random(seed)
        self.main = threading.main_thread().ident
        self.thread = threading.Thread(target=self._run)
        self.armed = False
        self.previous = None

    def _run(self):
        while not self.stop.is_set():
            time.sleep(self.rnd.uniform(0, 0.004))
            signal.pthread_kill(self.main, signal.SIGINT)

    def _handler(self, signum, frame):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def arm(self):
        self.armed = True

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handler)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.armed = False
        self.stop.set()
        self.thread.join()
        time.sleep(0.05)  # let a last signal reach the (disarmed) handler
        signal.signal(signal.SIGINT, self.previous)


# The main thread's operations below are C calls that consume and record
# in C (list.extend over the Receiver; send_many over a list iterator), so
# that a KeyboardInterrupt raised by the interpreter just before or after
# them (which no library can prevent) still leaves exact accounts: only a
# signal that lands inside the wait tells apart "done" from "not done".


@pytest.mark.parametrize("bound", [0, 1, 8])
def test_ctrl_c_campaign_send_neither_loses_nor_duplicates(bound):
    n = scaled(400)
    tx, rx = sync_channel(bound)
    got = []
    rnd = random.Random(3)

    def receive():
        while True:
            try:
                got.append(rx.recv())
            except pyconc.Disconnected:
                return
            if rnd.random() < 0.3:
                time.sleep(rnd.uniform(0, 0.002))

    p = threading.Thread(target=receive)
    p.start()
    sent, pending, interrupted = [], list(range(n)), 0
    with _Firing(7) as fire:
        while pending:
            it = iter(pending)
            try:
                fire.arm()
                tx.send_many(it)
                fire.armed = False  # (a signal just before this line: see below)
                sent.extend(pending)
                pending = []
            except KeyboardInterrupt as exc:
                interrupted += 1
                left = list(it)
                taken = pending[:len(pending) - len(left)]
                unsent = getattr(exc, "value", None)
                if unsent is None:  # raised outside the call: all or nothing
                    assert not taken or not left
                    unsent = []
                assert taken[len(taken) - len(unsent):] == unsent
                sent.extend(taken[:len(taken) - len(unsent)])
                pending = unsent + left
    tx.close()
    p.join(30)
    assert not p.is_alive()
    assert sent == list(range(n))
    assert got == sent, "a value was lost or duplicated"
    assert interrupted > 0


@pytest.mark.parametrize("make", [channel, lambda: sync_channel(0), lambda: sync_channel(4)],
                         ids=["channel", "sync_channel(0)", "sync_channel(4)"])
def test_ctrl_c_campaign_recv_neither_loses_nor_duplicates(make):
    n = scaled(400)
    tx, rx = make()
    rnd = random.Random(5)

    def produce():
        with tx:
            for i in range(n):
                tx.send(i)
                if rnd.random() < 0.3:
                    time.sleep(rnd.uniform(0, 0.002))

    p = threading.Thread(target=produce)
    p.start()
    got, interrupted = [], 0
    with _Firing(11) as fire:
        while True:
            try:
                fire.arm()
                got.extend(rx)  # until disconnected
                break
            except KeyboardInterrupt:
                interrupted += 1
    p.join(30)
    assert got == list(range(n)), "a value was lost or duplicated"
    assert interrupted > 0


# ------------------------------------------------------------ gc cycles


@pytest.mark.parametrize("make", [channel, lambda: sync_channel(8)],
                         ids=["channel", "sync_channel(8)"])
def test_actor_holding_its_own_inbox_is_collected(make):
    # Regression (issue 12): a cycle through a value queued in a channel
    # was never collected (queue.SimpleQueue's is).
    class Actor:
        def __init__(self):
            self.tx, self.rx = make()
            self.tx.send(("ping", self))  # a message pointing back at us

    a = Actor()
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None, "the actor's cycle through its inbox leaked"


def test_cycle_through_the_receiver_alone_is_collected():
    class Box:
        pass

    tx, rx = channel()
    b = Box()
    b.rx = rx
    tx.send(b)
    ref = weakref.ref(b)
    del b, rx
    gc.collect()
    assert ref() is None
    with pytest.raises(SendError):
        tx.send(1)  # the receiver was collected: closed


def test_live_values_are_not_collected():
    class V:
        pass

    tx, rx = channel()
    v = V()
    v.tx = tx  # a cycle that stays reachable through rx
    tx.send(v)
    ref = weakref.ref(v)
    del v
    gc.collect()
    assert ref() is not None
    assert rx.recv() is ref()


# ------------------------------------------ an abandoned recv_async (issue 12)

_ABANDONED = r"""
import asyncio, threading, sys
import pyconc

tx, rx = pyconc.channel()
started = threading.Event()

async def waiter():
    started.set()
    await rx.recv_async()       # never gets a value

def run_loop(loop):
    asyncio.set_event_loop(loop)
    loop.create_task(waiter())
    {how}

loop = asyncio.new_event_loop()
t = threading.Thread(target=run_loop, args=(loop,), daemon=True)
t.start()
started.wait(10)
{after}
print("main done", flush=True)
"""


@pytest.mark.parametrize("how,after", [
    # the loop runs on in a daemon thread when the main thread ends
    ("loop.run_forever()", "import time; time.sleep(0.2)"),
    # the loop is stopped with the coroutine still awaiting
    ("loop.call_later(0.2, loop.stop); loop.run_forever()", "t.join(10)"),
], ids=["daemon-loop", "loop-stopped"])
def test_abandoned_recv_async_does_not_hang_the_exit(how, after, tmp_path):
    """Issue 12: the executor thread behind a recv_async whose loop is
    abandoned used to wait for ever, and the interpreter hung at exit."""
    import subprocess
    import sys

    code = _ABANDONED.format(how=how, after=after)
    t0 = time.monotonic()
    # Run from an empty folder, so that the child imports the pyconc this
    # test runs against (installed or editable), not a source tree in cwd.
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "main done" in r.stdout
    # The worker notices within one wait slice (50 ms); allow for a slow machine.
    assert time.monotonic() - t0 < 30
