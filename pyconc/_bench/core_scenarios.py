"""Benchmark scenarios for the atomics and the spin lock (issue 2).

Each scenario is a dict: group, name (implementation), baseline (bool),
ops (operations per run), run (a callable running it once; it may return
the elapsed seconds when it times itself, and raises if the result is
wrong).  ``bench/bench_core.py`` runs the same scenarios under
pytest-benchmark.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Optional

from pyconc import AtomicInt, AtomicRef, SpinLock
from pyconc._bench._util import check, run_threads
from pyconc._native import lib

Scenario = Dict[str, Any]


def _peers() -> Dict[str, Optional[Callable[[], Any]]]:
    """Counter factories of the peer packages, or None when not installed."""
    peers: Dict[str, Optional[Callable[[], Any]]] = {}
    try:
        import cereggii

        peers["cereggii.AtomicInt64"] = lambda: cereggii.AtomicInt64(0)
    except ImportError:
        peers["cereggii.AtomicInt64"] = None
    try:
        import atomics

        peers["atomics.atomic"] = lambda: atomics.atomic(width=8, atype=atomics.INT)
    except ImportError:
        peers["atomics.atomic"] = None
    return peers


def skipped_peers() -> List[str]:
    return [name for name, make in _peers().items() if make is None]


def _counter_atomic(
    make: Callable[[], Any], increment: str, read: str, threads: int, n: int
) -> Callable[[], float]:
    """``counter.<increment>(...)`` n times in each thread, then check <read>()."""

    def run() -> float:
        a = make()

        # Each loop spells its call out, so no extra Python frame is timed.
        def body(_: int) -> None:
            if increment == "fetch_add":
                for _ in range(n):
                    a.fetch_add(1)
            elif increment == "increment_and_get":
                for _ in range(n):
                    a.increment_and_get(1)
            else:
                for _ in range(n):
                    a.fetch_inc()

        t = run_threads(threads, body)
        got = getattr(a, read)()
        check(got == threads * n, f"{type(a).__name__} counted {got}, not {threads * n}")
        return t

    return run


def _atomic_op(make: Callable[[], Any], op: str, n: int) -> Callable[[], float]:
    """One atomic operation n times in one thread (value 0 throughout)."""

    def run() -> float:
        a = make()
        t0 = time.perf_counter()
        # Each loop spells its call out, so no extra Python frame is timed.
        if op == "load":
            for _ in range(n):
                a.load()
        elif op == "get":
            for _ in range(n):
                a.get()
        elif op == "compare_exchange":
            for _ in range(n):
                a.compare_exchange(0, 0)
        else:
            for _ in range(n):
                a.compare_and_set(0, 0)
        t = time.perf_counter() - t0
        got = a.load() if op in ("load", "compare_exchange") else a.get()
        check(got == 0, f"{type(a).__name__} holds {got} after {op}, not 0")
        return t

    return run


def _atomic_groups(n: int, peers: Dict[str, Optional[Callable[[], Any]]]) -> List[Scenario]:
    """load and compare-exchange against cereggii, in groups whose baseline
    is the locked increment (issue 11's goals: load <= 1.0x cereggii's get,
    compare_exchange <= 0.8x its compare_and_set, every atomic operation
    <= 0.35x the locked increment; fetch_add is in the counter groups)."""
    out: List[Scenario] = []
    cereggii = peers["cereggii.AtomicInt64"]
    for g, ours, theirs, limit in [
        ("atomic load, 1 thread", ("pyconc AtomicInt.load()", "load"),
         ("cereggii AtomicInt64.get()", "get"), 1.0),
        ("atomic compare-exchange, 1 thread",
         ("pyconc AtomicInt.compare_exchange(0, 0)", "compare_exchange"),
         ("cereggii AtomicInt64.compare_and_set(0, 0)", "compare_and_set"), 0.8),
    ]:
        out.append(dict(group=g, name="with threading.Lock: x += 1", baseline=True,
                        ops=n, threads=1, run=_lock_loop(threading.Lock, 1, n)))
        out.append(dict(group=g, name=ours[0], baseline=False, ops=n, threads=1,
                        run=_atomic_op(AtomicInt, ours[1], n),
                        goal=[(theirs[0], limit), ("with threading.Lock: x += 1", 0.35)]))
        if cereggii is not None:
            out.append(dict(group=g, name=theirs[0], baseline=False, ops=n, threads=1,
                            run=_atomic_op(cereggii, theirs[1], n)))
    return out


def _ref_op(make: Callable[[Any], Any], op: str, n: int) -> Callable[[], float]:
    """One AtomicRef operation n times in one thread, the referent unchanged."""

    def run() -> float:
        obj = object()
        r = make(obj)
        t0 = time.perf_counter()
        # Each loop spells its call out, so no extra Python frame is timed.
        if op == "load":
            for _ in range(n):
                r.load()
        elif op == "get":
            for _ in range(n):
                r.get()
        elif op == "compare_exchange":
            for _ in range(n):
                r.compare_exchange(obj, obj)
        else:
            for _ in range(n):
                r.compare_and_set(obj, obj)
        t = time.perf_counter() - t0
        got = r.load() if op in ("load", "compare_exchange") else r.get()
        check(got is obj, f"{type(r).__name__} lost its referent after {op}")
        return t

    return run


def _ref_groups(n: int) -> List[Scenario]:
    """AtomicRef against cereggii's (issue 14: load <= 1.0x its get,
    compare_exchange <= 1.0x its compare_and_set)."""
    try:
        import cereggii
    except ImportError:
        return []
    out: List[Scenario] = []
    for g, ours, theirs in [
        ("atomic reference load, 1 thread", ("pyconc AtomicRef.load()", "load"),
         ("cereggii AtomicRef.get()", "get")),
        ("atomic reference compare-exchange, 1 thread",
         ("pyconc AtomicRef.compare_exchange(o, o)", "compare_exchange"),
         ("cereggii AtomicRef.compare_and_set(o, o)", "compare_and_set")),
    ]:
        out.append(dict(group=g, name=theirs[0], baseline=True, ops=n, threads=1,
                        run=_ref_op(cereggii.AtomicRef, theirs[1], n)))
        out.append(dict(group=g, name=ours[0], baseline=False, ops=n, threads=1,
                        run=_ref_op(AtomicRef, ours[1], n), goal=(theirs[0], 1.0)))
    return out


def _lock_loop(make: Callable[[], Any], threads: int, n: int) -> Callable[[], float]:
    def run() -> float:
        lock = make()
        x = 0

        def body(_: int) -> None:
            nonlocal x
            for _ in range(n):
                with lock:
                    x += 1

        t = run_threads(threads, body)
        check(x == threads * n, f"{type(lock).__name__} let increments race")
        return t

    return run


def _with_pass(make: Callable[[], Any], n: int) -> Callable[[], float]:
    """``with lock: pass`` n times in one thread (issue 11's first lock goal)."""

    def run() -> float:
        lock = make()
        t0 = time.perf_counter()
        for _ in range(n):
            with lock:
                pass
        t = time.perf_counter() - t0
        check(not lock.locked(), f"{type(lock).__name__} left locked")
        return t

    return run


def _acquire_release(make: Callable[[], Any], n: int) -> Callable[[], float]:
    """``lock.acquire(); lock.release()`` n times in one thread."""

    def run() -> float:
        lock = make()
        t0 = time.perf_counter()
        for _ in range(n):
            lock.acquire()
            lock.release()
        t = time.perf_counter() - t0
        check(not lock.locked(), f"{type(lock).__name__} left locked")
        return t

    return run


def _cbench(kind: int, threads: int, n: int) -> Callable[[], float]:
    def run() -> float:
        ns = lib.pc_cbench_run(kind, threads, n)
        check(ns > 0, "C benchmark failed (bad count or thread start)")
        return ns / 1e9

    return run


def scenarios(threads: List[int], scale: float = 1.0) -> List[Scenario]:
    out: List[Scenario] = []
    n = int(200_000 * scale)
    peers = _peers()
    for t in threads:
        per = max(1, n // t)
        g = f"counter increment, {t} thread{'s' if t > 1 else ''}"
        out.append(dict(group=g, name="with threading.Lock: x += 1", baseline=True,
                        ops=per * t, threads=t, run=_lock_loop(threading.Lock, t, per)))
        counters = [
            ("pyconc AtomicInt.fetch_add(1)", AtomicInt, "fetch_add", "load"),
            ("cereggii AtomicInt64.increment_and_get(1)", peers["cereggii.AtomicInt64"],
             "increment_and_get", "get"),
            ("atomics atomic.fetch_inc()", peers["atomics.atomic"], "fetch_inc", "load"),
        ]
        for name, make, increment, read in counters:
            if make is not None:
                out.append(dict(group=g, name=name, baseline=False, ops=per * t, threads=t,
                                run=_counter_atomic(make, increment, read, t, per)))
        # Issue 11: fetch_add <= 0.5x cereggii's increment_and_get, and (as
        # every atomic operation) <= 0.35x the locked increment.
        out[-len([c for c in counters if c[1] is not None])]["goal"] = [
            ("cereggii AtomicInt64.increment_and_get(1)", 0.5),
            ("with threading.Lock: x += 1", 0.35)]
    out += _atomic_groups(n, peers)
    out += _ref_groups(n)
    for t in (1, 2):
        per = max(1, n // t)
        g = f"lock/unlock, {'uncontended' if t == 1 else f'{t} threads'}"
        out.append(dict(group=g, name="threading.Lock", baseline=True, ops=per * t,
                        threads=t, run=_lock_loop(threading.Lock, t, per)))
        out.append(dict(group=g, name="pyconc SpinLock", baseline=False, ops=per * t,
                        threads=t, run=_lock_loop(SpinLock, t, per)))
    # SpinLock against threading.Lock, the two single-thread shapes of
    # issue 11 (goal: at most 0.6x each), and the robust from_buffer lock.
    for g, body in (("with lock: pass, uncontended", _with_pass),
                    ("acquire(); release(), uncontended", _acquire_release)):
        out.append(dict(group=g, name="threading.Lock", baseline=True, ops=n,
                        threads=1, run=body(threading.Lock, n)))
        out.append(dict(group=g, name="pyconc SpinLock", baseline=False, ops=n,
                        threads=1, run=body(SpinLock, n), goal=("threading.Lock", 0.6)))
        out.append(dict(group=g, name="pyconc SpinLock.from_buffer", baseline=False,
                        ops=n, threads=1,
                        run=body(lambda: SpinLock.from_buffer(bytearray(4)), n)))
    cn = int(2_000_000 * scale)
    for t in (1, 2):
        per = max(1, cn // t)
        g = f"C only: lock/unlock, {t} thread{'s' if t > 1 else ''}"
        out.append(dict(group=g, name="pthread_mutex (C)", baseline=True, ops=per * t,
                        threads=t, run=_cbench(lib.PC_CBENCH_OS_MUTEX, t, per)))
        out.append(dict(group=g, name="pc_spin (C)", baseline=False, ops=per * t,
                        threads=t, run=_cbench(lib.PC_CBENCH_SPIN, t, per)))
        g = f"C only: fetch_add, {t} thread{'s' if t > 1 else ''}"
        out.append(dict(group=g, name="pthread_mutex + x++ (C)", baseline=True, ops=per * t,
                        threads=t, run=_cbench(lib.PC_CBENCH_OS_MUTEX, t, per)))
        out.append(dict(group=g, name="pc_atomic_i64_fetch_add (C)", baseline=False,
                        ops=per * t, threads=t, run=_cbench(lib.PC_CBENCH_FETCH_ADD, t, per)))
    return out
