"""Stress for Once and OnceLock (the other public types have theirs in
their own files): many threads race through many fresh cells; each cell's
initialiser runs exactly once (or once more after a failure) and every
thread sees its value."""

import pytest
import threading

import pyconc
from conftest import scaled
from pyconc import Once, OnceLock

pytestmark = pytest.mark.stress  # the kind of test (tests/README.md)


def test_many_threads_many_cells():
    n_threads, n_cells = 8, scaled(300)
    cells = [OnceLock() for _ in range(n_cells)]
    onces = [Once() for _ in range(n_cells)]
    runs = [0] * n_cells
    once_runs = [0] * n_cells
    failed = [False] * n_cells
    lock = threading.Lock()
    start = threading.Barrier(n_threads)

    def init(i):
        with lock:
            runs[i] += 1
            fail = i % 4 == 3 and not failed[i]  # every 4th cell fails once
            failed[i] = failed[i] or fail
        if fail:
            raise KeyError(i)
        return ("value", i)

    def bump(i):
        with lock:
            once_runs[i] += 1

    def worker(t):
        start.wait()
        order = range(n_cells) if t % 2 else reversed(range(n_cells))
        for i in order:
            while True:
                try:
                    v = cells[i].get_or_init(lambda i=i: init(i))
                    break
                except KeyError:
                    continue  # the failed initialiser: the cell stays unset, retry
            assert v == ("value", i)
            onces[i].call_once(lambda i=i: bump(i))
            assert onces[i].is_completed()

    hs = [pyconc.spawn(worker, t) for t in range(n_threads)]
    for h in hs:
        h.join(timeout=60)
    assert once_runs == [1] * n_cells
    assert runs == [2 if i % 4 == 3 else 1 for i in range(n_cells)]
    assert [c.get() for c in cells] == [("value", i) for i in range(n_cells)]
