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


def _ours(name):
    """False for a segment that a live process other than this one created
    (another test run on the same machine): its creator answers for it.
    Segments of this process, and of dead processes (our killed children),
    count."""
    try:
        with open(os.path.join(SHM, name), "rb") as f:
            head = f.read(24)
    except OSError:
        return False  # gone meanwhile
    if len(head) < 24 or not head.startswith(b"pyconc"):
        return True
    creator = int.from_bytes(head[16:24], "little")
    if creator == os.getpid():
        return True
    try:
        os.kill(creator, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{creator}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                return True  # a zombie: dead
    except (OSError, IndexError):
        pass
    try:  # a live child of ours still counts
        with open(f"/proc/{creator}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (OSError, IndexError, ValueError):
        return False


def stale_segments(before):
    return {n for n in pyconc_segments() - before if _ours(n)}


def no_stale_segments():
    """Every test must leave /dev/shm as it found it."""
    before = pyconc_segments()
    yield
    gc.collect()
    deadline = time.monotonic() + 5
    while stale_segments(before) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    assert stale_segments(before) == set(), "stale shared-memory segments"


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
