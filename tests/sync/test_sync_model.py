"""The sync types and broadcast against sequential models (hypothesis,
stateful): random sequences of operations from one thread behave as a few
lines of plain Python say they should.

Mutex (poisoning, clear_poison, into_inner, guards used after their block),
RwLock (readers and a writer held across steps, poisoning by writers only),
Once / OnceLock (failing and succeeding initialisers, take), Barrier (a
round of n threads has exactly one leader) and broadcast (lag semantics
against a log of every value sent and each receiver's position)."""

import gc
import threading
import weakref

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import pyconc
from conftest import STRESS
from pyconc import (
    Barrier,
    Closed,
    Empty,
    Lagged,
    Mutex,
    Once,
    OnceLock,
    PoisonError,
    RwLock,
    SendError,
    WouldBlock,
)

pytestmark = pytest.mark.model  # the kind of test (tests/README.md)

SETTINGS = settings(max_examples=100 * STRESS, stateful_step_count=50, deadline=None)


class Boom(Exception):
    pass


# ---------------------------------------------------------------- Mutex


class MutexModel(RuleBasedStateMachine):
    """A Mutex is (value, poisoned, retired, held) and nothing else."""

    def __init__(self):
        super().__init__()
        self.m = Mutex(0)
        self.value = 0
        self.poisoned = False
        self.retired = False
        self.held = None  # a guard entered by hand, across steps
        self.stale = []  # guards whose block has ended

    def _take(self, how):
        """Lock by *how* when the model says the mutex is free; the guard,
        entered.  A poisoned mutex raises PoisonError holding the guard."""
        try:
            g = self.m.try_lock() if how == "try" else self.m.lock(timeout=None if how == "wait" else 1)
        except PoisonError as e:
            assert self.poisoned
            g = e.into_inner()
        else:
            assert not self.poisoned
        return g.__enter__()

    @precondition(lambda self: not self.retired)
    @rule(v=st.integers(), how=st.sampled_from(["try", "wait", "timeout"]), fail=st.booleans())
    def locked_update(self, v, how, fail):
        if self.held is not None:
            with pytest.raises(WouldBlock):
                self.m.try_lock()
            with pytest.raises(TimeoutError):
                self.m.lock(timeout=0)
            return
        g = self._take(how)
        assert g.value == self.value
        try:
            g.value = v
            if fail:
                raise Boom
        except Boom:
            g.__exit__(Boom, Boom(), None)
            self.poisoned = True
        else:
            g.__exit__(None, None, None)
        self.value = v
        self.stale.append(g)

    @precondition(lambda self: not self.retired and self.held is None)
    @rule()
    def hold(self):
        self.held = self._take("wait")

    @precondition(lambda self: self.held is not None)
    @rule(v=st.integers(), fail=st.booleans())
    def release(self, v, fail):
        g, self.held = self.held, None
        g.value = v
        self.value = v
        if fail:
            g.__exit__(Boom, Boom(), None)
            self.poisoned = True
        else:
            g.__exit__(None, None, None)
        self.stale.append(g)

    @precondition(lambda self: not self.retired)
    @rule()
    def clear_poison(self):
        self.m.clear_poison()
        self.poisoned = False

    @precondition(lambda self: self.stale)
    @rule(i=st.integers(0, 100), op=st.sampled_from(["get", "set", "enter", "exit"]))
    def stale_guard(self, i, op):
        g = self.stale[i % len(self.stale)]
        with pytest.raises(RuntimeError, match="outside its with block"):
            if op == "get":
                g.value
            elif op == "set":
                g.value = "lost?"
            elif op == "enter":
                g.__enter__()
            else:
                g.__exit__(None, None, None)

    @precondition(lambda self: not self.retired and self.held is None)
    @rule()
    def into_inner(self):
        self.retired = True
        if self.poisoned:
            with pytest.raises(PoisonError) as e:
                self.m.into_inner()
            assert e.value.into_inner() == self.value
        else:
            assert self.m.into_inner() == self.value

    @precondition(lambda self: self.retired)
    @rule(op=st.sampled_from(["lock", "try_lock", "into_inner", "get_mut"]))
    def retired_refuses(self, op):
        with pytest.raises(RuntimeError, match="into_inner"):
            getattr(self.m, op)()

    @precondition(lambda self: not self.retired)
    @rule()
    def get_mut(self):
        """Rust's get_mut: the value, or (poisoned) PoisonError holding it."""
        if self.poisoned:
            with pytest.raises(PoisonError) as e:
                self.m.get_mut()
            assert e.value.into_inner() == self.value
        else:
            assert self.m.get_mut() == self.value

    @invariant()
    def state(self):
        assert self.m.is_poisoned() == self.poisoned
        r = repr(self.m)
        if self.retired:
            assert "retired" in r
        else:
            assert ("unlocked" not in r) == (self.held is not None)
            assert ("poisoned" in r) == self.poisoned

    def teardown(self):
        if self.held is not None:
            self.held.__exit__(None, None, None)


MutexModel.TestCase.settings = SETTINGS
TestMutexModel = MutexModel.TestCase


# ---------------------------------------------------------------- RwLock


class RwLockModel(RuleBasedStateMachine):
    """An RwLock is (value, poisoned, readers held, writer held)."""

    def __init__(self):
        super().__init__()
        self.rw = RwLock(0)
        self.value = 0
        self.poisoned = False
        self.readers = []
        self.writer = None
        self.stale = []

    def _guard(self, call):
        try:
            g = call()
        except PoisonError as e:
            assert self.poisoned
            g = e.into_inner()
        else:
            assert not self.poisoned
        return g.__enter__()

    @rule(how=st.sampled_from(["try", "wait", "timeout"]))
    def read(self, how):
        call = {"try": self.rw.try_read, "wait": self.rw.read,
                "timeout": lambda: self.rw.read(timeout=0.5)}[how]
        if self.writer is not None:
            with pytest.raises(WouldBlock):
                self.rw.try_read()
            with pytest.raises(TimeoutError):
                self.rw.read(timeout=0)
            return
        g = self._guard(call)
        assert g.value == self.value
        self.readers.append(g)

    @precondition(lambda self: self.readers)
    @rule(i=st.integers(0, 100), fail=st.booleans())
    def release_read(self, i, fail):
        g = self.readers.pop(i % len(self.readers))
        g.__exit__(*((Boom, Boom(), None) if fail else (None, None, None)))  # readers never poison
        self.stale.append(g)

    @rule(how=st.sampled_from(["try", "wait", "timeout"]), hold=st.booleans())
    def write(self, how, hold):
        if self.writer is not None or self.readers:
            with pytest.raises(WouldBlock):
                self.rw.try_write()
            with pytest.raises(TimeoutError):
                self.rw.write(timeout=0)
            return
        call = {"try": self.rw.try_write, "wait": self.rw.write,
                "timeout": lambda: self.rw.write(timeout=0.5)}[how]
        g = self._guard(call)
        assert g.value == self.value
        if hold:
            self.writer = g
        else:
            g.value = self.value = self.value + 1
            g.__exit__(None, None, None)
            self.stale.append(g)

    @precondition(lambda self: self.writer is not None)
    @rule(v=st.integers(), fail=st.booleans())
    def release_write(self, v, fail):
        g, self.writer = self.writer, None
        g.value = self.value = v
        if fail:
            g.__exit__(Boom, Boom(), None)
            self.poisoned = True
        else:
            g.__exit__(None, None, None)
        self.stale.append(g)

    @rule()
    def clear_poison(self):
        self.rw.clear_poison()
        self.poisoned = False

    @precondition(lambda self: self.stale)
    @rule(i=st.integers(0, 100))
    def stale_guard(self, i):
        g = self.stale[i % len(self.stale)]
        with pytest.raises(RuntimeError, match="outside its with block"):
            g.value
        with pytest.raises(RuntimeError, match="outside its with block"):
            g.__exit__(None, None, None)

    @invariant()
    def state(self):
        assert self.rw.is_poisoned() == self.poisoned

    def teardown(self):
        for g in self.readers:
            g.__exit__(None, None, None)
        if self.writer is not None:
            self.writer.__exit__(None, None, None)
        # Nothing held: into_inner returns the value (or reports the poison).
        if self.poisoned:
            with pytest.raises(PoisonError) as e:
                self.rw.into_inner()
            assert e.value.into_inner() == self.value
        else:
            assert self.rw.into_inner() == self.value


RwLockModel.TestCase.settings = SETTINGS
TestRwLockModel = RwLockModel.TestCase


# ----------------------------------------------------------- Once, OnceLock


class OnceModel(RuleBasedStateMachine):
    """Once is incomplete / poisoned / complete; OnceLock is a cell."""

    def __init__(self):
        super().__init__()
        self.once = Once()
        self.once_state = "incomplete"
        self.once_runs = 0
        self.cell = OnceLock()
        self.cell_value = None  # None: unset

    def _fn(self, fail):
        def fn(*args):
            self.once_runs += 1
            if fail:
                raise Boom
        return fn

    @rule(fail=st.booleans())
    def call_once(self, fail):
        before = self.once_runs
        if self.once_state == "poisoned":
            with pytest.raises(PoisonError):
                self.once.call_once(self._fn(fail))
            assert self.once_runs == before
        elif self.once_state == "complete":
            self.once.call_once(self._fn(fail))
            assert self.once_runs == before
        elif fail:
            with pytest.raises(Boom):
                self.once.call_once(self._fn(fail))
            self.once_state = "poisoned"
        else:
            self.once.call_once(self._fn(fail))
            self.once_state = "complete"

    @rule(fail=st.booleans())
    def call_once_force(self, fail):
        seen = []

        def fn(state):
            seen.append(state.is_poisoned())
            if fail:
                raise Boom

        if self.once_state == "complete":
            self.once.call_once_force(fn)
            assert seen == []
            return
        if fail:
            with pytest.raises(Boom):
                self.once.call_once_force(fn)
        else:
            self.once.call_once_force(fn)
        assert seen == [self.once_state == "poisoned"]
        self.once_state = "poisoned" if fail else "complete"

    @rule(v=st.integers())
    def set(self, v):
        assert self.cell.set(v) == (self.cell_value is None)
        if self.cell_value is None:
            self.cell_value = v

    @rule(v=st.integers(), fail=st.booleans())
    def get_or_init(self, v, fail):
        def fn():
            if fail:
                raise Boom
            return v

        if self.cell_value is not None:
            assert self.cell.get_or_init(fn) == self.cell_value
        elif fail:
            with pytest.raises(Boom):
                self.cell.get_or_init(fn)
        else:
            assert self.cell.get_or_init(fn) == v
            self.cell_value = v

    @rule()
    def take(self):
        assert self.cell.take() == self.cell_value
        self.cell_value = None

    @invariant()
    def state(self):
        assert self.once.is_completed() == (self.once_state == "complete")
        assert self.once_state in repr(self.once)
        assert self.cell.get() == self.cell_value


OnceModel.TestCase.settings = SETTINGS
TestOnceModel = OnceModel.TestCase


# ---------------------------------------------------------------- Barrier


class BarrierModel(RuleBasedStateMachine):
    """Rounds of a reusable Barrier(n): the caller and n - 1 threads wait;
    exactly one of them leads, every round, however the rounds are sized."""

    @initialize(n=st.integers(1, 5))
    def make(self, n):
        self.n = n
        self.b = Barrier(n)
        self.rounds = 0

    @rule()
    def round(self):
        results = []
        lock = threading.Lock()

        def wait():
            r = self.b.wait()
            with lock:
                results.append(r)

        hs = [pyconc.spawn(wait) for _ in range(self.n - 1)]
        wait()
        for h in hs:
            h.join(timeout=10)
        assert sorted(results) == [False] * (self.n - 1) + [True]
        self.rounds += 1

    @invariant()
    def size(self):
        if hasattr(self, "b"):
            assert self.b.n == self.n


BarrierModel.TestCase.settings = settings(max_examples=20 * STRESS, stateful_step_count=10,
                                          deadline=None)
TestBarrierModel = BarrierModel.TestCase


# -------------------------------------------------------------- broadcast


class Value:
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Value) and other.n == self.n

    def __repr__(self):
        return f"V{self.n}"


class BroadcastModel(RuleBasedStateMachine):
    """tokio's broadcast: a log of everything sent; each receiver has a
    position; a receiver more than `capacity` behind the tail lags to the
    oldest value kept, told how many it missed."""

    @initialize(cap=st.integers(1, 5))
    def make(self, cap):
        self.cap = cap
        tx, rx = pyconc.broadcast(cap)
        self.senders = [tx]
        self.open_senders = 1
        self.receivers = [[rx, 0]]  # [receiver, model position]; None when closed
        self.log = []
        self.refs = []

    def _rx(self, i):
        live = [r for r in self.receivers if r is not None]
        return live[i % len(live)] if live else None

    def _open_receivers(self):
        return sum(r is not None for r in self.receivers)

    @rule(i=st.integers(0, 10))
    def send(self, i):
        s = self.senders[i % len(self.senders)]
        v = Value(len(self.log))
        self.refs.append(weakref.ref(v))
        if s.closed:
            with pytest.raises(pyconc.HandleClosed, match="closed"):
                s.send(v)
        elif self._open_receivers() == 0:
            with pytest.raises(SendError) as e:
                s.send(v)
            assert e.value.value is v
        else:
            assert s.send(v) == self._open_receivers()
            self.log.append(v)

    def _recv(self, i, call, empty):
        r = self._rx(i)
        if r is None:
            return
        rx, pos = r
        tail = len(self.log)
        oldest = max(0, tail - self.cap)
        if pos < oldest:
            with pytest.raises(Lagged) as e:
                call(rx)
            assert e.value.missed == oldest - pos
            r[1] = oldest
        elif pos < tail:
            assert call(rx) == self.log[pos]
            r[1] = pos + 1
        elif self.open_senders == 0:
            with pytest.raises(Closed):
                call(rx)
        else:
            with pytest.raises(empty):
                call(rx)

    @rule(i=st.integers(0, 10))
    def try_recv(self, i):
        self._recv(i, lambda rx: rx.try_recv(), Empty)

    @rule(i=st.integers(0, 10))
    def recv_timeout_zero(self, i):
        self._recv(i, lambda rx: rx.recv(timeout=0), pyconc.Timeout)

    @rule(i=st.integers(0, 10))
    def subscribe_or_resubscribe(self, i):
        s = self.senders[i % len(self.senders)]
        r = self._rx(i)
        if not s.closed:
            self.receivers.append([s.subscribe(), len(self.log)])
        elif r is not None:
            self.receivers.append([r[0].resubscribe(), len(self.log)])

    @rule(i=st.integers(0, 10))
    def close_receiver(self, i):
        r = self._rx(i)
        if r is None:
            return
        r[0].close()
        self.receivers[self.receivers.index(r)] = None
        with pytest.raises(pyconc.HandleClosed, match="closed"):
            r[0].try_recv()

    @rule(i=st.integers(0, 10))
    def clone_sender(self, i):
        s = self.senders[i % len(self.senders)]
        if s.closed:
            with pytest.raises(pyconc.HandleClosed, match="closed"):
                s.clone()
        else:
            self.senders.append(s.clone())
            self.open_senders += 1

    @rule(i=st.integers(0, 10))
    def close_sender(self, i):
        s = self.senders[i % len(self.senders)]
        if not s.closed:
            self.open_senders -= 1
        s.close()

    @invariant()
    def lengths(self):
        if not hasattr(self, "log"):
            return
        for r in self.receivers:
            if r is not None:
                assert len(r[0]) == len(self.log) - r[1]
        for s in self.senders:
            assert s.receiver_count() == (0 if s.closed else self._open_receivers())

    def teardown(self):
        if not hasattr(self, "log"):
            return
        cap = self.cap
        del self.senders, self.receivers, self.log
        gc.collect()
        # The ring holds the newest `cap` values at most; with every handle
        # gone, nothing is held at all.
        assert sum(r() is not None for r in self.refs) == 0, f"values kept (capacity {cap})"


BroadcastModel.TestCase.settings = SETTINGS
TestBroadcastModel = BroadcastModel.TestCase
