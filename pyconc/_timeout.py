"""Timeouts in the Python layer, and the slice the C waits use.

Every blocking method waits in C (``pc_py_wait`` in csrc/pyglue/pc_py.h),
which parses its own timeout.  What is left here serves the Python code
that still computes deadlines: the asyncio waits and pyconc.ipc's batch
calls.  A C wait never lasts longer than SLICE before it comes back to the
interpreter, which runs signal handlers (so Ctrl-C raises
KeyboardInterrupt within about SLICE); the waits also return at once when
a signal interrupts them, so the usual delay is far shorter.
"""

from __future__ import annotations

import math
import time
from typing import Optional

from pyconc._native import lib

#: Longest single wait in C (csrc/pc_config.h's PC_WAIT_SLICE_NS).
SLICE_NS: int = lib.PC_WAIT_SLICE_NS
SLICE = SLICE_NS / 1e9

#: Timeouts from this many seconds up wait without limit (pc_py.h's
#: PC_PY_TIMEOUT_FOREVER_S: no deadline this far off fits in int64 ns).
FOREVER_S = 9.0e9  # about 285 years


def seconds(timeout: float) -> float:
    """Validate a timeout in seconds (a non-negative real number).

    Any timeout longer than can be waited for (``threading.TIMEOUT_MAX``,
    ``math.inf``, 1e300) is returned as it is and means "no limit" to the
    C waits, which treat everything from ``FOREVER_S`` up so (pc_py.h)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number, not {type(timeout).__name__}"
        )
    try:
        value = float(timeout)
    except OverflowError:  # an int beyond a float's range
        value = math.inf if timeout > 0 else -math.inf
    if math.isnan(value) or value < 0:
        raise ValueError("timeout value must be a non-negative number")
    return value


def optional_seconds(timeout: Optional[float]) -> Optional[float]:
    """As seconds(), but None means "no limit"."""
    return None if timeout is None else seconds(timeout)


def deadline(timeout: Optional[float]) -> Optional[float]:
    """The monotonic time at which *timeout* runs out (None: never)."""
    return None if timeout is None else time.monotonic() + timeout


def slice_ns(deadline_: Optional[float]) -> int:
    """Nanoseconds to wait in the next slice; 0 or less means time is up."""
    if deadline_ is None:
        return SLICE_NS
    left = deadline_ - time.monotonic()
    return SLICE_NS if left >= SLICE else int(left * 1e9)
