"""pyconc.Barrier, Once, OnceLock."""

import threading
import time

import pytest

import pyconc
from pyconc import Barrier, Once, OnceLock, PoisonError
from conftest import scaled


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError), (2**40, OverflowError)])
def test_barrier_bad_n(bad, exc):
    with pytest.raises(exc):
        Barrier(bad)


def test_barrier_of_one():
    b = Barrier(1)
    assert b.wait() is True
    assert b.wait() is True
    assert b.n == 1


def test_barrier_one_leader_per_round_many_rounds():
    n, rounds = 6, scaled(200)
    b = Barrier(n)
    leaders = [0] * rounds
    log = []
    lock = threading.Lock()

    def worker(i):
        for r in range(rounds):
            with lock:
                log.append((r, "in"))
            if b.wait():
                with lock:
                    leaders[r] += 1
            with lock:
                log.append((r, "out"))

    with pyconc.scope() as s:
        for i in range(n):
            s.spawn(worker, i)
    assert leaders == [1] * rounds
    # Nobody leaves round r before everybody has entered it.
    for r in range(rounds):
        last_in = max(k for k, e in enumerate(log) if e == (r, "in"))
        first_out = min(k for k, e in enumerate(log) if e == (r, "out"))
        assert last_in < first_out


def test_barrier_blocks_until_n():
    b = Barrier(2)
    h = pyconc.spawn(b.wait)
    time.sleep(0.05)
    assert not h.is_finished()
    r = b.wait()
    assert sorted([r, h.join()]) == [False, True]


def test_once_runs_once():
    once = Once()
    calls = []
    start = threading.Barrier(8)

    def f():
        time.sleep(0.05)
        calls.append(1)

    def worker():
        start.wait()
        once.call_once(f)
        assert calls == [1]  # returns only after the call completed

    with pyconc.scope() as s:
        for _ in range(8):
            s.spawn(worker)
    assert calls == [1]
    assert once.is_completed()
    once.call_once(f)
    assert calls == [1]


def test_once_poisoning_and_force():
    once = Once()
    with pytest.raises(ZeroDivisionError):
        once.call_once(lambda: 1 / 0)
    assert "poisoned" in repr(once)
    with pytest.raises(PoisonError):
        once.call_once(lambda: None)
    states = []
    once.call_once_force(lambda st: states.append(st.is_poisoned()))
    assert states == [True]
    assert once.is_completed()
    once.call_once(lambda: 1 / 0)  # completed: not called


def test_once_bad_argument():
    with pytest.raises(TypeError):
        Once().call_once(5)


def test_oncelock_get_set():
    cell = OnceLock()
    assert cell.get() is None
    assert cell.set(1) is True
    assert cell.set(2) is False
    assert cell.get() == 1
    assert cell.get_or_init(lambda: 3) == 1
    assert cell.take() == 1
    assert cell.get() is None


def test_oncelock_get_or_init_concurrent():
    cell = OnceLock()
    calls = []
    start = threading.Barrier(8)

    def make():
        calls.append(1)
        time.sleep(0.05)
        return object()

    def worker():
        start.wait()
        return cell.get_or_init(make)

    with pyconc.scope() as s:
        hs = [s.spawn(worker) for _ in range(8)]
    results = {id(h.join()) for h in hs}
    assert len(calls) == 1 and len(results) == 1


def test_oncelock_failed_init_leaves_it_unset():
    cell = OnceLock()
    with pytest.raises(ValueError):
        cell.get_or_init(lambda: (_ for _ in ()).throw(ValueError()))
    assert cell.get() is None
    assert cell.get_or_init(lambda: 7) == 7


def test_oncelock_waiters_retry_after_failure():
    cell = OnceLock()
    entered = threading.Event()

    def failing():
        entered.set()
        time.sleep(0.05)
        raise RuntimeError("first init fails")

    h = pyconc.spawn(cell.get_or_init, failing)
    entered.wait()
    assert cell.get_or_init(lambda: "second") == "second"
    with pytest.raises(RuntimeError, match="first init fails"):
        h.join()


# ------------------------------------------- the C types (issue 11, issue 12)


def test_barrier_keyword_and_limits():
    assert Barrier(n=3).n == 3
    assert Barrier(2**31 - 1).n == 2**31 - 1
    for bad, exc in [(2**31, OverflowError), (2**80, OverflowError), (-(2**80), ValueError),
                     (None, TypeError), (object(), TypeError)]:
        with pytest.raises(exc):
            Barrier(bad)
    with pytest.raises(TypeError):
        Barrier()
    with pytest.raises(TypeError):
        Barrier(2, 3)
    with pytest.raises(TypeError):
        Barrier(1).wait(1)
    assert repr(Barrier(4)).startswith("<pyconc.Barrier n=4 at ")


def test_immutable_and_init_rerun_changes_nothing():
    b = Barrier(2)
    b.__init__(5)
    assert b.n == 2
    once = Once()
    once.call_once(lambda: None)
    once.__init__()
    assert once.is_completed()
    cell = OnceLock()
    cell.set(1)
    cell.__init__()
    assert cell.get() == 1
    for obj, names in [(b, ("n", "_n", "_b", "wait")), (once, ("_o", "call_once")),
                       (cell, ("_o", "_value", "get"))]:
        for name in names:
            with pytest.raises(AttributeError):
                setattr(obj, name, 8)
            with pytest.raises(AttributeError):
                delattr(obj, name)
    st = pyconc.sync.OnceState(True)
    assert st.is_poisoned() and not pyconc.sync.OnceState().is_poisoned()
    with pytest.raises(AttributeError):
        st.poisoned = False
    with pytest.raises(TypeError):
        Once(1)
    with pytest.raises(TypeError):
        OnceLock(x=1)


def test_hostile_arguments():
    once, cell = Once(), OnceLock()
    for bad in (None, 5, "f", object(), [lambda: 1]):
        with pytest.raises(TypeError):
            once.call_once(bad)
        with pytest.raises(TypeError):
            once.call_once_force(bad)
        with pytest.raises(TypeError):
            cell.get_or_init(bad)
    for f in (once.call_once, once.call_once_force, cell.get_or_init, cell.set):
        with pytest.raises(TypeError):
            f()
        with pytest.raises(TypeError):
            f(1, 2)
        with pytest.raises(TypeError):
            f(function=lambda: 1)
        with pytest.raises(TypeError):
            f(lambda: 1, fn=lambda: 1)
    assert not once.is_completed() and cell.get() is None  # rejected calls did nothing
    # Keywords as the Python API took them.
    assert OnceLock().set(value=1) is True
    assert OnceLock().get_or_init(fn=lambda: 2) == 2
    Once().call_once_force(fn=lambda st: None)
    done = Once()
    done.call_once(fn=lambda: None)
    assert done.is_completed()
    with pytest.raises(TypeError):
        once.call_once(lambda x: x)  # fn's own TypeError: poisons, as any raise
    assert "poisoned" in repr(once)


@pytest.mark.parametrize("make", [Once, OnceLock, lambda: Barrier(2)],
                         ids=["once", "oncelock", "barrier"])
def test_copy_and_pickle_refused(make):
    import copy
    import pickle

    obj = make()
    for f in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="cannot copy or pickle"):
            f(obj)


def test_oncelock_cycle_through_the_value_is_collected():
    import gc
    import weakref

    class Node:
        pass

    n = Node()
    cell = OnceLock()
    n.cell = cell
    assert cell.set(n)
    refs = [weakref.ref(n), weakref.ref(cell)]
    del n, cell
    gc.collect()
    assert [r() for r in refs] == [None, None]
    cell = OnceLock()
    cell.get_or_init(lambda c=cell: [c])
    r = weakref.ref(cell)
    del cell
    gc.collect()
    assert r() is None


def test_reentering_from_the_initialiser_raises_instead_of_deadlocking():
    once = Once()
    with pytest.raises(RuntimeError, match="re-entered"):
        once.call_once(lambda: once.call_once(lambda: None))
    assert "poisoned" in repr(once)  # the initialiser raised
    once.call_once_force(lambda st: None)
    assert once.is_completed()
    cell = OnceLock()
    with pytest.raises(RuntimeError, match="re-entered"):
        cell.get_or_init(lambda: cell.get_or_init(lambda: 1))
    with pytest.raises(RuntimeError, match="re-entered"):
        cell.get_or_init(lambda: cell.set(1))
    assert cell.get() is None  # left unset: the next caller tries again
    assert cell.get_or_init(lambda: 2) == 2


def test_once_state_and_reprs():
    once = Once()
    seen = []
    once.call_once_force(lambda st: seen.append((type(st).__name__, st.is_poisoned(), repr(st))))
    assert seen == [("OnceState", False, "<pyconc.OnceState poisoned=False>")]
    assert repr(once).startswith("<complete pyconc.Once at ")
    cell = OnceLock()
    assert "<unset>" in repr(cell)
    cell.set([1])
    assert repr(cell) == "<pyconc.OnceLock value=[1]>"
    assert OnceLock[int] is not None


def test_oncelock_value_repr_that_takes_the_value():
    cell = OnceLock()

    class Evil:
        def __repr__(self):
            cell.take()  # drops the cell's reference during repr
            return "evil"

    cell.set(Evil())
    assert repr(cell) == "<pyconc.OnceLock value=evil>"
    assert cell.get() is None


def _blockers():
    """(name, start a wait that blocks, release it) for each blocking call
    of the RwLock/Barrier/Once/OnceLock C types."""
    from pyconc import RwLock

    def rw(mode_held, mode_wait):
        lock = RwLock(0)
        g = getattr(lock, mode_held)()
        return (lambda: getattr(lock, mode_wait)().__exit__(None, None, None)), g.__exit__

    def barrier():
        b = Barrier(2)
        return b.wait, lambda *a: b.wait()

    def once(kind):
        gate = threading.Event()
        entered = threading.Event()
        cell = Once() if kind == "once" else OnceLock()
        call = cell.call_once if kind == "once" else cell.get_or_init

        def slow():
            entered.set()
            gate.wait(10)

        pyconc.spawn(call, slow)
        entered.wait(10)
        return (lambda: call(lambda: None)), lambda *a: gate.set()

    return {
        "rwlock_read": lambda: rw("write", "read"),
        "rwlock_write_vs_read": lambda: rw("read", "write"),
        "rwlock_write": lambda: rw("write", "write"),
        "barrier": barrier,
        "once": lambda: once("once"),
        "oncelock": lambda: once("oncelock"),
    }


@pytest.mark.parametrize("name", sorted(_blockers()))
def test_waits_release_the_gil(name):
    """A thread blocked in any of these waits lets this thread run Python
    (if it kept the GIL, the loop below could not run and the test would
    hang), and returns once released."""
    wait, release = _blockers()[name]()
    h = pyconc.spawn(wait)
    time.sleep(0.02)
    assert not h.is_finished()
    progress = 0
    for _ in range(100_000):  # Python code, with the waiter inside its wait
        progress += 1
    assert progress == 100_000 and not h.is_finished()
    release(None, None, None)
    h.join(timeout=10)


def test_types_are_final():
    """C types without Py_TPFLAGS_BASETYPE: no subclass can add a __dict__
    or override a slot the C code relies on."""
    from pyconc import RwLock

    for tp in (RwLock, pyconc.sync.RwLockReadGuard, pyconc.sync.RwLockWriteGuard,
               Barrier, Once, OnceLock, pyconc.sync.OnceState):
        with pytest.raises(TypeError):
            type("Sub", (tp,), {})
        assert not hasattr(tp, "__dict__") or "__dict__" not in tp.__dict__
