"""Memory orderings (the rules for which operation accepts which are in C)."""

from __future__ import annotations

import enum

from pyconc._native import lib


class Ordering(enum.IntEnum):
    """Memory ordering of an atomic operation, as in C11 and Rust.

    RELAXED
        Atomicity only: no ordering with other memory accesses.
    ACQUIRE
        For loads: later reads and writes in this thread stay after it, and
        it sees every write published by the RELEASE store it reads from.
    RELEASE
        For stores: earlier reads and writes stay before it, published to
        whoever ACQUIRE-loads the value it wrote.
    ACQ_REL
        For read-modify-write operations: both ACQUIRE and RELEASE.
    SEQ_CST
        ACQ_REL plus one total order of all SEQ_CST operations that every
        thread agrees on.  The default everywhere, and the safe choice.
    """

    RELAXED = lib.PC_RELAXED
    ACQUIRE = lib.PC_ACQUIRE
    RELEASE = lib.PC_RELEASE
    ACQ_REL = lib.PC_ACQ_REL
    SEQ_CST = lib.PC_SEQ_CST

    def __repr__(self) -> str:
        return f"Ordering.{self.name}"


RELAXED = Ordering.RELAXED
ACQUIRE = Ordering.ACQUIRE
RELEASE = Ordering.RELEASE
ACQ_REL = Ordering.ACQ_REL
SEQ_CST = Ordering.SEQ_CST


# Which operation accepts which ordering (C11 7.17.7, Rust std::sync::atomic)
# is checked in C, with the messages, by pc_py_order (csrc/pyglue/pc_py.h):
# it takes a pyconc.Ordering or a plain int of the same value (an IntEnum
# is an int), and refuses bools and floats, so True is not ACQUIRE.
