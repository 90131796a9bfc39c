"""Fixtures and helpers shared by the test_ipc* modules.

Each module turns the two fixture functions into fixtures of its own
(``ctx = pytest.fixture(params=START_METHODS)(start_method)``), so that no
imported name is shadowed by a test's parameter.
"""

import gc
import multiprocessing as mp
import os
import time

SHM = "/dev/shm"


def pyconc_segments():
    try:
        return {n for n in os.listdir(SHM) if n.startswith("pc_")}
    except FileNotFoundError:  # pragma: no cover - no /dev/shm (macOS)
        return set()


def no_stale_segments():
    """Every test must leave /dev/shm as it found it."""
    before = pyconc_segments()
    yield
    gc.collect()
    deadline = time.monotonic() + 5
    while pyconc_segments() - before and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    assert pyconc_segments() - before == set(), "stale shared-memory segments"


START_METHODS = ["fork", "spawn"]


def start_method(request):
    return mp.get_context(request.param)


def run(ctx, target, *args):
    p = ctx.Process(target=target, args=args, daemon=True)
    p.start()
    return p


def join_all(procs, timeout=60):
    """Join every process; kill and fail on one that does not finish."""
    deadline = time.monotonic() + timeout
    stuck = []
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            stuck.append(p)
            p.kill()
            p.join(5)
    assert not stuck, f"child processes did not finish: {stuck}"
    return [p.exitcode for p in procs]
