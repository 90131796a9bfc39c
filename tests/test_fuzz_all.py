"""Fuzz the rest of the public API (test_fuzz_api.py covers the atomics and
the SpinLock) with hypothesis: channels, the sync types, threads and
broadcast.  Any call with any arguments either works or raises one of the
documented exception types; it never crashes the interpreter, never hangs,
and a rejected call loses nothing (the values queued or protected are
still there, the lock is free again)."""

import math

import pytest
from hypothesis import given, settings, strategies as st

import pyconc
from conftest import STRESS
from pyconc import (
    Barrier,
    Builder,
    ChannelError,
    Condvar,
    Mutex,
    Once,
    OnceLock,
    PoisonError,
    RwLock,
    WouldBlock,
    broadcast,
    channel,
    sync_channel,
)

pytestmark = pytest.mark.fuzz  # the kind of test (tests/README.md)

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(-3, 8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.binary(max_size=4),
    st.lists(st.integers(-2, 5), max_size=3),
    st.just(object()),
)
ARGS = st.lists(ANY, max_size=3)
#: The documented exception types of the public API (DEVELOPERS.md, "Bad
#: input"); RuntimeError for closed, retired or stale objects, TimeoutError
#: for timed waits, the pyconc errors for channel and lock states.
OK_ERRORS = (TypeError, ValueError, OverflowError, RuntimeError, TimeoutError,
             ChannelError, WouldBlock, PoisonError)
N = 150 * STRESS


def _bounded(args):
    """Cap any positive number (inf and huge ones too) at 10 ms, so that a
    call accepted as a timeout cannot wait long; keep the rest (types,
    signs, nan)."""
    out = []
    for a in args:
        if (isinstance(a, (int, float)) and not isinstance(a, bool)
                and not (isinstance(a, float) and math.isnan(a))
                and 0.01 < a):
            # (inf and huge values too: a timeout beyond what the platform
            # can wait now means "no limit", for every blocking call)
            a = 0.01
        out.append(a)
    return out


def _forever(t):
    """A timeout that means "no limit" (None, or beyond what any platform
    waits: pyglue/pc_py.h's PC_PY_TIMEOUT_FOREVER_S, as threading.TIMEOUT_MAX)."""
    return t is None or (isinstance(t, (int, float)) and not isinstance(t, bool)
                         and t >= 9.0e9)


def _call(obj, name, args):
    try:
        return True, getattr(obj, name)(*args)
    except OK_ERRORS as exc:
        return False, exc


# -------------------------------------------------------------- channels


@settings(max_examples=N, deadline=None)
@given(args=ARGS)
def test_channel_constructors(args):
    for make in (channel, sync_channel):
        try:
            tx, rx = make(*_bounded(args))
        except OK_ERRORS:
            continue
        h = pyconc.spawn(tx.send, "ok")  # whatever was accepted makes a working channel
        assert rx.recv(timeout=5) == "ok"
        h.join(timeout=5)


@settings(max_examples=N * 2, deadline=None)
@given(bound=st.sampled_from([None, 0, 1, 4]),
       method=st.sampled_from(["send", "try_send", "send_timeout", "send_many", "clone",
                               "close", "__enter__", "__exit__", "__repr__"]),
       args=ARGS)
def test_sender_methods(bound, method, args):
    tx, rx = channel() if bound is None else sync_channel(bound)
    first = [] if bound == 0 else ["first"]
    for v in first:
        tx.send(v)
    args = _bounded(args)
    if method in ("send", "send_many") and bound is not None:
        method = {"send": "try_send", "send_many": "try_send"}[method]  # no unbounded waits
    if method == "send_timeout" and len(args) == 2 and args[1] is None:
        args[1] = 0.0
    ok, _ = _call(tx, method, args)
    got = list(rx.try_iter())
    assert got[:len(first)] == first, "a queued value was lost"
    if not ok and method in ("send", "try_send", "send_timeout"):
        assert got == first, "a rejected send sent something"
    rx.close()
    tx.close()


@settings(max_examples=N * 2, deadline=None)
@given(bound=st.sampled_from([None, 2]),
       method=st.sampled_from(["recv", "try_recv", "recv_many", "try_iter", "close",
                               "__iter__", "__next__", "__len__", "__enter__", "__exit__"]),
       args=ARGS)
def test_receiver_methods(bound, method, args):
    tx, rx = channel() if bound is None else sync_channel(bound)
    tx.send(1)
    tx.send(2)
    ok, out = _call(rx, method, _bounded(args))
    if ok and method == "try_iter":
        out = list(out)
    if rx.closed:
        assert method in ("close", "__exit__")
        return
    rest = list(rx.try_iter())
    if not ok:
        assert rest == [1, 2], "a rejected receive consumed a value"
    else:
        taken = {"recv": 1, "try_recv": 1, "__next__": 1, "try_iter": 2}.get(method, 0)
        if method == "recv_many":
            taken = len(out)
        assert rest == [1, 2][taken:], f"{method} took {taken}, left {rest}"


# ------------------------------------------------------------- sync types


@settings(max_examples=N * 2, deadline=None)
@given(method=st.sampled_from(["lock", "try_lock", "into_inner", "get_mut", "is_poisoned",
                               "clear_poison", "__repr__"]),
       held=st.booleans(), poisoned=st.booleans(), args=ARGS)
def test_mutex_methods(method, held, poisoned, args):
    m = Mutex(["value"])
    if poisoned:
        with pytest.raises(KeyError):
            with m.lock():
                raise KeyError
    guard = None
    if held:
        try:
            guard = m.lock()
        except PoisonError as e:
            guard = e.into_inner()
        guard.__enter__()
        if method == "into_inner":
            method = "try_lock"  # into_inner waits for the holder: this thread
    args = _bounded(args)
    if method == "lock" and held and (not args or args[0] is None or args[0] == math.inf):
        args = [0.0]
    ok, out = _call(m, method, args)
    if not ok and isinstance(out, PoisonError):
        out = out.into_inner()
        ok = True
    if ok and isinstance(out, pyconc.sync.MutexGuard):
        with out as g:
            assert g.value == ["value"]
    if guard is not None:
        assert guard.value == ["value"]
        guard.__exit__(None, None, None)
    if method == "into_inner" and ok:
        assert out == ["value"]
        return
    m.clear_poison()
    with m.try_lock() as g:  # free again, value intact
        assert g.value == ["value"]


@settings(max_examples=N * 2, deadline=None)
@given(method=st.sampled_from(["read", "write", "try_read", "try_write", "into_inner",
                               "is_poisoned", "clear_poison", "__repr__"]),
       held=st.sampled_from([None, "read", "write"]), args=ARGS)
def test_rwlock_methods(method, held, args):
    rw = RwLock(["value"])
    guard = getattr(rw, held)().__enter__() if held else None
    if method == "into_inner" and held:
        method = "try_write"
    args = _bounded(args)
    if method in ("read", "write") and held and (not args or _forever(args[0])):
        args = [0.0]
    ok, out = _call(rw, method, args)
    if ok and isinstance(out, (pyconc.sync.RwLockReadGuard, pyconc.sync.RwLockWriteGuard)):
        with out as g:
            assert g.value == ["value"]
    if guard is not None:
        guard.__exit__(None, None, None)
    if method == "into_inner" and ok:
        assert out == ["value"]
        return
    with rw.try_write() as g:
        assert g.value == ["value"]


@settings(max_examples=N * 2, deadline=None)
@given(method=st.sampled_from(["wait", "wait_while", "wait_timeout", "wait_timeout_while",
                               "notify_one", "notify_all", "__repr__"]),
       with_guard=st.booleans(), args=ARGS)
def test_condvar_methods(method, with_guard, args):
    m, cv = Mutex(0), Condvar()
    args = _bounded(args)
    if with_guard:
        g = m.lock().__enter__()
        # Only the timed waits may get the real guard (an untimed wait would
        # wait for a notify that never comes); their other arguments fuzzed.
        if method in ("wait_timeout", "wait_timeout_while"):
            args = [g] + args[1:]
            if len(args) >= 2 and (args[1] is None or args[1] == math.inf):
                args[1] = 0.0
    ok, out = _call(cv, method, args)
    if with_guard:
        g.__exit__(None, None, None)
    with m.try_lock() as g2:  # the waits relocked and the exit unlocked
        assert g2.value == 0


@settings(max_examples=N, deadline=None)
@given(args=ARGS, wait_args=ARGS)
def test_barrier(args, wait_args):
    try:
        b = Barrier(*_bounded(args))
    except OK_ERRORS:
        return
    if b.n == 1:
        ok, out = _call(b, "wait", wait_args)
        assert out is True if ok else isinstance(out, TypeError)
    repr(b)


@settings(max_examples=N * 2, deadline=None)
@given(method=st.sampled_from(["call_once", "call_once_force", "is_completed", "__repr__"]),
       args=ARGS)
def test_once(method, args):
    once = Once()
    _call(once, method, _bounded(args))
    # A rejected call did not poison it or mark it complete.
    once.call_once_force(lambda state: None)
    assert once.is_completed()


@settings(max_examples=N * 2, deadline=None)
@given(method=st.sampled_from(["get", "set", "get_or_init", "take", "__repr__"]),
       filled=st.booleans(), args=ARGS)
def test_oncelock(method, filled, args):
    cell = OnceLock()
    if filled:
        cell.set("value")
    ok, out = _call(cell, method, _bounded(args))
    if filled and method != "take":
        assert cell.get() == "value"
    elif not filled and not (ok and method == "set"):
        assert cell.get() is None


# ---------------------------------------------------------------- threads


@settings(max_examples=N, deadline=None)
@given(args=ARGS, join_args=ARGS, name=ANY, daemon=ARGS)
def test_spawn_builder_join(args, join_args, name, daemon):
    try:
        pyconc.spawn(*args)
    except OK_ERRORS:
        pass
    b = Builder()
    for call in (lambda: b.name(name), lambda: b.daemon(*daemon)):
        try:
            call()
        except OK_ERRORS:
            pass
    h = b.spawn(lambda: "done")
    ok, out = _call(h, "join", _bounded(join_args))
    assert h.join(timeout=10) == "done"
    if ok:
        assert out == "done"


# -------------------------------------------------------------- broadcast


@settings(max_examples=N, deadline=None)
@given(args=ARGS)
def test_broadcast_constructor(args):
    try:
        tx, rx = broadcast(*_bounded(args))
    except OK_ERRORS:
        return
    assert tx.send("x") == 1
    assert rx.recv(timeout=1) == "x"


@settings(max_examples=N * 2, deadline=None)
@given(side=st.sampled_from(["tx", "rx"]),
       method=st.sampled_from(["send", "subscribe", "clone", "receiver_count", "close",
                               "try_recv", "recv", "resubscribe", "__len__", "__iter__",
                               "__next__", "__enter__", "__exit__", "__repr__"]),
       args=ARGS)
def test_broadcast_methods(side, method, args):
    tx, rx = broadcast(4)
    tx.send("first")
    obj = tx if side == "tx" else rx
    if not hasattr(obj, method):
        return
    args = _bounded(args)
    ok, out = _call(obj, method, args)
    if side == "tx":
        if method not in ("close", "__exit__"):
            tx.send("last")
        rest = []
        while len(rx):
            rest.append(rx.try_recv())
        want = ["first"] + ([] if method in ("close", "__exit__") else ["last"])
        if ok and method == "send":
            want.insert(1, args[0])
        assert rest == want
    elif not rx.closed:
        rest = []
        while len(rx):
            rest.append(rx.try_recv())
        consumed = ok and method in ("try_recv", "recv", "__next__")
        assert rest == ([] if consumed else ["first"]), "a rejected call lost a value"
