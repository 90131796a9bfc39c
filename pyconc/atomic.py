"""Atomic integers and booleans with explicit memory orderings.

Each class wraps one 8-byte cell of the C core (``csrc/pc_atomic.h``).
Every operation is one call into C, made with the GIL held (it never
waits), and maps its ``order`` to the matching C11 ``memory_order``.

Thread safety without the GIL: an atomic's Python object never changes after
construction (it holds only the cell's address), and every access to the
cell is a C11 atomic operation, so free-threaded builds need no lock.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

from pyconc._buffer import cell_in_buffer
from pyconc._native import ffi, lib
from pyconc._ordering import (
    CAS_FAILURE_ORDERS,
    FENCE_ORDERS,
    LOAD_ORDERS,
    RMW_ORDERS,
    SEQ_CST,
    STORE_ORDERS,
    Ordering,
    check_order,
    order_error,
)

__all__ = ["AtomicInt", "AtomicUInt", "AtomicBool", "fence"]

_SEQ_CST = int(SEQ_CST)

def fence(order: Ordering = SEQ_CST) -> None:
    """fence(order=Ordering.SEQ_CST)

    A memory fence (C11 ``atomic_thread_fence``, Rust's ``fence``): orders
    the memory accesses around it as *order* says.  A RELAXED fence would
    order nothing and raises ValueError, as Rust's panics.
    """
    lib.pc_atomic_fence(check_order(order, FENCE_ORDERS))


class _Atomic:
    """Operations shared by the three atomic types (see the subclasses)."""

    __slots__ = ("_cell", "_keep", "__weakref__")

    _CTYPE: str
    _RANGE: str

    def __init__(self, value: int = 0) -> None:
        self._cell = ffi.new(self._CTYPE)
        self._keep = None
        self.store(value, Ordering.RELAXED)

    @classmethod
    def from_buffer(cls, buf: Any, offset: int = 0) -> Any:
        """from_buffer(buf, offset=0)

        An atomic living in the 8 bytes at *offset* of *buf*, which must be
        writable (bytearray, mmap, ``multiprocessing.shared_memory``
        ``.buf``, a writable memoryview), C-contiguous and 8-byte aligned
        there.  The value is whatever those bytes hold (native byte order);
        nothing is written.  Processes that map the same memory share the
        atomic.  The buffer is kept alive, and kept exported (an mmap or
        SharedMemory cannot be closed), for as long as the atomic exists.

        Raises TypeError for an object that is not a writable buffer, and
        ValueError for a misaligned or too short one.
        """
        cell, keep = cell_in_buffer(buf, offset, cls._CTYPE, cls.__name__)
        self = cls.__new__(cls)
        self._cell = cell
        self._keep = keep
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.load(Ordering.RELAXED)!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} lives in this process's memory and cannot "
            "be pickled; place it in shared memory with from_buffer() to "
            "share it between processes"
        )

    # The operations themselves are attached by _define_operations below;
    # atomic.pyi spells out their signatures for type checkers.


def _value_error(cls: type, value: object, exc: BaseException) -> BaseException:
    """Re-word cffi's conversion errors for an atomic's value."""
    if isinstance(exc, OverflowError) or (
        isinstance(value, int) and isinstance(exc, (ValueError, TypeError))
    ):
        return OverflowError(
            f"{value!r} is out of range for {cls.__name__} ({cls._RANGE})"
        )
    if isinstance(exc, TypeError):
        return TypeError(
            f"{cls.__name__} takes {'a bool' if cls is AtomicBool else 'an int'}, "
            f"not {type(value).__name__}"
        )
    return exc


def _call_error(self: _Atomic, value: object, orders: tuple, exc: BaseException) -> BaseException:
    """Explain a failed call: a bad ordering first, then a bad value."""
    for order, table in orders:
        try:
            check_order(order, table)
        except (TypeError, ValueError) as order_exc:
            return order_exc
    return _value_error(type(self), value, exc)


def _define_operations(cls: type, name: str, ops: tuple[str, ...]) -> None:
    """Attach the operations of ``pc_atomic_<name>_*`` to *cls*.

    Each method is a closure over its C function and ordering table, so a
    call does one dict lookup (validating the ordering) and one C call.
    """
    c = {op: getattr(lib, f"pc_atomic_{name}_{op}") for op in ops}
    c_load, c_store, c_swap = c["load"], c["store"], c["swap"]
    c_cas, c_cas_weak = c["compare_exchange"], c["compare_exchange_weak"]
    kind = "bool" if cls is AtomicBool else "int"

    def load(self, order=SEQ_CST):
        try:
            if order is SEQ_CST:
                return c_load(self._cell, _SEQ_CST)
            return c_load(self._cell, LOAD_ORDERS[order])
        except (KeyError, TypeError):
            raise order_error(order, LOAD_ORDERS) from None

    load.__doc__ = f"""load(order=Ordering.SEQ_CST) -> {kind}

        Return the current value.  *order* is RELAXED, ACQUIRE or SEQ_CST;
        RELEASE and ACQ_REL raise ValueError (a load publishes nothing).
        """

    def store(self, value, order=SEQ_CST):
        try:
            c_store(self._cell, value, STORE_ORDERS[order])
        except Exception as exc:
            if _is_index(value):
                return store(self, operator.index(value), order)
            raise _call_error(self, value, ((order, STORE_ORDERS),), exc) from None

    store.__doc__ = """store(value, order=Ordering.SEQ_CST) -> None

        Set the value.  *order* is RELAXED, RELEASE or SEQ_CST; ACQUIRE and
        ACQ_REL raise ValueError (a store acquires nothing).
        """

    def swap(self, value, order=SEQ_CST):
        try:
            return c_swap(self._cell, value, RMW_ORDERS[order])
        except Exception as exc:
            if _is_index(value):
                return swap(self, operator.index(value), order)
            raise _call_error(self, value, ((order, RMW_ORDERS),), exc) from None

    swap.__doc__ = f"""swap(value, order=Ordering.SEQ_CST) -> {kind}

        Set the value and return the previous one, in one atomic step.
        """

    def compare_exchange(self, current, new, success=SEQ_CST, failure=SEQ_CST):
        try:
            prev = c_cas(
                self._cell, current, new,
                RMW_ORDERS[success], CAS_FAILURE_ORDERS[failure],
            )
        except Exception as exc:
            if _is_index(current) or _is_index(new):
                return compare_exchange(
                    self, _as_int(current), _as_int(new), success, failure
                )
            raise _call_error(
                self, new if _fits(cls, current) else current,
                ((success, RMW_ORDERS), (failure, CAS_FAILURE_ORDERS)), exc,
            ) from None
        return (prev == current, prev)

    compare_exchange.__doc__ = f"""compare_exchange(current, new, success=SEQ_CST, failure=SEQ_CST) -> (bool, {kind})

        If the value equals *current*, replace it with *new*; either way in
        one atomic step.  Returns ``(True, previous)`` when it replaced
        (previous == current) and ``(False, previous)`` otherwise.

        *success* orders the read-modify-write when it replaces; *failure*
        orders the load when it does not, and may not be RELEASE or ACQ_REL
        (ValueError).  A failure ordering stronger than the success ordering
        is allowed, as in Rust: the success ordering is strengthened to
        match.
        """

    def compare_exchange_weak(self, current, new, success=SEQ_CST, failure=SEQ_CST):
        try:
            r = c_cas_weak(
                self._cell, current, new,
                RMW_ORDERS[success], CAS_FAILURE_ORDERS[failure],
            )
        except Exception as exc:
            if _is_index(current) or _is_index(new):
                return compare_exchange_weak(
                    self, _as_int(current), _as_int(new), success, failure
                )
            raise _call_error(
                self, new if _fits(cls, current) else current,
                ((success, RMW_ORDERS), (failure, CAS_FAILURE_ORDERS)), exc,
            ) from None
        return (r.ok, r.previous)

    compare_exchange_weak.__doc__ = f"""compare_exchange_weak(current, new, success=SEQ_CST, failure=SEQ_CST) -> (bool, {kind})

        As compare_exchange(), but may fail spuriously, returning
        ``(False, previous)`` with previous == current, on machines whose
        compare-and-swap is load-linked/store-conditional (Arm, POWER,
        RISC-V); it is C11's ``atomic_compare_exchange_weak``.  Use it in a
        retry loop, where it can be cheaper than the strong form.
        """

    def fetch_update(self, fn, set_order=SEQ_CST, fetch_order=SEQ_CST):
        set_o = check_order(set_order, RMW_ORDERS)
        fetch_o = check_order(fetch_order, CAS_FAILURE_ORDERS)
        cell = self._cell
        cur = c_load(cell, fetch_o)
        while True:
            new = fn(cur)
            if new is None:
                return (False, cur)
            try:
                r = c_cas_weak(cell, cur, new, set_o, fetch_o)
            except Exception as exc:
                if not _is_index(new):
                    raise _value_error(cls, new, exc) from None
                r = c_cas_weak(cell, cur, operator.index(new), set_o, fetch_o)
            if r.ok:
                return (True, r.previous)
            cur = r.previous

    fetch_update.__doc__ = f"""fetch_update(fn, set_order=SEQ_CST, fetch_order=SEQ_CST) -> (bool, {kind})

        Update the value with a function, retrying until no other thread
        interferes: read the value (with *fetch_order*), call ``fn(value)``,
        and store its result with compare_exchange_weak (*set_order* on
        success, *fetch_order* on failure); if the value changed meanwhile,
        call *fn* again with the new value.  *fn* may therefore run more
        than once and must not have side effects that matter.

        Returns ``(True, previous)`` once a result is stored, or
        ``(False, current)`` as soon as *fn* returns None.
        """

    methods: dict[str, Callable[..., Any]] = {
        "load": load,
        "store": store,
        "swap": swap,
        "compare_exchange": compare_exchange,
        "compare_exchange_weak": compare_exchange_weak,
        "fetch_update": fetch_update,
    }
    for op in ops:
        if op.startswith("fetch_"):
            methods[op] = _fetch_op(cls, op, c[op], kind)
    for method_name, fn in methods.items():
        fn.__name__ = method_name
        fn.__qualname__ = f"{cls.__name__}.{method_name}"
        fn.__doc__ = "\n".join(
            line[4:] if line.startswith("        ") else line
            for line in (fn.__doc__ or "").splitlines()
        )
        setattr(cls, method_name, fn)


_FETCH_DOCS = {
    "fetch_add": "Add *value* (wrapping around on overflow)",
    "fetch_sub": "Subtract *value* (wrapping around on overflow)",
    "fetch_and": "Bitwise-and the value with *value*",
    "fetch_or": "Bitwise-or the value with *value*",
    "fetch_xor": "Bitwise-xor the value with *value*",
    "fetch_nand": "Replace the value with ``not (value and arg)`` (bitwise for ints)",
    "fetch_max": "Replace the value with the larger of it and *value*",
    "fetch_min": "Replace the value with the smaller of it and *value*",
}


def _fetch_op(cls: type, op: str, c_fn: Callable[..., Any], kind: str) -> Callable[..., Any]:
    def fetch(self, value, order=SEQ_CST):
        try:
            if order is SEQ_CST:  # the default skips the table: ~15 ns of ~110
                return c_fn(self._cell, value, _SEQ_CST)
            return c_fn(self._cell, value, RMW_ORDERS[order])
        except Exception as exc:
            if _is_index(value):
                return fetch(self, operator.index(value), order)
            raise _call_error(self, value, ((order, RMW_ORDERS),), exc) from None

    fetch.__doc__ = f"""{op}(value, order=Ordering.SEQ_CST) -> {kind}

        {_FETCH_DOCS[op]}, and return the previous value, in one atomic
        step.  *order* may be any Ordering.
        """
    return fetch


def _is_index(value: object) -> bool:
    """An int-like object that is not an int (numpy integers, for example).

    cffi converts only real ints; the slow path retries with
    ``operator.index(value)`` so that such objects work as in any other
    Python API taking an integer.
    """
    return not isinstance(value, int) and hasattr(type(value), "__index__")


def _as_int(value: object) -> object:
    return operator.index(value) if _is_index(value) else value


def _fits(cls: type, value: object) -> bool:
    """Whether *value* is acceptable to *cls* (to blame the right argument)."""
    probe = ffi.new(cls._CTYPE)
    try:
        getattr(lib, f"pc_atomic_{cls._NAME}_store")(probe, value, lib.PC_RELAXED)
    except Exception:
        return False
    return True


class AtomicInt(_Atomic):
    """AtomicInt(value=0)

    A signed 64-bit integer with atomic operations, Rust's ``AtomicI64``.
    Arithmetic wraps around in two's complement, as in C11 and Rust:
    ``AtomicInt(2**63 - 1).fetch_add(1)`` leaves ``-2**63``.  Arguments
    outside [-2**63, 2**63) raise OverflowError; non-integers TypeError.

    Every operation takes an ``order`` (default ``Ordering.SEQ_CST``);
    read-modify-write operations return the previous value.
    """

    __slots__ = ()
    _CTYPE = "pc_atomic_i64_t *"
    _NAME = "i64"
    _RANGE = "-2**63 <= value < 2**63"


class AtomicUInt(_Atomic):
    """AtomicUInt(value=0)

    An unsigned 64-bit integer with atomic operations, Rust's ``AtomicU64``.
    Arithmetic is modulo 2**64: ``AtomicUInt(0).fetch_sub(1)`` leaves
    ``2**64 - 1``.  Arguments outside [0, 2**64) raise OverflowError;
    non-integers TypeError.
    """

    __slots__ = ()
    _CTYPE = "pc_atomic_u64_t *"
    _NAME = "u64"
    _RANGE = "0 <= value < 2**64"


class AtomicBool(_Atomic):
    """AtomicBool(value=False)

    A boolean with atomic operations, Rust's ``AtomicBool``.  Values are
    bools (0 and 1 are accepted as False and True; other ints raise
    OverflowError, other types TypeError).  It occupies 8 bytes, like the
    integer types, so that from_buffer() layouts are uniform.
    """

    __slots__ = ()
    _CTYPE = "pc_atomic_bool_t *"
    _NAME = "bool"
    _RANGE = "False or True"

    def __init__(self, value: bool = False) -> None:
        super().__init__(value)


_INT_OPS = (
    "load", "store", "swap", "compare_exchange", "compare_exchange_weak",
    "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor",
    "fetch_nand", "fetch_max", "fetch_min",
)
_BOOL_OPS = (
    "load", "store", "swap", "compare_exchange", "compare_exchange_weak",
    "fetch_and", "fetch_or", "fetch_xor", "fetch_nand",
)
_define_operations(AtomicInt, "i64", _INT_OPS)
_define_operations(AtomicUInt, "u64", _INT_OPS)
_define_operations(AtomicBool, "bool", _BOOL_OPS)
