"""Cross-process scenarios for ``python -m pyconc bench`` and bench/bench_ipc.py.

Three groups, each against the standard library's tools (and faster-fifo
when it is installed):

  processes: 1 producer -> 1 consumer   one producer process, the consumer
        in this process, small pickled messages (``(producer, i)`` tuples)
  processes: 4 producers -> 1 consumer  four producer processes, the same
  processes: counter from 2 processes   a shared counter incremented from
        two processes

Worker processes are started once per scenario (``fork`` where available,
else ``spawn``) and wait on a pipe; a run returns the seconds of the
transfer alone (``python -m pyconc bench`` uses that number), so process
start-up is never timed.  Every run checks its result: the exact number of
messages, each producer's messages in the order it sent them, and the exact
counter total; a wrong result raises AssertionError.

``scenarios(scale=1.0)`` returns dicts {"group", "name", "baseline", "ops",
"run"} (scale 1.0: 100,000 messages and 100,000 increments per run);
``skipped()`` names the implementations left out and why.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

_CTX: Any = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
G1 = "processes: 1 producer -> 1 consumer"
G4 = "processes: 4 producers -> 1 consumer"
GC = "processes: counter from 2 processes"
GL = "shared lock: with lock: pass, one process"
_TIMEOUT = 120.0

#: Worker pools to stop at exit.
_pools: List["_Workers"] = []


# ---------------------------------------------------------------- workers


def _produce_loop(conn: Any, kind: str, endpoint: Any, ident: int) -> None:
    if kind == "pyconc":
        put = endpoint.send
    elif kind == "pyconc-many":
        def put_many(n: int) -> None:
            endpoint.send_many((ident, i) for i in range(n))
    elif kind == "faster-fifo":
        def put(obj: Any) -> None:
            endpoint.put(obj, timeout=_TIMEOUT)
    else:  # multiprocessing.Queue, SimpleQueue
        put = endpoint.put
    while True:
        n = conn.recv()
        if n is None:
            break
        try:
            if kind == "pyconc-many":
                put_many(n)
            else:
                for i in range(n):
                    put((ident, i))
            conn.send("ok")
        except BaseException as exc:  # report, do not hang the parent
            conn.send(repr(exc))


def _count_loop(conn: Any, kind: str, cell: Any, lock: Any) -> None:
    while True:
        n = conn.recv()
        if n is None:
            break
        if kind == "pyconc":
            add = cell.fetch_add
            for _ in range(n):
                add(1)
        elif kind == "pyconc-lock":
            for _ in range(n):
                with lock:
                    cell.store(cell.load() + 1)
        else:
            get_lock = cell.get_lock()
            for _ in range(n):
                with get_lock:
                    cell.value += 1
        conn.send("ok")


class _Workers:
    """Processes that each run a loop; go(n) starts a round, wait() ends it."""

    def __init__(self, target: Callable[..., None], arg_lists: List[Tuple]) -> None:
        self.conns = []
        self.procs = []
        for args in arg_lists:
            parent, child = _CTX.Pipe()
            p = _CTX.Process(target=target, args=(child,) + args, daemon=True)
            p.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(p)
        _pools.append(self)

    def go(self, n: int) -> None:
        for c in self.conns:
            c.send(n)

    def wait(self) -> None:
        for c, p in zip(self.conns, self.procs):
            if not c.poll(_TIMEOUT):
                raise RuntimeError(f"worker {p.pid} did not finish")
            r = c.recv()
            if r != "ok":
                raise RuntimeError(f"worker {p.pid} failed: {r}")

    def stop(self) -> None:
        for c in self.conns:
            try:
                c.send(None)
            except OSError:
                pass
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join(5)


@atexit.register
def _stop_all() -> None:
    while _pools:
        _pools.pop().stop()


def _check_order(get: Callable[[], Any], producers: int, n: int) -> None:
    nxt = [0] * producers
    for _ in range(producers * n):
        k, i = get()
        if nxt[k] != i:
            raise AssertionError(f"producer {k}: got message {i}, expected {nxt[k]}")
        nxt[k] = i + 1


def _check_order_many(get_many: Callable[[], list], producers: int, n: int) -> None:
    nxt = [0] * producers
    left = producers * n
    while left:
        batch = get_many()
        left -= len(batch)
        for k, i in batch:
            if nxt[k] != i:
                raise AssertionError(f"producer {k}: got message {i}, expected {nxt[k]}")
            nxt[k] = i + 1
    if left < 0:
        raise AssertionError("more messages than were sent")


# ---------------------------------------------------------------- channels


def _channel_scenario(impl: str, producers: int, messages: int) -> Callable[[], float]:
    """A run() for *impl*, its workers started on first use."""
    n = messages // producers
    state: Dict[str, Any] = {}

    def setup() -> None:
        if impl in ("pyconc.ipc.channel", "pyconc.ipc.channel (send_many/recv_many)"):
            from pyconc import ipc

            tx, rx = ipc.channel(capacity_bytes=1 << 20)
            kind = "pyconc" if impl == "pyconc.ipc.channel" else "pyconc-many"
            state["workers"] = _Workers(
                _produce_loop, [(kind, tx, k) for k in range(producers)]
            )
            tx.close()
            state["rx"] = rx
            if kind == "pyconc":
                state["check"] = lambda: _check_order(rx.recv, producers, n)
            else:
                state["check"] = lambda: _check_order_many(
                    lambda: rx.recv_many(256), producers, n
                )
        elif impl == "multiprocessing.Queue":
            q = _CTX.Queue()
            state["workers"] = _Workers(_produce_loop, [("mp", q, k) for k in range(producers)])
            state["check"] = lambda: _check_order(lambda: q.get(timeout=_TIMEOUT), producers, n)
        elif impl == "multiprocessing.SimpleQueue":
            sq = _CTX.SimpleQueue()
            state["workers"] = _Workers(_produce_loop, [("mp", sq, k) for k in range(producers)])
            state["check"] = lambda: _check_order(sq.get, producers, n)
        elif impl == "faster_fifo.Queue":
            import faster_fifo

            q = faster_fifo.Queue(max_size_bytes=1 << 20)
            state["workers"] = _Workers(
                _produce_loop, [("faster-fifo", q, k) for k in range(producers)]
            )
            state["check"] = lambda: _check_order(lambda: q.get(timeout=_TIMEOUT), producers, n)
        else:  # pragma: no cover
            raise ValueError(impl)

    def run() -> float:
        if not state:
            setup()
        workers = state["workers"]
        t0 = time.perf_counter()
        workers.go(n)
        state["check"]()
        workers.wait()
        return time.perf_counter() - t0

    return run


def _faster_fifo_missing() -> str:
    try:
        import faster_fifo  # noqa: F401
    except ImportError as exc:
        return f"faster-fifo is not installed ({exc}); pip install faster-fifo"
    return ""


# ---------------------------------------------------------------- counter


def _counter_scenario(impl: str, increments: int) -> Callable[[], float]:
    per = increments // 2
    state: Dict[str, Any] = {}

    def setup() -> None:
        if impl == "pyconc.ipc.SharedAtomicInt":
            from pyconc import ipc

            cell = ipc.SharedAtomicInt()
            state["read"] = cell.load
            state["reset"] = lambda: cell.store(0)
            state["workers"] = _Workers(_count_loop, [("pyconc", cell, None)] * 2)
        elif impl == "pyconc.ipc.SharedSpinLock":
            from pyconc import ipc

            cell, lock = ipc.SharedAtomicInt(), ipc.SharedSpinLock()
            state["read"] = cell.load
            state["reset"] = lambda: cell.store(0)
            state["workers"] = _Workers(_count_loop, [("pyconc-lock", cell, lock)] * 2)
        else:  # multiprocessing.Value with its lock
            value = _CTX.Value("q", 0)

            def reset() -> None:
                value.value = 0

            state["read"] = lambda: value.value
            state["reset"] = reset
            state["workers"] = _Workers(_count_loop, [("mp", value, None)] * 2)

    def run() -> float:
        if not state:
            setup()
        state["reset"]()
        t0 = time.perf_counter()
        state["workers"].go(per)
        state["workers"].wait()
        elapsed = time.perf_counter() - t0
        total = state["read"]()
        if total != 2 * per:
            raise AssertionError(f"counter is {total}, expected {2 * per}")
        return elapsed

    return run


# ---------------------------------------------------------------- the list


def scenarios(scale: float = 1.0, messages: int = 100_000, increments: int = 100_000
              ) -> List[Dict[str, Any]]:
    """The cross-process scenarios (see the module's documentation).

    *messages* per channel run (split evenly among the producers) and
    *increments* per counter run (split between the two processes), both
    multiplied by *scale*.
    """
    messages = max(4, int(messages * scale))
    increments = max(2, int(increments * scale))
    impls = [
        ("multiprocessing.Queue", True),
        ("multiprocessing.SimpleQueue", False),
        ("pyconc.ipc.channel", False),
        ("pyconc.ipc.channel (send_many/recv_many)", False),
    ]
    if not _faster_fifo_missing():
        impls.insert(2, ("faster_fifo.Queue", False))
    out: List[Dict[str, Any]] = []
    for group, producers in ((G1, 1), (G4, 4)):
        ops = messages // producers * producers
        for name, baseline in impls:
            out.append({
                "group": group,
                "name": name,
                "baseline": baseline,
                "ops": ops,
                "run": _channel_scenario(name, producers, messages),
            })
    for name, baseline, goal in (
        ("multiprocessing.Value (with its lock)", True, None),
        # Issue 11: at least 15x multiprocessing.Value with its lock.
        ("pyconc.ipc.SharedAtomicInt", False, ("multiprocessing.Value (with its lock)", 1 / 15)),
        ("pyconc.ipc.SharedSpinLock", False, None),
    ):
        out.append({
            "group": GC,
            "name": name,
            "baseline": baseline,
            "ops": increments // 2 * 2,
            "run": _counter_scenario(name, increments),
            "goal": goal,
        })
    blocks = max(1, int(200_000 * scale))
    for name, baseline, goal in (
        ("with multiprocessing.Lock()", True, None),
        # Issue 11: at least 2x multiprocessing.Lock.
        ("with pyconc.ipc.SharedSpinLock()", False, ("with multiprocessing.Lock()", 0.5)),
    ):
        out.append({
            "group": GL,
            "name": name,
            "baseline": baseline,
            "ops": blocks,
            "run": _with_lock_scenario(name, blocks),
            "goal": goal,
        })
    return out


def _with_lock_scenario(impl: str, n: int) -> Callable[[], float]:
    """``with lock: pass`` n times in this process, on a lock that other
    processes could share (uncontended: the cost of the lock itself)."""
    state: Dict[str, Any] = {}

    def run() -> float:
        if "lock" not in state:
            if impl.startswith("with pyconc"):
                from pyconc import ipc

                state["lock"] = ipc.SharedSpinLock()
            else:
                state["lock"] = _CTX.Lock()
        lock = state["lock"]
        t0 = time.perf_counter()
        for _ in range(n):
            with lock:
                pass
        elapsed = time.perf_counter() - t0
        if lock.acquire(False):  # free after the loop
            lock.release()
        else:
            raise AssertionError(f"{impl}: the lock was left held")
        return elapsed

    return run


def skipped() -> List[Tuple[str, str]]:
    """(implementation, reason) for each alternative left out here."""
    reason = _faster_fifo_missing()
    return [("faster_fifo.Queue", reason)] if reason else []


def main() -> None:  # pragma: no cover - python -m pyconc._bench.ipc_scenarios [--quick] [--rounds N]
    """Run every scenario side by side: in each round, every implementation
    of a group once, in turn, so that other load on the machine falls on
    all of them alike; report the best round of each."""
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    scale = 10 if quick else 1
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for sc in scenarios(1 / scale):
        groups.setdefault(sc["group"], []).append(sc)
    for group, scs in groups.items():
        best = {sc["name"]: float("inf") for sc in scs}
        for sc in scs:
            sc["run"]()  # warm up: start the workers
        for _ in range(rounds):
            for sc in scs:
                best[sc["name"]] = min(best[sc["name"]], sc["run"]())
        base = next(sc for sc in scs if sc["baseline"])
        base_rate = base["ops"] / best[base["name"]]
        for sc in scs:
            rate = sc["ops"] / best[sc["name"]]
            print(f"{group:38} {sc['name']:42} {rate:11,.0f}/s {rate / base_rate:5.1f}x",
                  flush=True)
        _stop_all()
    for name, why in skipped():
        print(f"skipped {name}: {why}")


if __name__ == "__main__":  # pragma: no cover
    main()
