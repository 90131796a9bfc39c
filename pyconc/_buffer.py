"""Placing a C object inside a caller's writable buffer (from_buffer)."""

from __future__ import annotations

from typing import Any

from pyconc._native import ffi


def cell_in_buffer(buf: Any, offset: int, ctype: str, what: str) -> tuple[Any, Any]:
    """Return ``(pointer, keepalive)`` for a *ctype* at *offset* in *buf*.

    *buf* must support the buffer protocol, be writable and C-contiguous,
    and hold ``sizeof(ctype)`` bytes at *offset*, aligned to
    ``alignof(ctype)``.  The pointer does not keep *buf* alive; the returned
    keepalive object does (and keeps the buffer exported, so that, for
    example, an mmap cannot be closed under the object).
    """
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    try:
        view = memoryview(buf)
    except TypeError:
        raise TypeError(
            f"{what}.from_buffer() needs an object supporting the buffer "
            f"protocol, not {type(buf).__name__}"
        ) from None
    with view:
        if view.readonly:
            raise TypeError(
                f"{what}.from_buffer() needs a writable buffer; "
                f"{type(buf).__name__} is read-only"
            )
        if not view.c_contiguous:
            raise ValueError(f"{what}.from_buffer() needs a C-contiguous buffer")
        nbytes = view.nbytes
    size = ffi.sizeof(ctype.rstrip(" *"))
    align = ffi.alignof(ctype.rstrip(" *"))
    if offset < 0 or offset + size > nbytes:
        raise ValueError(
            f"{what} needs {size} bytes at offset {offset}, but the buffer "
            f"holds {nbytes}"
        )
    keep = ffi.from_buffer(buf, require_writable=True)
    address = int(ffi.cast("uintptr_t", keep)) + offset
    if address % align:
        raise ValueError(
            f"{what} needs {align}-byte alignment; the buffer's address plus "
            f"offset {offset} is misaligned by {address % align} bytes"
        )
    return ffi.cast(ctype, keep + offset), keep
