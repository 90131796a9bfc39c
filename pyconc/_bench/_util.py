"""Helpers shared by the benchmark scenarios."""

from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional


def run_threads(
    n: int, body: Callable[[int], None], main: Optional[Callable[[], None]] = None
) -> float:
    """Run ``body(i)`` in *n* threads started together; return the seconds
    from the common start to the last thread's end.

    The threads are created and parked on a barrier first, so thread
    creation is not timed.  If *main* is given, it runs in the calling
    thread from the same start (a consumer, say), and the time runs until
    it has returned too.
    """
    barrier = threading.Barrier(n + 1)
    errors: List[BaseException] = []

    def target(i: int) -> None:
        barrier.wait()
        try:
            body(i)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    if main is not None:
        main()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


def check(condition: bool, message: str) -> None:
    """Fail a scenario whose result is wrong (even under python -O)."""
    if not condition:
        raise AssertionError(message)
