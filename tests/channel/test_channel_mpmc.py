"""Many receivers (issue 13): Receiver.clone(), several threads receiving
through one Receiver, disconnection both ways as crossbeam-channel specifies;
a model (hypothesis stateful) of a channel with several receivers and
senders; stress with 8 producers and 8 consumers counting every value
exactly once.  Counts scale with PYCONC_STRESS (tests/conftest.py)."""

import collections
import gc
import threading
import weakref

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import pyconc
from conftest import STRESS, scaled
from pyconc import (
    Disconnected,
    Empty,
    Full,
    HandleClosed,
    SendError,
    Timeout,
    channel,
    sync_channel,
)

KINDS = {
    "channel": channel,
    "sync_channel(1)": lambda: sync_channel(1),
    "sync_channel(16)": lambda: sync_channel(16),
    "sync_channel(0)": lambda: sync_channel(0),
}
BUFFERED = {k: v for k, v in KINDS.items() if k != "sync_channel(0)"}


def _join(threads, limit=60):
    for t in threads:
        t.join(limit)
        assert not t.is_alive(), "a thread is stuck"


# ------------------------------------------------------------ basics


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_clone_shares_the_values(make):
    tx, rx = make()
    rx2 = rx.clone()
    assert rx2 is not rx and type(rx2) is type(rx)
    got = []
    n = 200

    def worker(r):
        for v in r:
            got.append(v)

    threads = [threading.Thread(target=worker, args=(r,)) for r in (rx, rx2)]
    for t in threads:
        t.start()
    for i in range(n):
        tx.send(i)
    tx.close()
    _join(threads)
    assert sorted(got) == list(range(n))  # each value exactly once


def test_senders_fail_once_every_receiver_is_gone():
    tx, rx = channel()
    rx2 = rx.clone()
    rx.close()
    tx.send(1)  # rx2 still receives
    assert rx2.recv() == 1
    with pytest.raises(HandleClosed):
        rx.recv()
    del rx2
    gc.collect()
    with pytest.raises(SendError) as info:
        tx.send(2)
    assert info.value.value == 2


def test_closing_the_last_receiver_releases_the_queue():
    class Obj:
        pass

    tx, rx = sync_channel(4)
    rx2 = rx.clone()
    value = Obj()
    ref = weakref.ref(value)
    tx.send(value)
    del value
    rx.close()
    assert ref() is not None  # rx2 may still take it
    rx2.close()
    gc.collect()
    assert ref() is None


def test_receivers_end_once_every_sender_is_gone_and_the_channel_is_empty():
    tx, rx = channel()
    rx2 = rx.clone()
    tx.send_many([1, 2])
    tx.close()
    assert rx2.recv() == 1
    assert rx.recv() == 2
    for r in (rx, rx2):
        with pytest.raises(Disconnected):
            r.recv()
        with pytest.raises(Disconnected):
            r.try_recv()
        assert list(r) == []


def test_clone_of_a_closed_receiver_raises():
    tx, rx = channel()
    rx.close()
    with pytest.raises(HandleClosed):
        rx.clone()


def test_receiver_clone_repr_and_len():
    tx, rx = channel()
    rx2 = rx.clone()
    tx.send_many(range(3))
    assert len(rx) == len(rx2) == 3
    assert "2 receiver(s)" in repr(rx)
    assert rx._state()[5] == 2
    rx2.close()
    assert rx._state()[5] == 1


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_a_disconnect_wakes_every_waiting_receiver(make):
    tx, rx = make()
    receivers = [rx] + [rx.clone() for _ in range(3)]
    errors = []

    def wait(r):
        try:
            r.recv(timeout=60)
        except Disconnected as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(r,)) for r in receivers]
    for t in threads:
        t.start()
    tx.close()
    _join(threads, 30)
    assert len(errors) == 4


@pytest.mark.parametrize("make", BUFFERED.values(), ids=BUFFERED.keys())
def test_one_receiver_object_in_several_threads(make):
    tx, rx = make()
    n = scaled(3000)
    counts = collections.Counter()
    lock = threading.Lock()

    def worker():
        local = []
        for v in rx:
            local.append(v)
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(n):
        tx.send(i)
    tx.close()
    _join(threads)
    assert counts == collections.Counter(range(n))


def test_each_senders_order_holds_in_each_receivers_view():
    tx, rx = sync_channel(8)
    per = scaled(2000)
    senders = [tx.clone() for _ in range(3)]
    tx.close()
    views = []

    def produce(p, s):
        with s:
            for i in range(per):
                s.send((p, i))

    def consume(r):
        views.append([v for v in r])

    receivers = [rx, rx.clone(), rx.clone()]
    threads = [threading.Thread(target=consume, args=(r,)) for r in receivers]
    threads += [threading.Thread(target=produce, args=(p, s)) for p, s in enumerate(senders)]
    del receivers
    for t in threads:
        t.start()
    _join(threads)
    total = []
    for view in views:
        for p in range(3):
            mine = [i for q, i in view if q == p]
            assert mine == sorted(mine)
        total += view
    assert sorted(total) == sorted((p, i) for p in range(3) for i in range(per))


def test_rendezvous_with_several_receivers():
    tx, rx = sync_channel(0)
    got = []
    lock = threading.Lock()

    def consume(r):
        for v in r:
            with lock:
                got.append(v)

    threads = [threading.Thread(target=consume, args=(r,)) for r in (rx, rx.clone(), rx.clone())]
    for t in threads:
        t.start()
    n = scaled(500)
    for i in range(n):
        tx.send(i)  # returns once some receiver took it
    tx.close()
    _join(threads)
    assert sorted(got) == list(range(n))


def test_recv_timeout_with_several_receivers_waiting():
    tx, rx = channel()
    rx2 = rx.clone()
    with pytest.raises(Timeout):
        rx.recv(timeout=0.01)
    with pytest.raises(Timeout):
        rx2.recv(timeout=0.01)
    with pytest.raises(Empty):
        rx2.try_recv()
    tx.send(1)
    assert rx2.recv(timeout=1) == 1


def test_full_bounded_channel_with_several_receivers():
    tx, rx = sync_channel(1)
    rx.clone()  # dropped at once: one receiver left
    tx.send(1)
    with pytest.raises(Full):
        tx.try_send(2)
    assert rx.recv() == 1
    tx.try_send(2)


def test_a_receiver_closed_under_a_waiting_thread_ends_its_wait():
    tx, rx = channel()
    rx2 = rx.clone()
    errors = []

    def wait():
        try:
            rx2.recv(timeout=60)
        except HandleClosed as exc:
            errors.append(exc)

    t = threading.Thread(target=wait)
    t.start()
    while rx._state()[4] == 0:
        pass
    rx2.close()
    _join([t], 30)
    assert len(errors) == 1
    tx.send(3)
    assert rx.recv() == 3  # the other receiver is unaffected


# ------------------------------------------------------------ stress


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_stress_8_producers_8_consumers_every_value_exactly_once(make):
    tx, rx = make()
    per = scaled(1500 if make is not KINDS["sync_channel(0)"] else 200)
    senders = [tx.clone() for _ in range(8)]
    receivers = [rx.clone() for _ in range(7)] + [rx]
    tx.close()
    del rx
    counts = collections.Counter()
    lock = threading.Lock()

    def produce(p, s):
        with s:
            for i in range(per):
                if i % 3 == 0:
                    s.send_many([(p, i)])
                else:
                    s.send((p, i))

    def consume(k, r):
        local = collections.Counter()
        last = {}
        with r:
            while True:
                try:
                    batch = r.recv_many(4) if k % 2 else [r.recv()]
                except Disconnected:
                    break
                for p, i in batch:
                    assert last.get(p, -1) < i  # per-sender order in this view
                    last[p] = i
                    local[(p, i)] += 1
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=produce, args=(p, s)) for p, s in enumerate(senders)]
    threads += [threading.Thread(target=consume, args=(k, r)) for k, r in enumerate(receivers)]
    del senders, receivers
    for t in threads:
        t.start()
    _join(threads, 120)
    assert len(counts) == 8 * per and set(counts.values()) == {1}


# ------------------------------------------------------------ model


class MpmcModel(RuleBasedStateMachine):
    """A channel with several senders and receivers, driven from one thread,
    against a deque: every receiver takes from the one queue; closing the
    last Receiver makes sends fail; closing the last Sender makes an empty
    channel disconnected."""

    @initialize(bound=st.one_of(st.none(), st.integers(1, 3)))
    def make(self, bound):
        self.bound = bound
        tx, rx = channel() if bound is None else sync_channel(bound)
        self.senders = [tx]
        self.receivers = [rx]
        self.model = collections.deque()
        self.counter = 0

    def _open(self, handles):
        return [h for h in handles if not h.closed]

    def _room(self):
        return self.bound is None or len(self.model) < self.bound

    @rule(i=st.integers(0, 7))
    def try_send(self, i):
        s = self.senders[i % len(self.senders)]
        v = self.counter
        self.counter += 1
        if s.closed:
            with pytest.raises(HandleClosed):
                s.try_send(v)
        elif not self._open(self.receivers):
            with pytest.raises(SendError) as info:
                s.try_send(v)
            assert info.value.value == v
        elif not self._room():
            with pytest.raises(Full):
                s.try_send(v)
        else:
            s.try_send(v)
            self.model.append(v)

    @rule(i=st.integers(0, 7))
    def try_recv(self, i):
        r = self.receivers[i % len(self.receivers)]
        if r.closed:
            with pytest.raises(HandleClosed):
                r.try_recv()
        elif self.model:
            assert r.try_recv() == self.model.popleft()
        elif self._open(self.senders):
            with pytest.raises(Empty):
                r.try_recv()
        else:
            with pytest.raises(Disconnected):
                r.try_recv()

    @rule(i=st.integers(0, 7), n=st.integers(1, 4))
    def recv_many(self, i, n):
        r = self.receivers[i % len(self.receivers)]
        if r.closed or not self.model:
            return
        got = r.recv_many(n)
        want = [self.model.popleft() for _ in range(min(n, len(self.model)))]
        assert got == want

    @rule(i=st.integers(0, 7))
    def clone_receiver(self, i):
        r = self.receivers[i % len(self.receivers)]
        if r.closed:
            with pytest.raises(HandleClosed):
                r.clone()
        elif len(self.receivers) < 6:
            self.receivers.append(r.clone())

    @rule(i=st.integers(0, 7))
    def clone_sender(self, i):
        s = self.senders[i % len(self.senders)]
        if not s.closed and len(self.senders) < 6:
            self.senders.append(s.clone())

    @rule(i=st.integers(0, 7))
    def close_receiver(self, i):
        r = self.receivers[i % len(self.receivers)]
        r.close()
        if not self._open(self.receivers):
            self.model.clear()  # the last Receiver releases the queue

    @rule(i=st.integers(0, 7))
    def close_sender(self, i):
        self.senders[i % len(self.senders)].close()

    @invariant()
    def lengths(self):
        if self._open(self.receivers):
            r = self._open(self.receivers)[0]
            assert len(r) == len(self.model)
            assert r._state()[5] == len(self._open(self.receivers))
        assert self.senders[0]._state()[2] == len(self._open(self.senders))


TestMpmcModel = MpmcModel.TestCase
TestMpmcModel.settings = settings(max_examples=60 * STRESS, stateful_step_count=40,
                                  deadline=None)


def test_mpmc_coroutines_and_threads_share_one_channel():
    """After the merge of MPMC and asyncio: coroutines awaiting on two
    Receivers of a channel and a thread receiving on a third each take
    values, and every value is taken exactly once."""
    import asyncio

    n = scaled(3000)
    tx, rx = pyconc.sync_channel(16)
    rx_a, rx_b = rx.clone(), rx.clone()
    got_thread = []

    def thread_recv():
        for v in rx:
            got_thread.append(v)

    async def main():
        async def take(r):
            out = []
            async for v in r:
                out.append(v)
                if len(out) % 7 == 0:
                    await asyncio.sleep(0)
            return out

        def produce():
            for i in range(n):
                tx.send(i)
            tx.close()

        p = threading.Thread(target=produce)
        p.start()
        a, b = await asyncio.gather(take(rx_a), take(rx_b))
        p.join()
        return a, b

    t = threading.Thread(target=thread_recv)
    t.start()
    a, b = asyncio.run(main())
    t.join(30)
    assert sorted(a + b + got_thread) == list(range(n))
