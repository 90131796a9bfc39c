"""Hostile fuzzing of every public class and function of pyconc and
pyconc.ipc, every C type of pyconc._core, and every function of
pyconc._core.lib (issue 11): wrong types, object(), huge and negative ints,
NaN, bools where ints are expected, wrong cdata, as arguments of every
method; every attribute assigned and deleted; __init__ run again with other
arguments; then the object used normally.  Python exceptions only: a crash
(or a hang) is a failure.

The targets are found by introspection (dir() of the modules, of
pyconc._core and of each instance), so types added later are covered
without editing this file; READY below only says how to make a usable
instance of the types whose constructors need arguments (others are tried
with no arguments).

Each target runs in a child process (this file run as a script), which
prints every operation before doing it: a segfault or abort shows up as a
failed test with the offending call as the last line of the output, and a
watchdog ends an operation that takes longer than WATCHDOG_S (printing every
thread's stack with faulthandler).  A new method that waits with no timeout
by default belongs in WAITS (else the watchdog reports it as a hang).

Length: the fuzzer and its tables of expectations per target (what may
wait, what is not called) must stay beside each other.
"""

from __future__ import annotations

import faulthandler
import inspect
import math
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Attributes that hold a raw address, a cffi pointer into memory the
#: object owns, or the buffer that keeps such memory alive.  Assigning or
#: deleting one can crash today's Python wrappers (issue 11: "no address
#: crosses into Python"; e.g. ``m = Mutex(0); m._addr = 8; m.lock()`` is a
#: segfault).  These, and only these, are expected to fail until the types
#: become C types; xfail(strict=False), so they turn green with no edit.
ADDRESS_ATTRS = {
    "_addr": "integer address of the C struct (Mutex, channels, broadcast)",
    "_cell": "cffi pointer to the atomic cell (atomics, ipc shared atomics)",
    "_lock": "cffi pointer to the pc_spin_t / pc_mutex_t / pc_rwlock_t / pc_rspin_t",
    "_cv": "cffi pointer to the pc_condvar_t (Condvar)",
    "_o": "cffi pointer to the pc_once_t (Once, OnceLock)",
    "_done": "cffi pointer to the pc_once_t of a JoinHandle",
    "_end": "cffi pc_shring_end_t *, pointing into the ipc mapping",
    "_ring": "cffi pointer to the pc_shring_t in the ipc mapping",
    "_keep": "the mapping that _cell points into (ipc shared atomics)",
}

# ------------------------------------------------------------ the values


def hostile_values():
    """Wrong types and out-of-range values (a fresh list: some are mutable)."""
    from pyconc._core import ffi

    return [
        None, True, False, object(), "x", "", b"\x00", 1.5, -0.0,
        math.nan, math.inf, -math.inf,
        -1, -(2**31), 2**31, 2**32, -(2**63) - 1, 2**63 - 1, 2**63, 2**64, 2**100, -(2**100),
        [], {}, (1, 2), type, ffi.new("double *"), ffi.NULL, ffi.new("char[]", 3),
    ]


#: Values left out for a target because it accepts them as a valid request
#: for a lot of memory (not hostile, only slow).
TOO_BIG = {
    "pyconc.ipc.channel": (2**31, 2**32),  # up to 4 GiB of /dev/shm is allowed
}


def arg_lists(rng: random.Random, n_random: int = 12, qual: str = ""):
    """No arguments, each value alone, and random pairs and triples."""
    skip = TOO_BIG.get(qual, ())
    vals = [v for v in hostile_values()
            if not (type(v) is int and v in skip)]
    out = [()]
    out += [(v,) for v in vals]
    for _ in range(n_random):
        out.append(tuple(rng.choice(vals) for _ in range(rng.choice((2, 3)))))
    return out


def kwarg_dicts(rng: random.Random):
    vals = hostile_values()
    out = []
    for key in ("timeout", "blocking", "order", "value", "n", "bogus"):
        for v in rng.sample(vals, 4):
            out.append({key: v})
    return out


# --------------------------------------------------- making usable objects


def _joined():
    import pyconc

    h = pyconc.spawn(lambda: 1)
    h.join(timeout=10)
    return h


def _pair(factory, kind):
    """A maker of one end of a fresh (sender, receiver) pair with one value
    queued; the other end stays alive on the maker."""
    def make():
        tx, rx = factory()
        tx.send(1)
        make.keep = (tx, rx)
        return tx if kind == "tx" else rx
    return make


def _chan():
    return __import__("pyconc").channel()


def _bcast():
    return __import__("pyconc").broadcast(4)


def _ipc_chan():
    return __import__("pyconc.ipc").ipc.channel(4096)


def _guard(lock, how):
    def make():
        import pyconc

        owner = getattr(pyconc, lock)([1])
        g = getattr(owner, how)()
        make.keep = owner
        return g
    return make


def _scope():
    import pyconc

    return pyconc.scope()


#: How to make a usable instance, in a state where no blocking call waits
#: (locks free, a value queued, threads finished).  Keyed by qualified
#: name; a class not listed is made with no arguments, when it can be.
READY = {
    "pyconc.AtomicInt": lambda: __import__("pyconc").AtomicInt(5),
    "pyconc.AtomicUInt": lambda: __import__("pyconc").AtomicUInt(5),
    "pyconc.Mutex": lambda: __import__("pyconc").Mutex([1]),
    "pyconc.RwLock": lambda: __import__("pyconc").RwLock([1]),
    "pyconc.Barrier": lambda: __import__("pyconc").Barrier(1),
    "pyconc.Semaphore": lambda: __import__("pyconc").Semaphore(5),
    "pyconc.AtomicRef": lambda: __import__("pyconc").AtomicRef([1]),
    "pyconc.JoinHandle": _joined,
    "pyconc.Sender": _pair(_chan, "tx"),
    "pyconc.Receiver": _pair(_chan, "rx"),
    "pyconc.broadcast.BroadcastSender": _pair(_bcast, "tx"),
    "pyconc.broadcast.BroadcastReceiver": _pair(_bcast, "rx"),
    "pyconc.ipc.Sender": _pair(_ipc_chan, "tx"),
    "pyconc.ipc.Receiver": _pair(_ipc_chan, "rx"),
    "pyconc.MutexGuard": _guard("Mutex", "lock"),
    "pyconc.sync.RwLockReadGuard": _guard("RwLock", "read"),
    "pyconc.sync.RwLockWriteGuard": _guard("RwLock", "write"),
    "pyconc.thread.Scope": _scope,
    "pyconc.Full": lambda: __import__("pyconc").Full(1),
    "pyconc.SendError": lambda: __import__("pyconc").SendError(1),
    "pyconc.PoisonError": lambda: __import__("pyconc").PoisonError(1),
    "pyconc.Lagged": lambda: __import__("pyconc").Lagged(1),
    "pyconc.ipc.ReceiverGone": lambda: __import__("pyconc.ipc").ipc.ReceiverGone(1),
}

#: Calls that would wait for ever, or for as long as a hostile timeout
#: says, on a ready object whatever its arguments: the calls made with no
#: timeout by design.  (Each is still called with hostile arguments of the
#: wrong type; only the argument lists that could be accepted are left out.)
WAITS = {"wait", "wait_while", "recv", "recv_many", "acquire", "lock", "read", "write",
         "join", "send", "get_or_init", "call_once", "call_once_force", "into_inner",
         "__enter__", "send_timeout", "recv_bytes", "send_bytes", "wait_timeout",
         "wait_timeout_while", "__next__", "park", "acquire_many", "wait_force",
         "get_or_try_init", "wait_closed"}

#: Never called on an instance: Python's machinery, not the object's API.
NOT_CALLED = {"__class__", "__del__", "__delattr__", "__setattr__", "__getattribute__",
              "__getattr__", "__init_subclass__", "__subclasshook__", "__new__",
              "__dir__", "__class_getitem__", "__sizeof__", "__weakref__", "__dict__",
              "__doc__", "__module__", "__slots__", "__orig_bases__", "__parameters__",
              "__annotations__", "__abstractmethods__", "_abc_impl", "__hash__",
              "__format__", "__reduce_ex__", "__reduce__", "__getstate__"}

#: Non-blocking calls, with no arguments, that "use the object normally".
USE = ["load", "locked", "is_poisoned", "try_lock", "try_read", "try_write", "try_recv",
       "try_acquire", "is_completed", "get", "receiver_count", "is_finished", "__len__",
       "__repr__", "__bool__", "__int__", "__index__", "clear_poison", "name", "owner",
       "closed", "value", "n", "skipped"]
#: And with arguments that must work on a ready object.
USE_ARGS = [("fetch_add", (1,)), ("store", (3,)), ("compare_exchange", (3, 4)),
            ("acquire", (), {"timeout": 0}), ("release", ()), ("lock", (0.0,)),
            ("try_send", (2,)), ("recv", (), {"timeout": 0}), ("join", (), {"timeout": 0}),
            ("notify_all", ()), ("wait", (), {"timeout": 0})]


def use(obj) -> None:
    """Use *obj* as a program would, without waiting: any Python exception
    is fine (the object may have been made unusable), a crash is not."""
    for name in USE:
        try:
            attr = getattr(obj, name)
            if callable(attr):
                attr()
        except Exception:
            pass
    for name, args, *kw in USE_ARGS:
        try:
            attr = getattr(obj, name)
            if callable(attr):
                out = attr(*args, **(kw[0] if kw else {}))
                _release(out)
        except Exception:
            pass
    try:
        with obj:
            pass
    except Exception:
        pass
    try:
        str(obj)
    except Exception:
        pass


def _release(out) -> None:
    """Give back a guard or lock a call may have returned; close a coroutine."""
    if inspect.iscoroutine(out):
        out.close()
        return
    ex = getattr(out, "__exit__", None)
    if ex is not None and not isinstance(out, type):
        try:
            ex(None, None, None)
        except Exception:
            pass


def _maybe_accepted(args, kwargs) -> bool:
    """Could a waiting call accept these arguments (and then wait)?  Any
    number, None or bool might be a timeout or a flag; everything else is
    a wrong type for every parameter of a waiting call."""
    for v in list(args) + list(kwargs.values()):
        if v is None or isinstance(v, (bool, int, float)):
            return True
    return not args and not kwargs


# ------------------------------------------------------------ the targets


def _public():
    """(qualified name, object) of every public class and function."""
    import pyconc
    import pyconc.ipc
    import pyconc._core as core

    seen, out = set(), []

    def add(qual, obj):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((qual, obj))

    for mod in (pyconc, pyconc.ipc):
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("pyconc"):
                continue  # typing.Any, os, mmap ... imported by the module
            add(f"{mod.__name__}.{name}", obj)
    # Helpers that pyconc.ipc's namespace carried when it was one module
    # (its imports): fuzzed as before, under their own modules' names.
    from pyconc._buffer import cell_in_buffer
    from pyconc._closing import Closing
    from pyconc._generic import subscriptable

    for obj in (Closing, cell_in_buffer, subscriptable):
        add(f"{obj.__module__}.{obj.__qualname__}", obj)
    # Every C type of the compiled module (as re-exported or not).
    for name in sorted(dir(core)):
        obj = getattr(core, name)
        if inspect.isclass(obj):
            add(_qual(obj), obj)
    # Types reached only through a factory (handles, guards).
    for qual, make in READY.items():
        try:
            obj = type(make())
        except Exception:
            continue
        add(_qual(obj), obj)
    _drop_kept()
    return out


def _drop_kept():
    """Let go of the other ends the makers keep (ipc segments among them)."""
    import gc

    for make in READY.values():
        vars(make).pop("keep", None)
    gc.collect()


def _qual(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_PUBLIC: list = []


def _public_cached():
    if not _PUBLIC:
        _PUBLIC.extend(_public())
    return _PUBLIC


def targets():
    return [q for q, _ in _public_cached()]


def _lookup(qual):
    for q, obj in _public_cached():
        if q == qual:
            return obj
    raise KeyError(qual)


def _maker(qual, obj):
    """A zero-argument callable making a ready instance of class *obj*, or None."""
    for key in (qual, f"{obj.__module__}.{obj.__qualname__}",
                f"pyconc.{obj.__qualname__}"):
        if key in READY:
            make = READY[key]
            try:
                if type(make()) is obj:
                    return make
            except Exception:
                pass
    try:
        obj()
        return obj
    except Exception:
        return None


# -------------------------------------------------------------- the driver


#: A single operation taking longer than this is a hang (the child dumps
#: its stack and exits with an error).
WATCHDOG_S = 5


class Driver:
    """Runs in the child: prints each operation, then does it."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.ops = 0
        self.out = sys.stdout
        self.since = time.monotonic()
        threading.Thread(target=self._watchdog, daemon=True).start()

    def _watchdog(self) -> None:
        while True:
            time.sleep(0.5)
            if time.monotonic() - self.since > WATCHDOG_S:
                self.out.write(f"HANG: the last operation took over {WATCHDOG_S} s\n")
                self.out.flush()
                faulthandler.dump_traceback(all_threads=True)
                os._exit(3)

    def step(self, what: str) -> None:
        self.ops += 1
        self.out.write(what + "\n")
        self.out.flush()
        self.since = time.monotonic()

    def call(self, label, fn, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.step(f"CALL {label}(*{_short(args)}, **{_short(kwargs)})")
        try:
            out = fn(*args, **kwargs)
        except Exception:
            return None
        _release(out)
        return out

    # one target

    def run_calls(self, qual: str) -> None:
        obj = _lookup(qual)
        if not inspect.isclass(obj):
            self.fuzz_function(qual, obj)
            return
        self.fuzz_constructor(qual, obj)
        make = _maker(qual, obj)
        if make is None:
            self.step(f"NOTE {qual}: no ready instance, constructor fuzzed only")
            return
        inst = make()
        for name in sorted(dir(inst)):
            if name in NOT_CALLED or (name.startswith("_") and not name.startswith("__")):
                continue  # machinery, or private helpers (not API)
            try:
                attr = getattr(inst, name)
            except Exception:
                continue
            if not callable(attr) or inspect.isclass(attr):
                continue
            self.fuzz_method(qual, make, name)

    def fuzz_function(self, qual, fn):
        name = qual.rsplit(".", 1)[1]
        for args in arg_lists(self.rng, qual=qual):
            if name in ("spawn", "scope") and args and callable(args[0]):
                continue
            if name in WAITS and _maybe_accepted(args, {}):
                continue
            self.call(qual, fn, args)
        for kw in kwarg_dicts(self.rng):
            self.call(qual, fn, (), kw)

    def fuzz_constructor(self, qual, cls):
        for args in arg_lists(self.rng, qual=qual):
            obj = self.call(qual, cls, args)
            if obj is not None and not isinstance(obj, BaseException):
                self.step(f"USE {qual}(*{_short(args)})")
                use(obj)
        for kw in kwarg_dicts(self.rng):
            self.call(qual, cls, (), kw)

    def fuzz_method(self, qual, make, name):
        lists = [(a, {}) for a in arg_lists(self.rng)] + [((), k) for k in kwarg_dicts(self.rng)]
        for args, kwargs in lists:
            if name in WAITS and _maybe_accepted(args, kwargs):
                continue
            inst = make()
            self.call(f"{qual}.{name}", getattr(inst, name), args, kwargs)
            self.step(f"USE after {qual}.{name}")
            use(inst)

    def run_attrs(self, qual: str, only: str | None = None) -> None:
        """Assign and delete every attribute (or only *only*), then use."""
        obj = _lookup(qual)
        make = _maker(qual, obj) if inspect.isclass(obj) else None
        if make is None:
            self.step(f"NOTE {qual}: no instance, no attributes to fuzz")
            return
        names = [only] if only else [n for n in dir(make()) if n not in ADDRESS_ATTRS]
        for name in sorted(names):
            for value in hostile_values() + [8]:
                inst = make()
                self.step(f"SETATTR {qual}.{name} = {_short(value)}")
                try:
                    setattr(inst, name, value)
                except Exception:
                    pass
                self.step(f"USE after setattr {qual}.{name}")
                use(inst)
            inst = make()
            self.step(f"DELATTR {qual}.{name}")
            try:
                delattr(inst, name)
            except Exception:
                pass
            self.step(f"USE after delattr {qual}.{name}")
            use(inst)
        # __init__ again, with other arguments, on a live object.
        for args in arg_lists(self.rng):
            inst = make()
            held = None
            try:  # with a guard alive where there is one (issue 12's use after free)
                held = inst.try_lock() if hasattr(inst, "try_lock") else None
            except Exception:
                held = None
            self.call(f"{qual}.__init__", inst.__init__, args)
            self.step(f"USE after {qual}.__init__")
            use(inst)
            if held is not None:
                _release(held)
                use(inst)

    def run_lib(self) -> None:
        """Every pyconc._core.lib function with arguments cffi must refuse."""
        from pyconc._core import ffi, lib

        for name in sorted(dir(lib)):
            fn = getattr(lib, name)
            if not callable(fn):
                continue
            ct = ffi.typeof(fn)
            if ct.kind != "function":
                continue
            params = list(ct.args)
            # Wrong argument counts: cffi checks them first.
            for n in {0, len(params) + 1, max(len(params) - 1, 0)} - {len(params)}:
                self.refused_call(name, fn, tuple(object() for _ in range(n)))
            if not params:
                continue
            # Every argument refused by cffi's conversion, so that the C
            # function itself never runs (no pointer is valid-looking).
            bad = [refused(ffi, p) for p in params]
            for i in range(len(params)):
                for v in bad[i]:
                    args = [self.rng.choice(b) for b in bad]
                    args[i] = v
                    self.refused_call(name, fn, tuple(args))

    def refused_call(self, name, fn, args):
        self.step(f"CALL lib.{name}(*{_short(args)})")
        try:
            fn(*args)
        except (TypeError, OverflowError, ValueError):
            return
        raise AssertionError(f"cffi accepted lib.{name}{_short(args)}: the C function ran")


#: Pointer parameters that the C function documents as accepting NULL.  None
#: does; so NULL (and None, which cffi turns into NULL) is never passed.
NULL_OK: dict[str, set[int]] = {}


def refused(ffi, ctype):
    """Values that cffi refuses to convert to *ctype*."""
    # Never a list or tuple for a pointer: cffi turns one into a temporary
    # array (of 0 items for []), a valid-looking pointer to too little memory.
    common = [object(), "x", {}, 1.5 if ctype.kind == "pointer" else object(),
              ffi.new("double *")]
    if ctype.kind == "pointer":
        out = common + [1, 2**70, b"x" if ctype.item.cname != "char" else object(),
                        ffi.new("short[2]")]
        if ctype.item.kind == "void" or ctype.cname == "double *":
            out = [v for v in out if not isinstance(v, ffi.CData)]  # void * takes any
        return out
    if ctype.kind == "primitive":
        if ctype.cname == "_Bool":
            return common + [2, -1, math.nan, None]
        if ctype.cname in ("float", "double"):
            return [object(), "x", None, [], ffi.new("double *")]
        size = ffi.sizeof(ctype)
        signed = ffi.cast(ctype, -1) < 0
        lo, hi = (-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1) if signed else (0, 2 ** (8 * size) - 1)
        return common + [None, math.nan, 1.5, lo - 1, hi + 1, 2**100]
    return common + [None, 1]


def _short(v) -> str:
    r = repr(v)
    return r if len(r) < 80 else r[:77] + "..."


def child_main(argv) -> int:
    phase, qual = argv[0], argv[1]
    only = argv[2] if len(argv) > 2 else None
    d = Driver(seed=zlib.crc32(qual.encode()))
    threading.excepthook = lambda args: None  # spawned hostile callables
    if phase in ("calls", "all"):
        d.run_calls(qual)
    if phase == "all":
        d.run_attrs(qual)
    elif phase == "attrs":
        d.run_attrs(qual, only)
    elif phase == "lib":
        d.run_lib()
    _drop_kept()
    print(f"DONE {d.ops} operations")
    return 0


if __name__ == "__main__":  # the child: before pytest is imported (0.3 s a child)
    sys.path.insert(0, str(HERE))
    sys.exit(child_main(sys.argv[1:]))

# ------------------------------------------------------------ the tests

import pytest  # noqa: E402

pytestmark = pytest.mark.fuzz  # the kind of test (tests/README.md)


def _run(*argv, timeout=600):
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONFAULTHANDLER="1")
    r = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=str(HERE))
    tail = "\n".join(r.stdout.splitlines()[-3:])
    assert r.returncode == 0 and "DONE" in r.stdout, (
        f"child died with {r.returncode} after:\n{tail}\n--- stderr:\n{r.stderr[-3000:]}")
    return r.stdout.splitlines()[-1]


ALL = targets()


@pytest.mark.parametrize("qual", ALL)
def test_hostile(qual):
    """Constructor and every public method with hostile arguments; every
    attribute but the ADDRESS_ATTRS assigned and deleted; __init__ run
    again (with a lock held where there is one); the object used after
    each.  One child per target."""
    _run("all", qual)


def _address_attrs():
    out = []
    for qual, obj in _public_cached():
        make = _maker(qual, obj) if inspect.isclass(obj) else None
        if make is None:
            continue
        for name in sorted(set(dir(make())) & set(ADDRESS_ATTRS)):
            # Issue 11 removed every one of these; one that comes back must
            # be as safe to assign as any other attribute (no xfail).
            out.append(pytest.param(qual, name, id=f"{qual}.{name}"))
    return out or [pytest.param(None, None, id="none-left")]


@pytest.mark.parametrize("qual,name", _address_attrs())
def test_hostile_address_attribute(qual, name):
    """The attributes of ADDRESS_ATTRS, one child each (the issue-11 crashes:
    none of these attributes exists any more)."""
    if qual is None:
        return  # no type exposes an address any more
    _run("attrs", qual, name)


def test_core_lib_functions_refuse_wrong_types():
    """Every function of pyconc._core.lib, with arguments cffi must refuse."""
    _run("lib", "pyconc._core.lib")


def test_targets_cover_every_core_type():
    import pyconc._core as core

    quals = set(ALL)
    for name in dir(core):
        obj = getattr(core, name)
        if inspect.isclass(obj):
            assert any(_lookup(q) is obj for q in quals), name

