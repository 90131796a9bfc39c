"""Memory orderings and the rules for which operation accepts which."""

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


def _table(*allowed: Ordering) -> dict[Ordering, int]:
    # Keys are the enum members; IntEnum hashes and compares as int, so a
    # plain int with the same value is accepted too, as everywhere an
    # IntEnum is.  Values are what the C core receives.
    return {o: int(o) for o in allowed}


#: Orderings each kind of operation accepts (C11 7.17.7, Rust std::sync::atomic).
LOAD_ORDERS = _table(RELAXED, ACQUIRE, SEQ_CST)
STORE_ORDERS = _table(RELAXED, RELEASE, SEQ_CST)
RMW_ORDERS = _table(RELAXED, ACQUIRE, RELEASE, ACQ_REL, SEQ_CST)
CAS_FAILURE_ORDERS = _table(RELAXED, ACQUIRE, SEQ_CST)
FENCE_ORDERS = _table(ACQUIRE, RELEASE, ACQ_REL, SEQ_CST)

_KIND_NAMES = {
    id(LOAD_ORDERS): "a load",
    id(STORE_ORDERS): "a store",
    id(RMW_ORDERS): "a read-modify-write operation",
    id(CAS_FAILURE_ORDERS): "the failure ordering of a compare-exchange",
    id(FENCE_ORDERS): "a fence",
}


def order_error(order: object, table: dict[Ordering, int]) -> Exception:
    """The exception for an ordering *table* does not accept."""
    if isinstance(order, bool) or not isinstance(order, int):
        return TypeError(
            f"ordering must be a pyconc.Ordering, not {type(order).__name__}"
        )
    try:
        name = repr(Ordering(order))
    except ValueError:
        return ValueError(f"{order!r} is not a valid pyconc.Ordering")
    allowed = ", ".join(o.name for o in table)
    return ValueError(
        f"{name} is not allowed for {_KIND_NAMES[id(table)]} "
        f"(allowed: {allowed})"
    )


def check_order(order: object, table: dict[Ordering, int]) -> int:
    """Map *order* to the core's value, or raise TypeError/ValueError."""
    try:
        return table[order]  # type: ignore[index]
    except (KeyError, TypeError):
        raise order_error(order, table) from None
