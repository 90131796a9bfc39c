"""Model-based tests (hypothesis, stateful): random operation sequences on the
atomics and the spin lock, checked against a simple sequential model."""

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyconc import ACQ_REL, ACQUIRE, RELAXED, RELEASE, SEQ_CST, AtomicInt, AtomicUInt, SpinLock

pytestmark = pytest.mark.model  # the kind of test (tests/README.md)

RMW = st.sampled_from([RELAXED, ACQUIRE, RELEASE, ACQ_REL, SEQ_CST])
I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)


def wrap_signed(x):
    x &= 2**64 - 1
    return x - 2**64 if x >= 2**63 else x


class IntegerModel(RuleBasedStateMachine):
    """AtomicInt and AtomicUInt against Python ints reduced modulo 2**64."""

    def __init__(self):
        super().__init__()
        self.i = AtomicInt()
        self.u = AtomicUInt()
        self.mi = 0
        self.mu = 0

    def _both(self, op, vi, vu, order, fi, fu):
        assert getattr(self.i, op)(vi, order) == self.mi
        assert getattr(self.u, op)(vu, order) == self.mu
        self.mi = wrap_signed(fi(self.mi, vi))
        self.mu = fu(self.mu, vu) & (2**64 - 1)

    @rule(vi=I64, vu=U64, order=RMW)
    def add(self, vi, vu, order):
        self._both("fetch_add", vi, vu, order, lambda a, b: a + b, lambda a, b: a + b)

    @rule(vi=I64, vu=U64, order=RMW)
    def sub(self, vi, vu, order):
        self._both("fetch_sub", vi, vu, order, lambda a, b: a - b, lambda a, b: a - b)

    @rule(vi=I64, vu=U64, order=RMW, op=st.sampled_from(["and", "or", "xor", "nand"]))
    def bitwise(self, vi, vu, order, op):
        f = {"and": lambda a, b: a & b, "or": lambda a, b: a | b,
             "xor": lambda a, b: a ^ b, "nand": lambda a, b: ~(a & b)}[op]
        self._both("fetch_" + op, vi, vu, order, f, f)

    @rule(vi=I64, vu=U64, order=RMW, op=st.sampled_from(["max", "min"]))
    def extremum(self, vi, vu, order, op):
        f = max if op == "max" else min
        self._both("fetch_" + op, vi, vu, order, f, f)

    @rule(vi=I64, vu=U64, order=RMW)
    def swap(self, vi, vu, order):
        self._both("swap", vi, vu, order, lambda a, b: b, lambda a, b: b)

    @rule(vi=I64, vu=U64, hit=st.booleans())
    def cas(self, vi, vu, hit):
        ei = self.mi if hit else wrap_signed(self.mi + 1)
        eu = self.mu if hit else (self.mu + 1) & (2**64 - 1)
        assert self.i.compare_exchange(ei, vi) == (hit, self.mi)
        assert self.u.compare_exchange(eu, vu) == (hit, self.mu)
        if hit:
            self.mi, self.mu = vi, vu

    @rule(delta=st.integers(-5, 5))
    def update(self, delta):
        ok, prev = self.i.fetch_update(lambda x: wrap_signed(x + delta) if delta else None)
        assert prev == self.mi and ok == (delta != 0)
        self.mi = wrap_signed(self.mi + delta)

    @invariant()
    def agrees(self):
        assert self.i.load() == self.mi
        assert self.u.load() == self.mu


class SharedBytesModel(RuleBasedStateMachine):
    """An AtomicInt and an AtomicUInt made by from_buffer over the same 8
    bytes: every operation through one is seen through the other, as the
    two's-complement reading of one 64-bit word."""

    def __init__(self):
        super().__init__()
        self.buf = bytearray(24)
        self.i = AtomicInt.from_buffer(self.buf, 8)
        self.u = AtomicUInt.from_buffer(memoryview(self.buf)[8:16])
        self.word = 0  # the model: the unsigned value of the word

    @rule(vi=I64, order=RMW, op=st.sampled_from(["fetch_add", "fetch_sub", "fetch_xor", "swap"]))
    def through_signed(self, vi, order, op):
        f = {"fetch_add": lambda a, b: a + b, "fetch_sub": lambda a, b: a - b,
             "fetch_xor": lambda a, b: a ^ b, "swap": lambda a, b: b}[op]
        assert getattr(self.i, op)(vi, order) == wrap_signed(self.word)
        self.word = f(wrap_signed(self.word), vi) & (2**64 - 1)

    @rule(vu=U64, order=RMW, op=st.sampled_from(["fetch_add", "fetch_or", "fetch_max", "fetch_min"]))
    def through_unsigned(self, vu, order, op):
        f = {"fetch_add": lambda a, b: a + b, "fetch_or": lambda a, b: a | b,
             "fetch_max": max, "fetch_min": min}[op]
        assert getattr(self.u, op)(vu, order) == self.word
        self.word = f(self.word, vu) & (2**64 - 1)

    @rule(vu=U64, hit=st.booleans())
    def cas_unsigned(self, vu, hit):
        expected = self.word if hit else (self.word + 1) & (2**64 - 1)
        assert self.u.compare_exchange(expected, vu) == (hit, self.word)
        if hit:
            self.word = vu

    @invariant()
    def agrees(self):
        assert self.u.load() == self.word
        assert self.i.load() == wrap_signed(self.word)
        assert self.buf[:8] == bytes(8) and self.buf[16:] == bytes(8)


class LockModel(RuleBasedStateMachine):
    """SpinLock against a boolean."""

    def __init__(self):
        super().__init__()
        self.lock = SpinLock()
        self.held = False

    @rule()
    def try_acquire(self):
        assert self.lock.acquire(False) == (not self.held)
        self.held = True

    @precondition(lambda self: self.held)
    @rule()
    def timed_acquire_on_held(self):
        assert self.lock.acquire(timeout=0.001) is False

    @rule()
    def release(self):
        if self.held:
            self.lock.release()
            self.held = False
        else:
            try:
                self.lock.release()
            except RuntimeError:
                pass
            else:
                raise AssertionError("released an unlocked lock without error")

    @invariant()
    def agrees(self):
        assert self.lock.locked() == self.held


TestIntegerModel = IntegerModel.TestCase
TestIntegerModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestSharedBytesModel = SharedBytesModel.TestCase
TestSharedBytesModel.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestLockModel = LockModel.TestCase
TestLockModel.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
