"""pyconc.spawn, JoinHandle, scope, Builder."""

import threading
import time

import pytest

import pyconc
from pyconc import Panic
from conftest import scaled


def test_join_returns_the_result():
    h = pyconc.spawn(lambda a, b=0: a + b, 1, b=2)
    assert h.join() == 3
    assert h.join() == 3  # again: same outcome
    assert h.is_finished()


def test_join_raises_panic_with_cause_and_prints_nothing(capsys):
    def boom():
        raise KeyError("k")

    h = pyconc.spawn(boom)
    with pytest.raises(Panic) as info:
        h.join()
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.__cause__.args == ("k",)
    with pytest.raises(Panic):
        h.join()
    out, err = capsys.readouterr()
    assert "KeyError" not in err and "Traceback" not in err


def test_base_exceptions_are_panics_too():
    def leave():
        raise SystemExit(3)

    with pytest.raises(Panic) as info:
        pyconc.spawn(leave).join()
    assert isinstance(info.value.__cause__, SystemExit)


def test_join_timeout_and_is_finished():
    ev = threading.Event()
    h = pyconc.spawn(ev.wait)
    assert not h.is_finished()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        h.join(timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    ev.set()
    assert h.join(timeout=5) is True
    assert h.is_finished()
    assert "finished" in repr(h)


def test_join_bad_timeout():
    h = pyconc.spawn(lambda: None)
    with pytest.raises(ValueError):
        h.join(timeout=-1)
    with pytest.raises(TypeError):
        h.join(timeout="x")
    h.join()


def test_names():
    def work():
        return threading.current_thread().name

    h = pyconc.spawn(work)
    assert "work" in h.name
    assert h.join() == h.name
    h = pyconc.Builder().name("worker-7").spawn(work)
    assert h.name == "worker-7" and h.join() == "worker-7"
    assert h.ident is not None


def test_spawn_bad_argument():
    with pytest.raises(TypeError):
        pyconc.spawn(42)
    with pytest.raises(TypeError):
        pyconc.Builder().name(3)


def test_join_self_is_an_error():
    box = []

    def me():
        time.sleep(0.02)
        try:
            box[0].join()
        except RuntimeError as e:
            return str(e)

    h = pyconc.spawn(me)
    box.append(h)
    assert "itself" in h.join()


def test_scope_joins_everything_and_borrows_locals():
    data = list(range(100))
    sums = [0] * 4
    with pyconc.scope() as s:
        for i in range(4):
            s.spawn(lambda i=i: sums.__setitem__(i, sum(data[i::4])))
    assert sum(sums) == sum(data)


def test_scope_raises_the_first_panic_after_joining_all():
    finished = []

    def slow_ok():
        time.sleep(0.1)
        finished.append("slow")

    def bad(tag):
        raise ValueError(tag)

    with pytest.raises(Panic) as info:
        with pyconc.scope() as s:
            s.spawn(slow_ok)
            s.spawn(bad, "first")
            s.spawn(bad, "second")
    assert finished == ["slow"]
    assert info.value.__cause__.args == ("first",)


def test_scope_manual_join_observes_the_panic():
    with pyconc.scope() as s:
        h = s.spawn(lambda: 1 / 0)
        with pytest.raises(Panic):
            h.join()
    # No Panic from the scope: it was handled.


def test_scope_body_exception_wins():
    with pytest.raises(KeyError):
        with pyconc.scope() as s:
            s.spawn(lambda: 1 / 0)
            raise KeyError


def test_scope_spawn_after_end_and_nested_spawns():
    out = []
    with pyconc.scope() as s:
        def parent():
            out.append("parent")
            s.spawn(lambda: (time.sleep(0.05), out.append("child")))
        s.spawn(parent)
    assert sorted(out) == ["child", "parent"]
    with pytest.raises(RuntimeError):
        s.spawn(lambda: None)


def test_stress_many_threads():
    n = scaled(100)
    hs = [pyconc.spawn(lambda i=i: i * i) for i in range(n)]
    assert [h.join() for h in hs] == [i * i for i in range(n)]


def test_unjoined_panic_warns_when_the_handle_is_dropped():
    import gc

    h = pyconc.spawn(lambda: 1 / 0)
    while not h.is_finished():
        time.sleep(0.001)
    with pytest.warns(RuntimeWarning, match="never joined"):
        del h
        gc.collect()


def test_joined_panic_does_not_warn():
    import gc
    import warnings

    h = pyconc.spawn(lambda: 1 / 0)
    with pytest.raises(Panic):
        h.join()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del h
        gc.collect()
