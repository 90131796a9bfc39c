"""Memory per object: RSS growth over 200,000 live objects (issue 11).

Each run starts a fresh interpreter (so that memory freed by earlier
scenarios cannot be reused and hide the growth), preallocates the list that
will hold the objects, reads the resident set size, creates the objects,
and reads it again.  The growth divided by the count is what one object
costs, allocator rounding and all (pymalloc hands out 16-byte classes, so a
40-byte object costs 48).

A scenario's ``run`` returns the growth in bytes per object (``unit`` is
``B/object``); the report gives the median and range of the rounds.  Goals
(issue 11): an atomic at most 40 B, ``SpinLock`` at most
``threading.Lock``'s, ``Mutex(0)`` at most 80 B.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

from pyconc._bench._util import check

Scenario = Dict[str, Any]

COUNT = 200_000

#: What each implementation builds: (import statement, expression).
_MAKERS = {
    "pyconc AtomicInt": ("from pyconc import AtomicInt", "AtomicInt(0)"),
    "cereggii AtomicInt64": ("import cereggii", "cereggii.AtomicInt64(0)"),
    "threading.Lock": ("import threading", "threading.Lock()"),
    "pyconc SpinLock": ("from pyconc import SpinLock", "SpinLock()"),
    "pyconc Mutex(0)": ("from pyconc import Mutex", "Mutex(0)"),
}

_PROBE = r"""
import gc, sys
{imports}

def rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * {page}
    except OSError:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == "darwin" else r * 1024

n = {count}
warm = [{expr} for _ in range(1000)]  # types, caches and first arenas
objs = [None] * n
gc.collect()
gc.disable()
before = rss()
for i in range(n):
    objs[i] = {expr}
after = rss()
print(after - before)
"""


def _peer_installed(name: str) -> bool:
    if not name.startswith("cereggii"):
        return True
    try:
        import cereggii  # noqa: F401
    except ImportError:
        return False
    return True


def _measure(label: str, count: int) -> float:
    imports, expr = _MAKERS[label]
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    code = _PROBE.format(imports=imports, expr=expr, count=count, page=page)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    check(out.returncode == 0, f"memory probe for {label} failed: {out.stderr[-500:]}")
    growth = int(out.stdout.strip().splitlines()[-1])
    # Never 0: a ratio to it would divide by zero.
    return max(growth, 1) / count


def _run(label: str, count: int) -> Any:
    return lambda: _measure(label, count)


def scenarios(scale: float = 1.0) -> List[Scenario]:
    if sys.platform == "win32":  # no /proc, no resource module
        return []
    count = COUNT  # the goals are stated for 200,000 objects, whatever the scale
    groups: List[Tuple[str, List[Tuple[str, bool, Optional[Tuple[Optional[str], float]]]]]] = [
        ("memory per object: atomic int", [
            ("cereggii AtomicInt64", True, None),
            ("pyconc AtomicInt", False, (None, 40)),
        ]),
        ("memory per object: lock", [
            ("threading.Lock", True, None),
            ("pyconc SpinLock", False, ("threading.Lock", 1.0)),
            ("pyconc Mutex(0)", False, (None, 80)),
        ]),
    ]
    out: List[Scenario] = []
    for group, members in groups:
        for label, baseline, goal in members:
            if not _peer_installed(label):
                continue
            out.append(dict(group=group, name=label, baseline=baseline, ops=count,
                            threads=None, unit="B/object", goal=goal,
                            run=_run(label, count)))
    return out
