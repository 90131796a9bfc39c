"""pyconc.AtomicRef: an atomic reference to a Python object.

Tests named "port of ..." follow the test of that name in cereggii's
tests/test_atomic_ref.py or Rust's library/core/tests/atomic.rs
(AtomicPtr), rewritten for this API.
"""

import copy
import gc
import pickle
import sys
import threading
import weakref

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import pyconc
from pyconc import AtomicRef
from conftest import scaled


def test_default_is_none():
    """Port of cereggii's test_init."""
    assert AtomicRef().load() is None
    o = object()
    assert AtomicRef(o).load() is o
    assert AtomicRef(value=o).load() is o


def test_store_swap():
    """Port of cereggii's test_set and test_get_and_set."""
    a, b = object(), object()
    r = AtomicRef(a)
    assert r.swap(b) is a
    assert r.load() is b
    assert r.store(a) is None
    assert r.load() is a


def test_compare_exchange_is_by_identity():
    """Port of cereggii's test_compare_and_set, and of Rust's
    atomic.rs::ptr_compare_exchange (the comparison is of addresses)."""
    x, y = [1], [1]  # equal, not identical
    r = AtomicRef(x)
    assert r.compare_exchange(y, "new") == (False, x)
    assert r.load() is x
    ok, prev = r.compare_exchange(x, y)
    assert ok and prev is x and r.load() is y


def test_compare_exchange_never_calls_eq():
    class Loud:
        def __eq__(self, other):
            raise AssertionError("== called")

        __hash__ = object.__hash__

    a = Loud()
    r = AtomicRef(a)
    assert r.compare_exchange(Loud(), 1)[0] is False
    assert r.compare_exchange(a, 1)[0] is True


def test_compare_exchange_keywords_and_errors():
    r = AtomicRef(1)
    assert r.compare_exchange(current=1, new=2) == (True, 1)
    with pytest.raises(TypeError):
        r.compare_exchange(1)
    with pytest.raises(TypeError):
        r.compare_exchange(1, 2, 3)
    with pytest.raises(TypeError):
        r.compare_exchange(1, 2, order=pyconc.SEQ_CST)
    with pytest.raises(TypeError):
        r.load(pyconc.ACQUIRE)  # no orderings: see the class docstring


def test_fetch_update():
    """Port of Rust's atomic.rs::ptr_fetch_update shape: Some stores, None
    stops and reports the current value."""
    r = AtomicRef((1,))
    assert r.fetch_update(lambda t: t + (2,)) == (True, (1,))
    assert r.load() == (1, 2)
    cur = r.load()
    assert r.fetch_update(lambda t: None) == (False, cur)
    with pytest.raises(TypeError):
        r.fetch_update(5)
    with pytest.raises(ZeroDivisionError):
        r.fetch_update(lambda t: 1 / 0)
    assert r.load() is cur


def test_fetch_update_retries_on_interference():
    r = AtomicRef(0)
    calls = []

    def f(v):
        calls.append(v)
        if len(calls) == 1:
            r.store(10)  # another "thread" stores between the read and the CAS
        return v + 1

    assert r.fetch_update(f) == (True, 10)
    assert calls == [0, 10] and r.load() == 11


def test_reference_counts_are_exact():
    o = object()
    base = sys.getrefcount(o)
    r = AtomicRef(o)
    assert sys.getrefcount(o) == base + 1
    for _ in range(1000):
        r.load()
        r.compare_exchange(o, o)
        r.compare_exchange(None, o)
        r.store(r.swap(o))
        r.fetch_update(lambda v: v)
    assert sys.getrefcount(o) == base + 1
    r.store(None)
    assert sys.getrefcount(o) == base
    del r


def test_old_value_released_after_the_step():
    """A __del__ of the old value may use the same AtomicRef."""
    r = AtomicRef()
    seen = []

    class Back:
        def __del__(self):
            seen.append(r.swap("from __del__"))

    r.store(Back())
    r.store("new")
    assert seen == ["new"] and r.load() == "from __del__"


def test_cycles_are_collected():
    class Node:
        pass

    n = Node()
    n.ref = AtomicRef(n)
    w = weakref.ref(n)
    del n
    gc.collect()
    assert w() is None


def test_weakref_repr_and_recursion():
    r = AtomicRef([1])
    assert weakref.ref(r)() is r
    assert repr(r) == "AtomicRef([1])"
    r.store(r)
    assert repr(r) == "AtomicRef(AtomicRef(...))"
    r.store(None)


def test_refuses_copy_and_pickle():
    r = AtomicRef(1)
    for f in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            f(r)


def test_generic_and_immutable():
    assert AtomicRef[int] is not None
    r = AtomicRef(1)
    with pytest.raises((AttributeError, TypeError)):
        r.value = 2
    with pytest.raises(TypeError):
        AtomicRef.load = None
    r.__init__(5)  # changes nothing
    assert r.load() == 1


def test_swap_stress_every_object_once():
    """Threads swap their own objects in: every object put in comes out of
    exactly one swap (or is the last one left), none twice, none freed."""
    threads, n = 4, scaled(5000)
    r = AtomicRef(("start",))
    out = [[] for _ in range(threads)]

    def body(k):
        for i in range(n):
            out[k].append(r.swap((k, i)))

    with pyconc.scope() as s:
        for k in range(threads):
            s.spawn(body, k)
    got = [x for o in out for x in o] + [r.load()]
    assert len(got) == threads * n + 1
    assert sorted(got[:-1] + [got[-1]], key=repr) == sorted(
        [("start",)] + [(k, i) for k in range(threads) for i in range(n)], key=repr)


def test_fetch_update_stress_counts_exactly():
    threads, n = 4, scaled(3000)
    r = AtomicRef(0)

    def body(_):
        for _ in range(n):
            r.fetch_update(lambda v: v + 1)

    with pyconc.scope() as s:
        for k in range(threads):
            s.spawn(body, k)
    assert r.load() == threads * n


def test_loads_racing_swaps_never_see_a_dead_object():
    """Readers hold what they load while writers swap and drop: every
    loaded object is alive and intact (a freed one would fail the check
    or crash)."""
    r = AtomicRef([0, 0])
    stop = threading.Event()
    bad = []

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            r.store([i, i])

    def reader():
        for _ in range(scaled(20000)):
            v = r.load()
            if v[0] != v[1]:
                bad.append(v)

    w = threading.Thread(target=writer)
    w.start()
    try:
        with pyconc.scope() as s:
            for _ in range(2):
                s.spawn(reader)
    finally:
        stop.set()
        w.join()
    assert bad == []


class AtomicRefModel(RuleBasedStateMachine):
    """Every operation against a one-cell reference model (identity)."""

    objects = [object() for _ in range(4)] + [None]

    def __init__(self):
        super().__init__()
        self.r = AtomicRef(self.objects[0])
        self.model = self.objects[0]

    @rule(i=st.integers(0, 4))
    def store(self, i):
        self.r.store(self.objects[i])
        self.model = self.objects[i]

    @rule(i=st.integers(0, 4))
    def swap(self, i):
        assert self.r.swap(self.objects[i]) is self.model
        self.model = self.objects[i]

    @rule(c=st.integers(0, 4), n=st.integers(0, 4))
    def compare_exchange(self, c, n):
        ok, prev = self.r.compare_exchange(self.objects[c], self.objects[n])
        assert prev is self.model
        assert ok == (self.model is self.objects[c])
        if ok:
            self.model = self.objects[n]

    @rule(n=st.integers(0, 4), stop=st.booleans())
    def fetch_update(self, n, stop):
        new = None if stop else self.objects[n]
        ok, prev = self.r.fetch_update(lambda v: new)
        assert prev is self.model
        assert ok == (new is not None)
        if ok:
            self.model = new

    @invariant()
    def agrees(self):
        assert self.r.load() is self.model


TestAtomicRefModel = AtomicRefModel.TestCase
TestAtomicRefModel.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
