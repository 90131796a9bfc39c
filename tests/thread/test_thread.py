"""pyconc.spawn, JoinHandle, scope, Builder."""

import sys
import threading
import traceback
import time

import pytest

import pyconc
from conftest import scaled

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup


def test_join_returns_the_result():
    h = pyconc.spawn(lambda a, b=0: a + b, 1, b=2)
    assert h.join() == 3
    assert h.join() == 3  # again: same outcome
    assert h.is_finished()


def test_join_reraises_the_threads_exception_and_prints_nothing(capsys):
    """As Future.result(): the exception itself, with the thread's
    traceback and a note naming the thread (issue 14)."""
    def boom():
        raise KeyError("k")

    h = pyconc.Builder().name("worker-7").spawn(boom)
    with pytest.raises(KeyError) as info:
        h.join()
    assert info.value.args == ("k",)
    assert info.value is h._error
    assert any("worker-7" in n for n in info.value.__notes__)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "boom" in frames  # the thread's frames are kept
    with pytest.raises(KeyError) as again:
        h.join()
    # Joining again neither piles up frames nor adds another note.
    assert len(traceback.extract_tb(again.value.__traceback__)) == len(frames)
    assert len(again.value.__notes__) == 1
    out, err = capsys.readouterr()
    assert "KeyError" not in err and "Traceback" not in err


def test_except_valueerror_around_join_catches_it():
    def parse():
        return int("x")

    try:
        pyconc.spawn(parse).join()
    except ValueError as e:
        assert "invalid literal" in str(e)
    else:
        raise AssertionError("join() returned")


def test_base_exceptions_come_back_too():
    def leave():
        raise SystemExit(3)

    with pytest.raises(SystemExit) as info:
        pyconc.spawn(leave).join()
    assert info.value.code == 3


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


def test_scope_raises_an_exception_group_after_joining_all():
    finished = []

    def slow_ok():
        time.sleep(0.1)
        finished.append("slow")

    def bad(tag):
        raise ValueError(tag)

    with pytest.raises(ExceptionGroup) as info:
        with pyconc.scope() as s:
            s.spawn(slow_ok)
            s.spawn(bad, "first")
            s.spawn(lambda: {}["k"])
            s.spawn(bad, "second")
    assert finished == ["slow"]
    assert [type(e) for e in info.value.exceptions] == [ValueError, KeyError, ValueError]
    assert [e.args for e in info.value.exceptions] == [("first",), ("k",), ("second",)]
    assert "3 failures" in str(info.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is 3.11 syntax")
def test_scope_except_star_splits_the_failures():
    code = """
caught = []
try:
    with pyconc.scope() as s:
        s.spawn(lambda: int("x"))
        s.spawn(lambda: {}["k"])
except* ValueError as eg:
    caught.append(("value", len(eg.exceptions)))
except* KeyError as eg:
    caught.append(("key", len(eg.exceptions)))
"""
    ns = {"pyconc": pyconc}
    exec(code, ns)  # compiled here, so that 3.10 can import this file
    assert ns["caught"] == [("value", 1), ("key", 1)]


def test_scope_one_failure_is_a_group_too():
    with pytest.raises(ExceptionGroup) as info:
        with pyconc.scope() as s:
            s.spawn(lambda: 1 / 0)
    assert [type(e) for e in info.value.exceptions] == [ZeroDivisionError]


def test_scope_base_exception_group():
    with pytest.raises(BaseExceptionGroup) as info:
        with pyconc.scope() as s:
            s.spawn(sys.exit, 4)
    assert not isinstance(info.value, ExceptionGroup)
    assert info.value.exceptions[0].code == 4


def test_scope_manual_join_observes_the_failure():
    with pyconc.scope() as s:
        h = s.spawn(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            h.join()
    # Nothing from the scope: it was handled.


def test_scope_body_exception_joins_the_group():
    with pytest.raises(ExceptionGroup) as info:
        with pyconc.scope() as s:
            s.spawn(lambda: 1 / 0)
            raise KeyError("body")
    assert [type(e) for e in info.value.exceptions] == [KeyError, ZeroDivisionError]


def test_scope_body_exception_alone_propagates_as_is():
    with pytest.raises(KeyError):
        with pyconc.scope() as s:
            s.spawn(lambda: None)
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
    with pytest.raises(ZeroDivisionError):
        h.join()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del h
        gc.collect()
