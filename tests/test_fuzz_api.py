"""Fuzz the public API with hypothesis: any call with any arguments either
works or raises one of the documented exception types, and never crashes
the interpreter or corrupts the object."""

import pytest
from hypothesis import given, settings, strategies as st

from pyconc import AtomicBool, AtomicInt, AtomicUInt, Ordering, SpinLock, fence

pytestmark = pytest.mark.fuzz  # the kind of test (tests/README.md)

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.binary(max_size=9),
    st.sampled_from(list(Ordering)),
    st.integers(-3, 8),
    st.lists(st.integers(), max_size=2),
    st.just(object()),
)
OK_ERRORS = (TypeError, ValueError, OverflowError)

ATOMIC_METHODS = [
    "load", "store", "swap", "compare_exchange", "compare_exchange_weak",
    "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor",
    "fetch_nand", "fetch_max", "fetch_min",
]


@settings(max_examples=600, deadline=None)
@given(
    cls=st.sampled_from([AtomicInt, AtomicUInt, AtomicBool]),
    method=st.sampled_from(ATOMIC_METHODS),
    args=st.lists(ANY, max_size=5),
)
def test_atomic_methods(cls, method, args):
    a = cls()
    before = a.load()
    fn = getattr(a, method, None)
    if fn is None:
        return
    try:
        fn(*args)
    except OK_ERRORS:
        assert a.load() == before  # a rejected call changes nothing
    value = a.load()
    assert isinstance(value, bool if cls is AtomicBool else int)


@settings(max_examples=200, deadline=None)
@given(args=st.lists(ANY, max_size=3))
def test_constructors_and_from_buffer(args):
    for cls in (AtomicInt, AtomicUInt, AtomicBool):
        try:
            cls(*args)
        except OK_ERRORS:
            pass
        try:
            cls.from_buffer(*args)
        except OK_ERRORS:
            pass
    try:
        SpinLock.from_buffer(*args)
    except OK_ERRORS:
        pass
    try:
        fence(*args)
    except OK_ERRORS:
        pass


@settings(max_examples=300, deadline=None)
@given(blocking=ANY, timeout=ANY)
def test_spin_lock_acquire(blocking, timeout):
    lock = SpinLock()
    lock.acquire()  # held: a call that is accepted must fail to take it
    if blocking and timeout == -1:
        timeout = 0.001  # an unbounded wait on a held lock would never end
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0.01:
        timeout = 0.01
    try:
        got = lock.acquire(blocking, timeout)
    except OK_ERRORS:
        got = None
    assert got in (None, False)
    assert lock.locked()
