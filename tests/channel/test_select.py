"""pyconc.select / pyconc.Select (issue 13): waiting on several channels at
once, against a model (hypothesis stateful); under disconnects and races
(two threads selecting over the same channels: every value counted exactly
once); Ctrl-C while selecting.  Counts scale with PYCONC_STRESS."""

import collections
import gc
import threading
import weakref

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

import pyconc
from conftest import STRESS, scaled
from pyconc import (
    Disconnected,
    HandleClosed,
    Select,
    Selected,
    SendError,
    Timeout,
    WouldBlock,
    channel,
    select,
    sync_channel,
)

RECV_KINDS = {
    "channel": channel,
    "sync_channel(2)": lambda: sync_channel(2),
    "sync_channel(0)": lambda: sync_channel(0),
}


def _join(threads, limit=60):
    for t in threads:
        t.join(limit)
        assert not t.is_alive(), "a thread is stuck"


# ------------------------------------------------------------ basics


def test_exported_and_documented():
    assert pyconc.select is select and pyconc.Select is Select and pyconc.Selected is Selected
    for obj in (select, Select, Select.select, Select.try_select, Select.recv, Select.send,
                Selected):
        assert obj.__doc__


def test_receives_from_the_ready_channel():
    tx1, rx1 = channel()
    tx2, rx2 = sync_channel(1)
    tx2.send("b")
    r = select(rx1, rx2)
    assert isinstance(r, Selected) and tuple(r) == (1, "b")
    index, value = r
    assert (index, value, r.index, r.value, r.error) == (1, "b", 1, "b", None)


def test_send_operation():
    tx, rx = sync_channel(1)
    other_tx, other_rx = channel()
    assert tuple(select(other_rx, (tx, 5))) == (1, None)
    assert rx.try_recv() == 5
    tx.send(6)  # full now: the send op waits, the receive completes
    other_tx.send("x")
    assert tuple(select((tx, 7), other_rx)) == (1, "x")
    assert rx.try_recv() == 6


def test_unbounded_send_is_always_ready():
    tx, rx = channel()
    assert select((tx, 1), timeout=0).index == 0
    assert rx.recv() == 1


def test_timeout_and_try_select():
    tx, rx = channel()
    with pytest.raises(Timeout):
        select(rx, timeout=0.02)
    with pytest.raises(Timeout):
        select(rx, timeout=0)
    sel = Select()
    assert sel.recv(rx) == 0
    with pytest.raises(WouldBlock):
        sel.try_select()
    with pytest.raises(Timeout):
        sel.select(timeout=0.01)
    tx.send(3)
    assert tuple(sel.try_select()) == (0, 3)


def test_disconnected_receive_completes_with_the_error():
    tx, rx = channel()
    tx2, rx2 = channel()
    tx.close()
    r = select(rx, rx2, timeout=5)
    assert r.index == 0 and r.value is None and isinstance(r.error, Disconnected)


def test_send_to_closed_receivers_completes_with_send_error():
    tx, rx = sync_channel(1)
    rx.close()
    r = select((tx, "v"))
    assert r.index == 0 and isinstance(r.error, SendError) and r.error.value == "v"


def test_closed_handles_raise():
    tx, rx = channel()
    rx.close()
    with pytest.raises(HandleClosed):
        select(rx)
    tx2, rx2 = sync_channel(1)
    tx2.close()
    with pytest.raises(HandleClosed):
        select((tx2, 1))


def test_bad_operations():
    tx, rx = channel()
    with pytest.raises(ValueError):
        select()
    with pytest.raises(ValueError):
        Select().select()
    with pytest.raises(TypeError):
        select(42)
    with pytest.raises(TypeError):
        select((rx, 1))
    with pytest.raises(TypeError):
        select((tx,))
    with pytest.raises(TypeError):
        select(rx, deadline=1)
    ztx, zrx = sync_channel(0)
    with pytest.raises(ValueError, match="sync_channel.0."):
        select((ztx, 1))
    with pytest.raises(TypeError):
        Select().recv(tx)
    with pytest.raises(TypeError):
        Select(1)
    with pytest.raises(TypeError):
        import copy
        copy.copy(Select())


def test_builder_indexes_and_repeat():
    txs, rxs = zip(*[channel() for _ in range(3)])
    sel = Select()
    assert [sel.recv(r) for r in rxs] == [0, 1, 2]
    assert len(sel) == 3 and "3 operation" in repr(sel)
    for i in (2, 0, 1):
        txs[i].send(i * 10)
        assert tuple(sel.select(timeout=5)) == (i, i * 10)


def test_builder_holds_its_handles_and_is_collected():
    tx, rx = channel()
    sel = Select()
    sel.recv(rx)
    sel.send(tx, sel)  # a cycle through the value
    ref = weakref.ref(sel)
    del sel
    gc.collect()
    assert ref() is None


class _Payload:
    pass


def test_results_release_their_values_and_join_the_collector():
    """Selected shells are kept on a free list (pc_select_result_py.h): a
    dropped result must still release its value at once, results alive at
    the same time must be distinct, and a cycle through a reused result's
    value must still be collected."""
    tx, rx = channel()
    sel = Select()
    sel.recv(rx)
    for round_ in range(40):  # more rounds than the free list has shells
        held = []
        for k in range(round_ % 12):
            tx.send(k)
            held.append(sel.select(timeout=5) if k % 2 else pyconc.select(rx, timeout=5))
        assert [r.value for r in held] == list(range(len(held)))
        assert len({id(r) for r in held}) == len(held)
        p = _Payload()
        ref = weakref.ref(p)
        tx.send(p)
        del p
        r = sel.select(timeout=5)
        assert r.value is ref() and r.index == 0 and r.error is None
        del r
        assert ref() is None, "a dropped Selected kept its value alive"
        c = _Payload()
        tx.send(c)
        c = None
        r = pyconc.select(rx, timeout=5)
        r.value.me = r  # a cycle through the result
        ref = weakref.ref(r.value)
        del r
        gc.collect()
        assert ref() is None, "a cycle through a Selected was not collected"


def test_fair_when_several_are_ready():
    chans = [sync_channel(1000) for _ in range(3)]
    n = 600
    for tx, _ in chans:
        tx.send_many(range(n))
    counts = collections.Counter(select(*[rx for _, rx in chans]).index for _ in range(n))
    # A random start: each ready channel gets a fair share (far from 0).
    assert all(counts[i] > n // 3 // 3 for i in range(3)), counts


@pytest.mark.parametrize("make", RECV_KINDS.values(), ids=RECV_KINDS.keys())
def test_waits_on_every_channel_at_once(make):
    chans = [make() for _ in range(8)]
    for k in (5, 0, 7):
        t = threading.Timer(0.02, chans[k][0].send, args=(k,))
        t.start()
        r = select(*[rx for _, rx in chans], timeout=30)
        t.join()
        assert tuple(r) == (k, k)


def test_a_selecting_thread_is_woken_by_room():
    tx, rx = sync_channel(1)
    tx.send(0)
    other_tx, other_rx = channel()
    t = threading.Timer(0.02, rx.recv)
    t.start()
    r = select(other_rx, (tx, 1), timeout=30)
    t.join()
    assert r.index == 1 and rx.recv() == 1


def test_a_selecting_thread_is_woken_by_a_disconnect():
    tx, rx = channel()
    tx2, rx2 = sync_channel(1)
    t = threading.Timer(0.02, tx2.close)
    t.start()
    r = select(rx, rx2, timeout=30)
    t.join()
    assert r.index == 1 and isinstance(r.error, Disconnected)


# ------------------------------------------------------------ races


@pytest.mark.parametrize("make", RECV_KINDS.values(), ids=RECV_KINDS.keys())
def test_two_threads_selecting_over_the_same_channels_count_every_value_once(make):
    chans = [make() for _ in range(3)]
    per = scaled(400 if make is not RECV_KINDS["sync_channel(0)"] else 100)
    got = collections.Counter()
    lock = threading.Lock()
    receivers = [rx for _, rx in chans]

    def consume():
        local = collections.Counter()
        live = list(receivers)
        sel_rx = list(live)
        while sel_rx:
            r = select(*sel_rx, timeout=60)
            if r.error is not None:
                assert isinstance(r.error, Disconnected)
                del sel_rx[r.index]
                continue
            local[r.value] += 1
        with lock:
            got.update(local)

    def produce(k, tx):
        with tx:
            for i in range(per):
                tx.send((k, i))

    def plain():
        local = collections.Counter(v for v in mine)
        with lock:
            got.update(local)

    # A plain receiver of the first channel also races with the selecting
    # threads.
    mine = receivers[0].clone()
    threads = [threading.Thread(target=consume) for _ in range(2)]
    threads.append(threading.Thread(target=plain))
    threads += [threading.Thread(target=produce, args=(k, tx)) for k, (tx, _) in enumerate(chans)]
    del chans
    for t in threads:
        t.start()
    _join(threads, 120)
    assert len(got) == 3 * per and set(got.values()) == {1}


def test_select_under_disconnects_and_receiver_closes():
    rounds = scaled(150)
    for k in range(rounds):
        tx1, rx1 = channel()
        tx2, rx2 = sync_channel(1)
        tx1.send("a")
        closer = threading.Thread(target=(tx2.close if k % 2 else rx1.close))
        closer.start()
        try:
            r = select(rx1, rx2, timeout=30)
        except HandleClosed:
            r = None  # rx1 closed under us: nothing was taken
        closer.join()
        if r is None:
            assert k % 2 == 0
        elif r.index == 0:
            assert r.value == "a"
        else:
            assert isinstance(r.error, Disconnected)


def test_select_senders_race_for_room():
    tx, rx = sync_channel(4)
    per = scaled(500)
    counts = collections.Counter()

    def produce(p):
        other_tx, other_rx = channel()
        for i in range(per):
            r = select(other_rx, (tx, (p, i)), timeout=60)
            assert r.index == 1 and r.error is None

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(3)]
    for t in threads:
        t.start()
    for _ in range(3 * per):
        counts[rx.recv(timeout=60)] += 1
    _join(threads)
    assert len(counts) == 3 * per and set(counts.values()) == {1}


# ------------------------------------------------------------ Ctrl-C


def test_ctrl_c_interrupts_a_select_and_loses_nothing():
    from _interrupt import assert_interrupts

    tx1, rx1 = channel()
    tx2, rx2 = sync_channel(1)
    tx3, rx3 = sync_channel(1)
    tx3.send("full")
    assert_interrupts(lambda: select(rx1, rx2))
    assert_interrupts(lambda: select(rx1, (tx3, "x"), timeout=60))
    sel = Select()
    sel.recv(rx2)
    assert_interrupts(sel.select)
    # Nothing was taken or sent by the interrupted selects.
    tx1.send(1)
    assert tuple(select(rx1, rx2)) == (0, 1)
    assert rx3.try_recv() == "full" and len(rx3) == 0


# ------------------------------------------------------------ model


class SelectModel(RuleBasedStateMachine):
    """try_select over a few channels, from one thread, against deques: the
    operation chosen is one of those ready, and it does what the model
    says (receive the oldest value, queue the value sent, or complete with
    the disconnection)."""

    @initialize(bounds=st.lists(st.one_of(st.none(), st.integers(1, 2)), min_size=1,
                                max_size=4))
    def make(self, bounds):
        self.bounds = bounds
        self.chans = [channel() if b is None else sync_channel(b) for b in bounds]
        self.models = [collections.deque() for _ in bounds]
        self.tx_open = [True] * len(bounds)
        self.counter = 0

    @rule(i=st.integers(0, 3))
    def send(self, i):
        i %= len(self.chans)
        b = self.bounds[i]
        if self.tx_open[i] and (b is None or len(self.models[i]) < b):
            self.chans[i][0].try_send(self.counter)
            self.models[i].append(self.counter)
            self.counter += 1

    @rule(i=st.integers(0, 3))
    def close_sender(self, i):
        i %= len(self.chans)
        self.chans[i][0].close()
        self.tx_open[i] = False

    @rule(ops=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=5))
    def try_select(self, ops):
        ops = [(i % len(self.chans), is_send and self.tx_open[i % len(self.chans)])
               for i, is_send in ops]
        args, ready = [], set()
        for k, (i, is_send) in enumerate(ops):
            b = self.bounds[i]
            if is_send:
                args.append((self.chans[i][0], ("sent", k)))
                if b is None or len(self.models[i]) < b:
                    ready.add(k)
            else:
                args.append(self.chans[i][1])
                if self.models[i] or not self.tx_open[i]:
                    ready.add(k)
        if not ready:
            with pytest.raises(WouldBlock):
                sel = Select()
                for a in args:
                    if isinstance(a, tuple):
                        sel.send(*a)
                    else:
                        sel.recv(a)
                sel.try_select()
            with pytest.raises(Timeout):
                select(*args, timeout=0)
            return
        r = select(*args, timeout=0)
        assert r.index in ready
        i, is_send = ops[r.index]
        if is_send:
            assert r.error is None and r.value is None
            self.models[i].append(("sent", r.index))
        elif self.models[i]:
            assert r.error is None and r.value == self.models[i].popleft()
        else:
            assert r.value is None and isinstance(r.error, Disconnected)


TestSelectModel = SelectModel.TestCase
TestSelectModel.settings = settings(max_examples=60 * STRESS, stateful_step_count=30,
                                    deadline=None)
