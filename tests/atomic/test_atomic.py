"""AtomicInt, AtomicUInt, AtomicBool and fence: every operation, ordering rule and error.

Length: every operation of three types times every ordering.
"""

import gc
import mmap
import pickle
import threading
import time
import weakref
from multiprocessing import shared_memory

import pytest

from pyconc import (
    ACQ_REL,
    ACQUIRE,
    RELAXED,
    RELEASE,
    SEQ_CST,
    AtomicBool,
    AtomicInt,
    AtomicUInt,
    Ordering,
    fence,
)

from conftest import scaled

ALL = list(Ordering)
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1


def test_ordering_names_and_values():
    assert [o.name for o in Ordering] == ["RELAXED", "ACQUIRE", "RELEASE", "ACQ_REL", "SEQ_CST"]
    assert len(set(Ordering)) == 5
    assert repr(Ordering.ACQUIRE) == "Ordering.ACQUIRE"


# ---------------------------------------------------------------- integers


@pytest.mark.parametrize("order", ALL)
def test_int_rmw_operations_return_previous(order):
    a = AtomicInt(12)
    assert a.fetch_add(5, order) == 12 and a.load() == 17
    assert a.fetch_sub(7, order) == 17 and a.load() == 10
    assert a.fetch_and(0b0110, order) == 10 and a.load() == 0b0010
    assert a.fetch_or(0b1000, order) == 2 and a.load() == 0b1010
    assert a.fetch_xor(0b1111, order) == 10 and a.load() == 0b0101
    assert a.fetch_nand(0b0100, order) == 5 and a.load() == ~(5 & 4)
    a.store(3)
    assert a.fetch_max(9, order) == 3 and a.load() == 9
    assert a.fetch_max(-4, order) == 9 and a.load() == 9
    assert a.fetch_min(-4, order) == 9 and a.load() == -4
    assert a.fetch_min(0, order) == -4 and a.load() == -4
    assert a.swap(77, order) == -4 and a.load() == 77


@pytest.mark.parametrize("cls", [AtomicInt, AtomicUInt])
def test_default_is_zero_and_keyword_order(cls):
    a = cls()
    assert a.load() == 0
    a.store(5, order=RELEASE)
    assert a.load(order=ACQUIRE) == 5
    assert a.fetch_add(1, order=RELAXED) == 5


def test_unsigned_semantics():
    u = AtomicUInt(U64_MAX)
    assert u.load() == U64_MAX
    assert u.fetch_add(1) == U64_MAX and u.load() == 0
    assert u.fetch_sub(1) == 0 and u.load() == U64_MAX
    u.store(5)
    assert u.fetch_max(U64_MAX) == 5 and u.load() == U64_MAX  # unsigned compare
    assert u.fetch_nand(0) == U64_MAX and u.load() == U64_MAX


def test_signed_wraps_around():
    a = AtomicInt(I64_MAX)
    assert a.fetch_add(1) == I64_MAX
    assert a.load() == I64_MIN
    assert a.fetch_sub(1) == I64_MIN
    assert a.load() == I64_MAX
    a.store(I64_MIN)
    assert a.fetch_add(-1) == I64_MIN and a.load() == I64_MAX


@pytest.mark.parametrize(
    "cls,bad",
    [
        (AtomicInt, I64_MAX + 1),
        (AtomicInt, I64_MIN - 1),
        (AtomicInt, 2**200),
        (AtomicUInt, -1),
        (AtomicUInt, U64_MAX + 1),
        (AtomicBool, 2),
        (AtomicBool, -1),
    ],
)
def test_out_of_range_raises_overflow(cls, bad):
    with pytest.raises(OverflowError):
        cls(bad)
    a = cls()
    with pytest.raises(OverflowError, match="out of range"):
        a.store(bad)
    with pytest.raises(OverflowError):
        a.swap(bad)
    with pytest.raises(OverflowError):
        a.compare_exchange(0, bad)
    with pytest.raises(OverflowError):
        a.compare_exchange(bad, 0)
    with pytest.raises(OverflowError):
        a.compare_exchange_weak(0, bad)
    if cls is not AtomicBool:
        with pytest.raises(OverflowError):
            a.fetch_add(bad)
        with pytest.raises(OverflowError):
            a.fetch_max(bad)
    assert a.load() == 0  # nothing changed


@pytest.mark.parametrize("cls", [AtomicInt, AtomicUInt, AtomicBool])
@pytest.mark.parametrize("bad", ["1", 1.0, None, [], 3j])
def test_non_integer_raises_type_error(cls, bad):
    with pytest.raises(TypeError):
        cls(bad)
    a = cls()
    with pytest.raises(TypeError):
        a.store(bad)
    with pytest.raises(TypeError):
        a.fetch_xor(bad)
    with pytest.raises(TypeError):
        a.compare_exchange(bad, 0)


def test_accepts_int_like_and_bools():
    a = AtomicInt(True)
    assert a.load() == 1

    class Index:
        def __index__(self):
            return 42

    a.store(Index())
    assert a.load() == 42
    assert a.fetch_add(Index()) == 42 and a.load() == 84
    assert a.compare_exchange(84, Index()) == (True, 84)
    assert a.swap(Index()) == 42
    b = AtomicBool()

    class BoolIndex:
        def __index__(self):
            return 1

    b.store(BoolIndex())
    assert b.load() is True


# ----------------------------------------------------------------- booleans


@pytest.mark.parametrize("order", ALL)
def test_bool_operations(order):
    b = AtomicBool()
    assert b.load() is False
    assert b.swap(True, order) is False and b.load() is True
    assert b.fetch_and(False, order) is True and b.load() is False
    assert b.fetch_or(True, order) is False and b.load() is True
    assert b.fetch_xor(True, order) is True and b.load() is False
    assert b.fetch_nand(True, order) is False and b.load() is True  # !(0 & 1)
    assert b.fetch_nand(True, order) is True and b.load() is False  # !(1 & 1)
    b.store(True)
    assert b.fetch_nand(False, order) is True and b.load() is True  # !(1 & 0)


def test_bool_has_no_arithmetic():
    b = AtomicBool()
    for name in ("fetch_add", "fetch_sub", "fetch_max", "fetch_min"):
        assert not hasattr(b, name)


def test_bool_compare_exchange():
    b = AtomicBool(False)
    assert b.compare_exchange(True, False) == (False, False)
    assert b.compare_exchange(False, True) == (True, False)
    assert b.load() is True
    ok, prev = b.compare_exchange_weak(True, False)
    assert prev is True and (ok or b.load() is True)


# --------------------------------------------------------- compare-exchange


@pytest.mark.parametrize("success", ALL)
@pytest.mark.parametrize("failure", [RELAXED, ACQUIRE, SEQ_CST])
def test_compare_exchange_every_valid_pair(success, failure):
    a = AtomicInt(5)
    assert a.compare_exchange(4, 9, success, failure) == (False, 5)
    assert a.compare_exchange(5, 9, success, failure) == (True, 5)
    assert a.load() == 9
    # weak: may fail spuriously, so retry; it must never succeed wrongly
    assert a.compare_exchange_weak(1, 2, success, failure) == (False, 9)
    while True:
        ok, prev = a.compare_exchange_weak(9, 11, success=success, failure=failure)
        assert prev == 9
        if ok:
            break
    assert a.load() == 11


def test_fetch_update():
    a = AtomicInt(7)
    assert a.fetch_update(lambda x: x * 2) == (True, 7)
    assert a.load() == 14
    assert a.fetch_update(lambda x: None) == (False, 14)
    assert a.fetch_update(lambda x: x + 1, set_order=ACQ_REL, fetch_order=ACQUIRE) == (True, 14)
    with pytest.raises(ValueError):
        a.fetch_update(lambda x: x, fetch_order=RELEASE)
    with pytest.raises(OverflowError):
        a.fetch_update(lambda x: 2**64)
    with pytest.raises(ZeroDivisionError):
        a.fetch_update(lambda x: 1 // 0)
    assert a.load() == 15


def test_fetch_update_retries_when_value_changes():
    a = AtomicInt(0)
    calls = []

    def fn(x):
        calls.append(x)
        if len(calls) == 1:
            a.store(100)  # another "thread" interferes once
        return x + 1

    assert a.fetch_update(fn) == (True, 100)
    assert calls[0] == 0 and calls[-1] == 100
    assert a.load() == 101


# ------------------------------------------------------------ ordering rules


@pytest.mark.parametrize("cls", [AtomicInt, AtomicUInt, AtomicBool])
def test_ordering_rules(cls):
    a = cls()
    for bad in (RELEASE, ACQ_REL):
        with pytest.raises(ValueError, match="load"):
            a.load(bad)
        with pytest.raises(ValueError, match="failure"):
            a.compare_exchange(0, 1, SEQ_CST, bad)
        with pytest.raises(ValueError, match="failure"):
            a.compare_exchange_weak(0, 1, SEQ_CST, bad)
    for bad in (ACQUIRE, ACQ_REL):
        with pytest.raises(ValueError, match="store"):
            a.store(1, bad)
    for ok in (RELAXED, ACQUIRE, SEQ_CST):
        a.load(ok)
    for ok in (RELAXED, RELEASE, SEQ_CST):
        a.store(0, ok)
    assert a.load() == 0  # rejected operations changed nothing


@pytest.mark.parametrize("bad", ["SEQ_CST", 2.5, None, [4]])
def test_ordering_type_errors(bad):
    a = AtomicInt()
    with pytest.raises(TypeError, match="Ordering"):
        a.load(bad)
    with pytest.raises(TypeError, match="Ordering"):
        a.fetch_add(1, bad)


@pytest.mark.parametrize("bad", [-1, 5, 99])
def test_ordering_value_errors(bad):
    a = AtomicInt()
    with pytest.raises(ValueError, match="not a valid"):
        a.fetch_add(1, bad)


def test_plain_int_orderings_are_accepted_as_intenum():
    a = AtomicInt()
    a.store(3, int(RELEASE))
    assert a.load(int(ACQUIRE)) == 3


def test_fence():
    for o in (ACQUIRE, RELEASE, ACQ_REL, SEQ_CST):
        fence(o)
    fence()
    with pytest.raises(ValueError, match="fence"):
        fence(RELAXED)
    with pytest.raises(TypeError):
        fence("SEQ_CST")


# -------------------------------------------------------------------- repr


def test_repr():
    assert repr(AtomicInt(-3)) == "AtomicInt(-3)"
    assert repr(AtomicUInt(U64_MAX)) == f"AtomicUInt({U64_MAX})"
    assert repr(AtomicBool(True)) == "AtomicBool(True)"


def test_not_picklable_and_weakrefable():
    a = AtomicInt(1)
    with pytest.raises(TypeError, match="from_buffer"):
        pickle.dumps(a)
    r = weakref.ref(a)
    del a
    gc.collect()
    assert r() is None


# -------------------------------------------------------------- from_buffer


@pytest.mark.parametrize("cls", [AtomicInt, AtomicUInt, AtomicBool])
def test_from_buffer_shares_memory(cls):
    buf = bytearray(32)
    a = cls.from_buffer(buf, 8)
    b = cls.from_buffer(buf, 8)
    a.store(1)
    assert b.load() == 1
    assert buf[8:16] == (1).to_bytes(8, "little" if memoryview(b"\x01\x00").cast("H")[0] == 1 else "big")
    assert buf[:8] == bytes(8) and buf[16:] == bytes(16)


def test_from_buffer_reads_existing_bytes():
    buf = bytearray((-5).to_bytes(8, "little", signed=True)) + bytearray(8)
    import sys

    if sys.byteorder == "little":
        assert AtomicInt.from_buffer(buf).load() == -5


def test_from_buffer_errors():
    with pytest.raises(TypeError, match="read-only"):
        AtomicInt.from_buffer(bytes(16))
    with pytest.raises(TypeError, match="buffer"):
        AtomicInt.from_buffer(12345)
    with pytest.raises(ValueError, match="8 bytes"):
        AtomicInt.from_buffer(bytearray(7))
    with pytest.raises(ValueError, match="8 bytes"):
        AtomicInt.from_buffer(bytearray(16), 9)
    with pytest.raises(ValueError):
        AtomicInt.from_buffer(bytearray(16), -8)
    with pytest.raises(TypeError, match="offset"):
        AtomicInt.from_buffer(bytearray(16), 1.0)
    buf = bytearray(32)
    base = AtomicInt.from_buffer(buf)  # find the alignment of the bytearray
    del base
    mis = [off for off in range(1, 8)]
    with pytest.raises(ValueError, match="align"):
        # one of these offsets is misaligned whatever the base address is
        for off in mis:
            AtomicInt.from_buffer(buf, off)
    with pytest.raises(ValueError, match="contiguous"):
        AtomicInt.from_buffer(memoryview(bytearray(64))[::2])


def test_from_buffer_keeps_buffer_alive():
    buf = bytearray(8)
    ref = memoryview(buf)  # noqa: F841  (bytearray can't be weakref'd; use mmap)
    m = mmap.mmap(-1, 4096)
    a = AtomicInt.from_buffer(m, 64)
    with pytest.raises(BufferError):
        m.close()  # exported: the atomic still uses it
    del m
    gc.collect()
    a.store(9)  # the mapping is still alive
    assert a.load() == 9


def test_from_buffer_on_shared_memory():
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        a = AtomicUInt.from_buffer(shm.buf, 16)
        b = AtomicUInt.from_buffer(shm.buf, 16)
        a.fetch_add(10)
        assert b.load() == 10
        del a, b
        gc.collect()
    finally:
        shm.close()
        shm.unlink()


# ------------------------------------------------------------------ threads


def _run_threads(n, fn):
    start = threading.Barrier(n)

    def body():
        start.wait()
        fn()

    ts = [threading.Thread(target=body) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_fetch_add_exact_total(threads):
    n = scaled(20_000)
    a = AtomicInt()

    def work():
        f = a.fetch_add
        for _ in range(n):
            f(1)

    _run_threads(threads, work)
    assert a.load() == threads * n


def test_fetch_add_relaxed_total_and_unique_tickets():
    n = scaled(10_000)
    a = AtomicUInt()
    seen = [[] for _ in range(4)]
    idx = iter(range(4))
    lock = threading.Lock()

    def work():
        with lock:
            mine = seen[next(idx)]
        for _ in range(n):
            mine.append(a.fetch_add(1, RELAXED))

    _run_threads(4, work)
    tickets = sorted(t for s in seen for t in s)
    assert tickets == list(range(4 * n))  # each previous value handed out once


def test_cas_loop_exact_total():
    n = scaled(10_000)
    a = AtomicInt()

    def work():
        for _ in range(n):
            cur = a.load(RELAXED)
            while True:
                ok, cur = a.compare_exchange_weak(cur, cur + 1, ACQ_REL, RELAXED)
                if ok:
                    break

    _run_threads(4, work)
    assert a.load() == 4 * n


def test_fetch_update_exact_total_and_max():
    n = scaled(5_000)
    a = AtomicInt()
    hi = AtomicInt(I64_MIN)

    def work():
        for i in range(n):
            a.fetch_update(lambda x: x + 2)
            hi.fetch_max(i)

    _run_threads(4, work)
    assert a.load() == 4 * n * 2
    assert hi.load() == n - 1


def test_bool_flag_handshake():
    """A RELEASE store of a flag publishes a plain write made before it."""
    rounds = scaled(2_000)
    flag = AtomicBool()
    box = []

    def producer():
        for i in range(rounds):
            while flag.load(ACQUIRE):
                time.sleep(0)  # let the GIL go: the other side must run
            box.append(i)
            flag.store(True, RELEASE)

    got = []

    def consumer():
        for _ in range(rounds):
            while not flag.load(ACQUIRE):
                time.sleep(0)
            got.append(box[-1])
            flag.store(False, RELEASE)

    t1 = threading.Thread(target=producer)
    t2 = threading.Thread(target=consumer)
    t1.start(); t2.start(); t1.join(); t2.join()
    assert got == list(range(rounds))


# ------------------------------------------------------ the C types (issue 11)

KINDS = [AtomicInt, AtomicUInt, AtomicBool]
INT_METHODS = [
    "load", "store", "swap", "compare_exchange", "compare_exchange_weak", "fetch_update",
    "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor", "fetch_nand",
    "fetch_max", "fetch_min",
]
BOOL_METHODS = [
    "load", "store", "swap", "compare_exchange", "compare_exchange_weak", "fetch_update",
    "fetch_and", "fetch_or", "fetch_xor", "fetch_nand",
]


def _methods(cls):
    return BOOL_METHODS if cls is AtomicBool else INT_METHODS


def _instances(cls):
    """A plain atomic, one in a bytearray and one in an mmap."""
    m = mmap.mmap(-1, 64)
    return [cls(), cls.from_buffer(bytearray(16), 8), cls.from_buffer(m, 16)]


def test_methods_are_c_methods_and_objects_are_small():
    import types
    import sys

    for cls in KINDS:
        for name in _methods(cls):
            assert isinstance(cls.__dict__[name], types.MethodDescriptorType), name
        assert not hasattr(cls(), "__dict__")
        # header, weak-reference list, the 8-byte cell: nothing else (no
        # padding to a cache line, as Rust's AtomicI64)
        assert cls.__basicsize__ == object.__basicsize__ + 16
        assert sys.getsizeof(cls()) == cls.__basicsize__


@pytest.mark.parametrize("cls", KINDS)
def test_immutable(cls):
    one = True if cls is AtomicBool else 1
    for a in _instances(cls):
        a.store(one)
        for name in _methods(cls) + ["x", "value", "_cell", "__weakref__", "__class__"]:
            with pytest.raises((AttributeError, TypeError)):
                setattr(a, name, 8)
            with pytest.raises((AttributeError, TypeError)):
                delattr(a, name)
        a.__init__()  # re-running __init__ changes nothing
        a.__init__(0)
        type(a).__init__(a, 0)
        assert a.load() == one
        with pytest.raises(TypeError):
            a.__class__ = AtomicUInt if cls is not AtomicUInt else AtomicInt
        a.store(0)
    for name in _methods(cls) + ["from_buffer", "__new__", "x"]:
        with pytest.raises(TypeError):
            setattr(cls, name, None)
        with pytest.raises(TypeError):
            delattr(cls, name)
    assert cls().load() == 0


@pytest.mark.parametrize("cls", KINDS)
def test_view_type_cannot_be_made_empty(cls):
    view = type(cls.from_buffer(bytearray(8)))
    assert issubclass(view, cls) and view is not cls
    with pytest.raises(TypeError):
        view()
    with pytest.raises(TypeError):
        cls.__new__(view)
    with pytest.raises(TypeError):
        object.__new__(view)
    with pytest.raises(TypeError):
        object.__new__(cls)


class _HostileIndex:
    def __index__(self):
        raise ZeroDivisionError("hostile __index__")


class _BadIndex:
    def __index__(self):
        return "not an int"


class _HostileRepr(int):
    def __repr__(self):
        raise RuntimeError("hostile __repr__")


HOSTILE = [
    object(), None, "1", b"1", 1.0, 2.5, float("nan"), 3j, [], {}, (1,), True, -1, 2**63,
    -(2**63) - 1, 2**64, 2**200, -(2**200), _HostileIndex(), _BadIndex(),
    _HostileRepr(2**70), int, AtomicInt, lambda x: x,
]


@pytest.mark.parametrize("cls", KINDS)
def test_hostile_arguments_raise_python_exceptions_only(cls):
    expected = (TypeError, ValueError, OverflowError, ZeroDivisionError, RuntimeError)
    for a in _instances(cls):
        for name in _methods(cls):
            method = getattr(a, name)
            calls = [((), {}), ((1, 2, 3, 4, 5, 6), {}), ((), {"nonsense": 1}),
                     ((0,), {"value": 0}), ((0, 0), {"current": 0})]
            for bad in HOSTILE:
                calls += [((bad,), {}), ((bad, bad), {}), ((0, bad), {}),
                          ((0, 0, bad), {}), ((0, 0, SEQ_CST, bad), {}),
                          ((), {"order": bad}), ((0,), {"order": bad})]
            for args, kwargs in calls:
                before = a.load()
                try:
                    method(*args, **kwargs)
                except expected:
                    pass
                if name == "load" or name == "fetch_update":
                    continue
                a.store(before)
        assert isinstance(a.load(), bool if cls is AtomicBool else int)
        a.store(0)
    for bad in HOSTILE:
        for args in [(bad,), (bytearray(16), bad), (bad, 0)]:
            with pytest.raises(expected):
                cls.from_buffer(*args)
        try:
            cls(bad)
        except expected:
            pass
        with pytest.raises(expected):
            fence(bad)
    for unbound in [getattr(cls, name) for name in _methods(cls)]:
        for self in [object(), 1, AtomicInt if cls is not AtomicInt else AtomicUInt]:
            with pytest.raises(TypeError):
                unbound(self)
    a = cls(True if cls is AtomicBool else 7)
    assert a.load() == (True if cls is AtomicBool else 7)  # still works


def test_hostile_function_for_fetch_update():
    a = AtomicInt(1)
    for fn in [None, 5, "x", lambda: 1, lambda x, y: 1, lambda x: "2", lambda x: 2.0,
               lambda x: 2**64, lambda x: _HostileIndex()]:
        with pytest.raises((TypeError, OverflowError, ZeroDivisionError)):
            a.fetch_update(fn)
    assert a.load() == 1

    def reenter(x):  # the function may use the atomic itself
        a.fetch_add(0)
        return x + 1

    assert a.fetch_update(reenter) == (True, 1) and a.load() == 2


class _Liar(int):
    """An int whose == lies: never equal, not even to itself."""

    def __eq__(self, other):
        return False

    __ne__ = lambda self, other: True  # noqa: E731
    __hash__ = int.__hash__


class _Raiser(int):
    def __eq__(self, other):
        raise RuntimeError("== must not be called by compare_exchange")

    __ne__ = __eq__
    __hash__ = int.__hash__


@pytest.mark.parametrize("cls", [AtomicInt, AtomicUInt])
@pytest.mark.parametrize("sub", [_Liar, _Raiser])
def test_compare_exchange_decides_from_the_c_result(cls, sub):
    """Issue 12: success came from Python's prev == current, so a CAS that
    replaced the value reported failure (or raised) for an int subclass."""
    a = cls(5)
    ok, prev = a.compare_exchange(sub(5), sub(6))
    assert ok is True and type(prev) is int and int(prev) == 5
    assert a.load() == 6
    ok, prev = a.compare_exchange(sub(5), 7)
    assert ok is False and int(prev) == 6 and a.load() == 6
    while True:
        ok, prev = a.compare_exchange_weak(sub(6), sub(8))
        assert int(prev) == 6
        if ok:
            break
    assert a.load() == 8
    # a retry loop applies its update exactly once
    applied = 0
    cur = sub(a.load())
    while True:
        ok, seen = a.compare_exchange(cur, sub(int(cur) + 1))
        applied += 1
        if ok:
            break
        cur = sub(seen)
    assert applied == 1 and a.load() == 9
    b = AtomicBool(True)
    assert b.compare_exchange(sub(1), sub(0)) == (True, True) and b.load() is False


@pytest.mark.parametrize("bad", [True, False, 1.0, 4.0])
def test_bool_and_float_orderings_rejected(bad):
    """Issue 12: True (== 1 == ACQUIRE) and 1.0 were taken as orderings."""
    a = AtomicInt(3)
    for call in [
        lambda: a.load(bad), lambda: a.load(order=bad), lambda: a.store(1, bad),
        lambda: a.swap(1, bad), lambda: a.fetch_add(1, bad), lambda: a.fetch_max(9, bad),
        lambda: a.compare_exchange(3, 4, bad), lambda: a.compare_exchange(3, 4, SEQ_CST, bad),
        lambda: a.compare_exchange_weak(3, 4, failure=bad),
        lambda: a.fetch_update(lambda x: x + 1, bad),
        lambda: a.fetch_update(lambda x: x + 1, fetch_order=bad), lambda: fence(bad),
        lambda: AtomicBool().fetch_or(True, bad),
    ]:
        with pytest.raises(TypeError, match="Ordering"):
            call()
    assert a.load() == 3  # nothing ran


def test_ordering_messages_name_the_operation():
    a = AtomicInt()
    with pytest.raises(ValueError, match=r"Ordering.RELEASE is not allowed for a load \(allowed: RELAXED, ACQUIRE, SEQ_CST\)"):
        a.load(RELEASE)
    with pytest.raises(ValueError, match="not allowed for a store"):
        a.store(1, ACQUIRE)
    with pytest.raises(ValueError, match="failure ordering of a compare-exchange"):
        a.compare_exchange(0, 1, failure=ACQ_REL)
    with pytest.raises(ValueError, match="not allowed for a fence"):
        fence(RELAXED)
    with pytest.raises(TypeError, match="ordering must be a pyconc.Ordering, not str"):
        a.fetch_add(1, "SEQ_CST")


def test_keyword_arguments():
    a = AtomicInt()
    a.store(value=4, order=RELEASE)
    assert a.swap(value=5) == 4
    assert a.fetch_add(value=1, order=RELAXED) == 5
    assert a.compare_exchange(current=6, new=7, success=ACQ_REL, failure=ACQUIRE) == (True, 6)
    assert a.fetch_update(fn=lambda x: x + 1, set_order=RELAXED) == (True, 7)
    assert AtomicInt.from_buffer(buf=bytearray(16), offset=8).load() == 0
    assert AtomicInt(value=3).load() == 3 and AtomicBool(value=True).load() is True
    fence(order=ACQUIRE)
    with pytest.raises(TypeError, match="multiple values"):
        a.store(1, value=2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        a.load(ordering=SEQ_CST)
    with pytest.raises(TypeError, match="missing required argument 'new'"):
        a.compare_exchange(1)


def test_from_buffer_keeps_the_buffer_exported_until_the_atomic_dies():
    m = mmap.mmap(-1, 4096)
    a = AtomicUInt.from_buffer(m, 128)
    b = AtomicUInt.from_buffer(memoryview(m)[64:], 0)
    for _ in range(2):
        with pytest.raises(BufferError):
            m.close()
    a.store(5)
    assert m[128:136] == (5).to_bytes(8, sys_byteorder())
    del a
    gc.collect()
    with pytest.raises(BufferError):
        m.close()  # b still uses it, through its memoryview
    del b
    gc.collect()
    m.close()
    buf = bytearray(16)
    a = AtomicInt.from_buffer(buf)
    with pytest.raises(BufferError):
        buf.extend(b"x" * 100)  # cannot move while the atomic points into it
    del a
    buf.extend(b"x")


def sys_byteorder():
    import sys

    return sys.byteorder


def test_from_buffer_bad_buffers():
    import array

    with pytest.raises(TypeError, match="read-only"):
        AtomicUInt.from_buffer(memoryview(bytearray(8)).toreadonly())
    with pytest.raises(TypeError, match="buffer protocol"):
        AtomicBool.from_buffer("12345678")
    with pytest.raises(ValueError, match="8 bytes at offset 2"):
        AtomicInt.from_buffer(bytearray(9), 2)
    with pytest.raises(ValueError, match="8 bytes"):
        AtomicInt.from_buffer(bytearray(16), 2**70)
    assert AtomicInt.from_buffer(array.array("q", [-4, 9]), 8).load() == 9

    class Mine(AtomicInt):
        pass

    with pytest.raises(TypeError, match="subclass"):
        Mine.from_buffer(bytearray(8))
    m = Mine(4)  # a Python subclass works on its own cell
    assert m.fetch_add(1) == 4 and repr(m) == "Mine(5)"


def test_a_cycle_through_a_view_is_collected():
    class Holder:
        pass

    h = Holder()
    h.buf = bytearray(16)
    h.atomic = AtomicInt.from_buffer(h.buf)
    h.atomic.store(3)
    h.me = h
    r = weakref.ref(h.atomic)
    del h
    gc.collect()
    assert r() is None


def test_views_weakref_and_repr():
    for cls, v in [(AtomicInt, -2), (AtomicUInt, 2), (AtomicBool, True)]:
        a = cls.from_buffer(bytearray(8))
        a.store(v)
        assert repr(a) == f"{cls.__name__}({v!r})"
        assert isinstance(a, cls)
        r = weakref.ref(a)
        with pytest.raises(TypeError, match="from_buffer"):
            pickle.dumps(a)
        del a
        gc.collect()
        assert r() is None
