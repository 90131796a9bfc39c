"""Channels against a model (hypothesis): any single-threaded sequence of
operations behaves as a deque with the channel's rules would.

Bounded rings are small so that many laps wrap around; batches are longer
than the ring so that send_many's waiting half is never needed (this is
one thread: a full channel makes try_send raise Full instead)."""

import pytest
import collections
import gc
import weakref

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conftest import STRESS
from pyconc import ChannelError, Disconnected, HandleClosed, Empty, Full, SendError, Timeout, channel, sync_channel

pytestmark = pytest.mark.model  # the kind of test (tests/README.md)


class Value:
    """A value with a weak reference, to check that dropped values are freed."""

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Value) and other.n == self.n

    def __hash__(self):
        return self.n

    def __repr__(self):
        return f"V{self.n}"


class ChannelModel(RuleBasedStateMachine):
    @initialize(bound=st.one_of(st.none(), st.integers(1, 4)))
    def make(self, bound):
        self.bound = bound
        if bound is None:
            tx, self.rx = channel()
        else:
            tx, self.rx = sync_channel(bound)
        self.senders = [tx]
        self.open_senders = 1
        self.model = collections.deque()
        self.rx_closed = False
        self.counter = 0
        self.refs = []

    def _new(self):
        self.counter += 1
        v = Value(self.counter)
        self.refs.append(weakref.ref(v))
        return v

    def _room(self):
        return self.bound is None or len(self.model) < self.bound

    def _live_sender(self, i):
        s = self.senders[i % len(self.senders)]
        return s

    @rule(i=st.integers(0, 10))
    def try_send(self, i):
        s = self._live_sender(i)
        v = self._new()
        if s.closed:
            try:
                s.try_send(v)
            except ChannelError as exc:
                assert not isinstance(exc, (Full, SendError))
            else:
                raise AssertionError("a closed Sender sent")
        elif self.rx_closed:
            try:
                s.try_send(v)
            except SendError as exc:
                assert exc.value is v
            else:
                raise AssertionError("sent to a closed Receiver")
        elif self._room():
            s.try_send(v)
            self.model.append(v)
        else:
            try:
                s.try_send(v)
            except Full as exc:
                assert exc.value is v
            else:
                raise AssertionError("try_send on a full channel succeeded")

    @rule(i=st.integers(0, 10), n=st.integers(0, 6))
    def send_many_that_fits(self, i, n):
        s = self._live_sender(i)
        if s.closed or self.rx_closed:
            return
        room = n if self.bound is None else min(n, self.bound - len(self.model))
        values = [self._new() for _ in range(room)]
        s.send_many(values)
        self.model.extend(values)

    @rule(i=st.integers(0, 10))
    def send_timeout_zero(self, i):
        s = self._live_sender(i)
        if s.closed or self.rx_closed:
            return
        v = self._new()
        if self._room():
            s.send_timeout(v, 0)
            self.model.append(v)
        else:
            try:
                s.send_timeout(v, 0)
            except Timeout as exc:
                assert exc.value is v
            else:
                raise AssertionError("send_timeout on a full channel succeeded")

    @rule(i=st.integers(0, 10))
    def clone(self, i):
        s = self._live_sender(i)
        if s.closed:
            return
        self.senders.append(s.clone())
        self.open_senders += 1

    @rule(i=st.integers(0, 10))
    def close_sender(self, i):
        s = self._live_sender(i)
        if not s.closed:
            self.open_senders -= 1
        s.close()

    @rule()
    def close_receiver(self):
        self.rx.close()
        self.rx_closed = True
        self.model.clear()

    @rule()
    def try_recv(self):
        try:
            got = self.rx.try_recv()
        except Empty:
            assert not self.rx_closed and not self.model and self.open_senders > 0
        except HandleClosed:
            assert self.rx_closed
        except Disconnected:
            assert not self.rx_closed and not self.model and self.open_senders == 0
        else:
            assert not self.rx_closed
            assert got == self.model.popleft()

    @rule(n=st.integers(1, 5))
    def recv_many(self, n):
        try:
            got = self.rx.recv_many(n, timeout=0)
        except Timeout:
            assert not self.rx_closed and not self.model and self.open_senders > 0
        except HandleClosed:
            assert self.rx_closed
        except Disconnected:
            assert not self.rx_closed and not self.model and self.open_senders == 0
        else:
            want = [self.model.popleft() for _ in range(min(n, len(self.model)))]
            assert got == want

    @rule()
    def try_iter(self):
        if self.rx_closed:
            return
        assert list(self.rx.try_iter()) == list(self.model)
        self.model.clear()

    @precondition(lambda self: not self.rx_closed)
    @invariant()
    def length(self):
        if not hasattr(self, "rx"):
            return
        assert len(self.rx) == len(self.model)

    def teardown(self):
        if not hasattr(self, "rx"):
            return
        del self.rx, self.senders, self.model
        gc.collect()
        assert all(r() is None for r in self.refs), "a value was not released"


ChannelModel.TestCase.settings = settings(
    max_examples=150 * STRESS, stateful_step_count=80, deadline=None
)
TestChannelModel = ChannelModel.TestCase
