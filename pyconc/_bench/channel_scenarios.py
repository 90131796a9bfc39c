"""Benchmark scenarios for the channels (issue 3).

N producer threads send 100,000 small integers in all (split evenly) to one
consumer, the calling thread, which adds them up; the result is checked
(count and sum) after the timed part.  Implementations:

- pyconc ``channel()`` and ``sync_channel(1024)``: ``send``/``recv`` one
  value at a time, and batched: ``send_many`` of 64, ``recv_many(64)``;
- the baselines: ``queue.Queue`` (the scenario's baseline), ``queue.SimpleQueue``
  and a ``collections.deque`` with a ``threading.Condition``; in the batched
  groups the deque moves batches too (``extend``, up to 64 ``popleft`` under
  one lock), the queues have no batch operations and move single values.

MPMC (issue 13): P producers and P consumers (2/2, 4/4), every consumer
taking values until the channel is disconnected (queue.Queue and SimpleQueue:
until a sentinel per consumer), goal at least 8x queue.Queue.  select
(issue 13): one producer sends each value to one of 2 or 8 channels chosen at
random, the consumer takes them with ``pyconc.select`` (or a reused
``Select``); the baseline is a plain ``recv`` on one channel fed the same
way; goal at most 2x its time per value.

Plus the C queues alone (``pc_qbench_run``: no Python, no waiting), 1 and 2
producers.  Threads are created and parked on a barrier before the timed
part.  ``bench/bench_channel.py`` runs the same scenarios under
pytest-benchmark.
"""

from __future__ import annotations

import collections
import queue
import random
import threading
from typing import Any, Callable, Dict, List, Tuple

from pyconc import Select, channel, select, sync_channel
from pyconc._bench._util import check, run_threads
from pyconc._native import lib

Scenario = Dict[str, Any]
BATCH = 64


# ------------------------------------------------------------ the harness


def _timed(producers: int, produce: Callable[[int], None],
           consume: Callable[[], Tuple[int, int]], n: int, total: int) -> float:
    """Run produce(i) in *producers* threads and consume() in this one,
    started together; check consume's (count, sum); return the seconds."""
    result: List[Tuple[int, int]] = []
    elapsed = run_threads(producers, produce, lambda: result.append(consume()))
    count, got = result[0]
    check(count == n, f"received {count} values, sent {n}")
    check(got == total, "received values differ from those sent")
    return elapsed


def _split(producers: int, n: int) -> Tuple[int, List[range], int]:
    """Share about *n* values among *producers*: (values in all, each
    producer's range, the sum the consumer must find)."""
    per = n // producers
    parts = [range(i * per, (i + 1) * per) for i in range(producers)]
    return per * producers, parts, sum(sum(r) for r in parts)


# ----------------------------------------------------------- implementations


def _pyconc(make: Callable[[], Any], producers: int, n: int) -> Callable[[], float]:
    n, parts, total = _split(producers, n)

    def run() -> float:
        tx, rx = make()
        senders = [tx.clone() for _ in range(producers)]
        tx.close()

        def produce(i: int) -> None:
            with senders[i] as s:
                send = s.send
                for v in parts[i]:
                    send(v)

        def consume() -> Tuple[int, int]:
            recv = rx.recv
            got = 0
            for _ in range(n):
                got += recv()
            return n, got

        return _timed(producers, produce, consume, n, total)

    return run


def _pyconc_batched(make: Callable[[], Any], producers: int, n: int) -> Callable[[], float]:
    n, parts, total = _split(producers, n)

    def run() -> float:
        tx, rx = make()
        senders = [tx.clone() for _ in range(producers)]
        tx.close()

        def produce(i: int) -> None:
            r = parts[i]
            with senders[i] as s:
                send_many = s.send_many
                for start in range(r.start, r.stop, BATCH):
                    send_many(range(start, min(start + BATCH, r.stop)))

        def consume() -> Tuple[int, int]:
            recv_many = rx.recv_many
            count = got = 0
            while count < n:
                chunk = recv_many(BATCH)
                count += len(chunk)
                got += sum(chunk)
            return count, got

        return _timed(producers, produce, consume, n, total)

    return run


def _stdlib_queue(make: Callable[[], Any], producers: int, n: int) -> Callable[[], float]:
    n, parts, total = _split(producers, n)

    def run() -> float:
        q = make()

        def produce(i: int) -> None:
            put = q.put
            for v in parts[i]:
                put(v)

        def consume() -> Tuple[int, int]:
            get = q.get
            got = 0
            for _ in range(n):
                got += get()
            return n, got

        return _timed(producers, produce, consume, n, total)

    return run


def _deque_condition(producers: int, n: int) -> Callable[[], float]:
    n, parts, total = _split(producers, n)

    def run() -> float:
        dq: collections.deque = collections.deque()
        cond = threading.Condition(threading.Lock())

        def produce(i: int) -> None:
            append, notify = dq.append, cond.notify
            for v in parts[i]:
                with cond:
                    append(v)
                    notify()

        def consume() -> Tuple[int, int]:
            popleft, wait = dq.popleft, cond.wait
            got = 0
            for _ in range(n):
                with cond:
                    while not dq:
                        wait()
                    got += popleft()
            return n, got

        return _timed(producers, produce, consume, n, total)

    return run


def _deque_condition_batched(producers: int, n: int) -> Callable[[], float]:
    n, parts, total = _split(producers, n)

    def run() -> float:
        dq: collections.deque = collections.deque()
        cond = threading.Condition(threading.Lock())

        def produce(i: int) -> None:
            r = parts[i]
            extend, notify = dq.extend, cond.notify
            for start in range(r.start, r.stop, BATCH):
                batch = range(start, min(start + BATCH, r.stop))
                with cond:
                    extend(batch)
                    notify()

        def consume() -> Tuple[int, int]:
            popleft, wait = dq.popleft, cond.wait
            count = got = 0
            while count < n:
                with cond:
                    while not dq:
                        wait()
                    chunk = [popleft() for _ in range(min(BATCH, len(dq)))]
                count += len(chunk)
                got += sum(chunk)
            return count, got

        return _timed(producers, produce, consume, n, total)

    return run


def _timed_mpmc(threads: int, body: Callable[[int], None],
                results: List[Tuple[int, int]], n: int, total: int) -> float:
    """Run body(i) in *threads* threads; check the consumers' (count, sum)
    pairs in *results*; return the seconds."""
    elapsed = run_threads(threads, body)
    check(sum(c for c, _ in results) == n, "values lost or duplicated")
    check(sum(g for _, g in results) == total, "received values differ from those sent")
    return elapsed


def _mpmc_pyconc(make: Callable[[], Any], producers: int, consumers: int,
                 n: int) -> Callable[[], float]:
    """P producers send, C consumers iterate (``for v in rx``) until the
    channel is disconnected."""
    n, parts, total = _split(producers, n)

    def run() -> float:
        tx, rx = make()
        senders = [tx.clone() for _ in range(producers)]
        receivers = [rx.clone() for _ in range(consumers - 1)] + [rx]
        tx.close()
        results: List[Tuple[int, int]] = []
        lock = threading.Lock()

        def body(i: int) -> None:
            if i < producers:
                with senders[i] as s:
                    send = s.send
                    for v in parts[i]:
                        send(v)
                return
            count = got = 0
            with receivers[i - producers] as r:
                for v in r:
                    count += 1
                    got += v
            with lock:
                results.append((count, got))

        return _timed_mpmc(producers + consumers, body, results, n, total)

    return run


def _mpmc_queue(make: Callable[[], Any], producers: int, consumers: int,
                n: int) -> Callable[[], float]:
    """The same with a queue: the last producer to finish puts one sentinel
    (None) per consumer."""
    n, parts, total = _split(producers, n)

    def run() -> float:
        q = make()
        results: List[Tuple[int, int]] = []
        lock = threading.Lock()
        left = [producers]

        def body(i: int) -> None:
            if i < producers:
                put = q.put
                for v in parts[i]:
                    put(v)
                with lock:
                    left[0] -= 1
                    last = left[0] == 0
                if last:
                    for _ in range(consumers):
                        put(None)
                return
            get = q.get
            count = got = 0
            while True:
                v = get()
                if v is None:
                    break
                count += 1
                got += v
            with lock:
                results.append((count, got))

        return _timed_mpmc(producers + consumers, body, results, n, total)

    return run


def _select_run(channels: int, n: int, how: str) -> Callable[[], float]:
    """One producer sends value i to channel idx[i] (random); the consumer
    takes n values: how = "recv" (the baseline: one channel, idx all 0),
    "select" (pyconc.select over every channel) or "Select" (a reused
    Select's select())."""
    rng = random.Random(13)
    idx = [0 if how == "recv" else rng.randrange(channels) for _ in range(n)]
    total = n * (n - 1) // 2

    def run() -> float:
        chans = [channel() for _ in range(channels if how != "recv" else 1)]
        sends = [chans[k][0].send for k in idx]
        rxs = tuple(rx for _, rx in chans)  # select(*rxs): no tuple built per call

        def produce(_: int) -> None:
            for s, v in zip(sends, range(n)):
                s(v)

        def consume() -> Tuple[int, int]:
            got = 0
            if how == "recv":
                recv = rxs[0].recv
                for _ in range(n):
                    got += recv()
            elif how == "select":
                for _ in range(n):
                    got += select(*rxs)[1]
            else:
                sel = Select()
                for rx in rxs:
                    sel.recv(rx)
                pick = sel.select
                for _ in range(n):
                    got += pick()[1]
            return n, got

        return _timed(1, produce, consume, n, total)

    return run


def _cqueue(kind: int, producers: int, per: int) -> Callable[[], float]:
    def run() -> float:
        ns = lib.pc_qbench_run(kind, producers, per)
        check(ns > 0, "C queue benchmark failed (a value lost, duplicated or reordered)")
        return ns / 1e9

    return run


# ----------------------------------------------------------------- scenarios


def scenarios(threads: List[int] = [1, 2, 4], scale: float = 1.0) -> List[Scenario]:  # noqa: B006
    """The channel scenarios, for *threads* producer counts (one consumer)."""
    out: List[Scenario] = []
    n = int(100_000 * scale)
    for p in threads:
        ops = n // p * p
        for batched in (False, True):
            g = f"channel {p}p/1c{', batched 64' if batched else ''}"
            common = dict(group=g, ops=ops, threads=p + 1)
            out.append(dict(common, name="queue.Queue put/get", baseline=True,
                            run=_stdlib_queue(queue.Queue, p, n)))
            out.append(dict(common, name="queue.SimpleQueue put/get", baseline=False,
                            run=_stdlib_queue(queue.SimpleQueue, p, n)))
            if batched:
                out.append(dict(common, name="deque+Condition extend/popleft*64",
                                baseline=False, run=_deque_condition_batched(p, n)))
                out.append(dict(common, name="pyconc channel send_many/recv_many",
                                baseline=False, run=_pyconc_batched(channel, p, n)))
                out.append(dict(common, name="pyconc sync_channel(1024) send_many/recv_many",
                                baseline=False,
                                run=_pyconc_batched(lambda: sync_channel(1024), p, n)))
            else:
                out.append(dict(common, name="deque+Condition append/popleft",
                                baseline=False, run=_deque_condition(p, n)))
                out.append(dict(common, name="pyconc channel send/recv", baseline=False,
                                run=_pyconc(channel, p, n),
                                # issue 13: at least 1.0x SimpleQueue, unbatched
                                goal=("queue.SimpleQueue put/get", 1.0)))
                out.append(dict(common, name="pyconc sync_channel(1024) send/recv",
                                baseline=False, run=_pyconc(lambda: sync_channel(1024), p, n)))
    # MPMC (issue 13): at least 8x queue.Queue.
    for p in (2, 4):
        ops = n // p * p
        g = f"channel mpmc {p}p/{p}c"
        common = dict(group=g, ops=ops, threads=2 * p)
        out.append(dict(common, name="queue.Queue put/get", baseline=True,
                        run=_mpmc_queue(queue.Queue, p, p, n)))
        out.append(dict(common, name="queue.SimpleQueue put/get", baseline=False,
                        run=_mpmc_queue(queue.SimpleQueue, p, p, n)))
        out.append(dict(common, name="pyconc channel send/for-in", baseline=False,
                        run=_mpmc_pyconc(channel, p, p, n),
                        goal=("queue.Queue put/get", 1 / 8)))
        out.append(dict(common, name="pyconc sync_channel(1024) send/for-in", baseline=False,
                        run=_mpmc_pyconc(lambda: sync_channel(1024), p, p, n),
                        goal=("queue.Queue put/get", 1 / 8)))
    # select (issue 13): at most 2x a plain recv per value.
    sn = int(50_000 * scale)
    for k in (2, 8):
        g = f"channel select over {k} receivers, 1 producer"
        common = dict(group=g, ops=sn, threads=2)
        out.append(dict(common, name="pyconc recv, one channel", baseline=True,
                        run=_select_run(k, sn, "recv")))
        out.append(dict(common, name=f"pyconc.select over {k}", baseline=False,
                        run=_select_run(k, sn, "select"),
                        goal=("pyconc recv, one channel", 2.0)))
        out.append(dict(common, name=f"pyconc Select.select over {k}", baseline=False,
                        run=_select_run(k, sn, "Select"),
                        goal=("pyconc recv, one channel", 2.0)))
    cn = int(2_000_000 * scale)
    for p in (1, 2):
        per = cn // p
        g = f"C only: channel queue, {p} producer{'s' if p > 1 else ''}/1 consumer"
        out.append(dict(group=g, name="pc_ring, 1024 slots (C)", baseline=True,
                        ops=per * p, threads=p + 1, run=_cqueue(lib.PC_QBENCH_RING, p, per)))
        out.append(dict(group=g, name="pc_mpsc, Vyukov (C)", baseline=False,
                        ops=per * p, threads=p + 1, run=_cqueue(lib.PC_QBENCH_MPSC, p, per)))
    return out


def main() -> None:  # pragma: no cover - a convenience for measuring by hand
    """Print a Markdown table: each implementation's values/s and its ratio
    to queue.Queue and queue.SimpleQueue in the same group, same run."""
    import sys

    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    groups: Dict[str, Dict[str, float]] = collections.OrderedDict()
    for s in scenarios():
        best = min(s["run"]() for _ in range(repeat))
        groups.setdefault(s["group"], {})[s["name"]] = s["ops"] / best
    print("| scenario | implementation | values/s | vs queue.Queue | vs SimpleQueue |")
    print("|---|---|---:|---:|---:|")
    for g, impls in groups.items():
        q = impls.get("queue.Queue put/get")
        sq = impls.get("queue.SimpleQueue put/get")
        for name, rate in impls.items():
            vq = f"{rate / q:.1f}x" if q else "-"
            vsq = f"{rate / sq:.2f}x" if sq else "-"
            print(f"| {g} | {name} | {rate / 1e6:.2f} M | {vq} | {vsq} |")


if __name__ == "__main__":  # pragma: no cover
    main()
