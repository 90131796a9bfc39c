"""The compiled core, loaded once; a clear ImportError when it is missing."""

from __future__ import annotations

try:
    from pyconc._core import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "pyconc's compiled core (pyconc._core) could not be imported: "
        f"{exc}. pyconc has no pure-Python fallback. Install a wheel for "
        "this platform, or build from source with a C compiler "
        "('pip install .' in a checkout; see README.md)."
    ) from exc

__all__ = ["ffi", "lib"]
