"""The compiled core, loaded once; a clear ImportError when it is missing."""

from __future__ import annotations

import sys

try:
    from pyconc._core import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "pyconc's compiled core (pyconc._core) could not be imported: "
        f"{exc}. pyconc has no pure-Python fallback. Install a wheel for "
        "this platform, or build from source with a C compiler "
        "('pip install .' in a checkout; see README.md)."
    ) from exc


def gil_enabled() -> bool:
    """Whether this interpreter runs with a GIL (free-threaded builds may
    not: ``sys._is_gil_enabled``, 3.13+)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


# With a GIL, waits spin for a window before parking and take the GIL back
# when it is likely free (csrc/pc_handoff.h).  Without one the threads run
# in parallel and waits keep their short backoff only.
lib.pc_handoff_enable(gil_enabled())

__all__ = ["ffi", "lib", "gil_enabled"]
