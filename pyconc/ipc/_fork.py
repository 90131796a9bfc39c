"""The process registry: what a fork does to this process's segments and
channel ends, and what its exit closes (see the package's docstring,
"Fork children").  Importing this module registers the hooks."""

from __future__ import annotations

import atexit
import functools
import mmap
import os
import sys
import types
from multiprocessing import util
from typing import List, Optional, Set

from pyconc import _procs
from pyconc.ipc._receiver import Receiver, _receivers
from pyconc.ipc._segment import _created, _Segment, _segments, _unlink
from pyconc.ipc._sender import Sender, _senders

_fork_pid = [0]


def _before_fork() -> None:
    _fork_pid[0] = _procs.pid
    _fork_passed[0] = None
    try:
        proc = _process_being_forked()
        passed = None if proc is None else _handles_reachable(proc)
    except Exception:  # pragma: no cover - never fail a fork for it: keep all
        proc, passed = None, None
    _fork_passed[0] = passed
    # References for the child's copies, taken before the child exists so
    # that no count can reach zero in between; the child moves them to its
    # own entries.
    for seg in list(_segments):
        seg.handle.users_add(_procs.pid, 1)
    for tx in list(_senders):
        if tx._seg is not None and tx._slot >= 0 and tx._kept_by_child(passed):
            tx._c.handles_add(tx._slot, tx._pid, 1)
    if proc is not None and passed:
        for rx in list(_receivers):
            if id(rx) in passed and rx._seg is not None:
                rx._lent_to(proc)


def _after_fork_child() -> None:
    old = _fork_pid[0]
    _created.clear()  # the child created none of them
    for seg in list(_segments):
        seg.handle.users_add(_procs.pid, 1)
        seg.handle.users_add(old, -1)
    passed = _fork_passed[0]
    for tx in list(_senders):
        if tx._seg is None:
            continue
        if tx._kept_by_child(passed):
            tx._fork_child(old)
        else:
            tx._make_dormant()
    for rx in list(_receivers):
        rx._lent = []
        rx._live = False  # the first receive here takes the receiving side


def _at_exit() -> None:
    """Close what this process holds; unlink what it created."""
    pid = os.getpid()
    for rx in list(_receivers):
        if rx._seg is not None and not rx._moved and rx._pid == pid:
            if rx._c.receiver() == pid:
                rx._c.close_receiver()
        rx._drop()
    for tx in list(_senders):
        tx.close()
    for seg in list(_segments):
        seg.refs = 1
        seg.release()
    for name, creator in list(_created.items()):
        if creator == pid:
            _unlink(name)


def _handles_reachable(root: object, limit: int = 100000) -> Optional[Set[int]]:
    """The ids of the Senders and Receivers reachable from *root* (a
    multiprocessing Process) the way pickling would reach them: through
    tuples, lists, sets, dicts, functools.partial, bound methods and the
    attributes of objects.  None if more than *limit* objects would have
    to be looked at (the child then keeps every Sender, as a bare fork
    does, rather than miss one it was passed)."""
    found: Set[int] = set()
    seen: Set[int] = set()
    stack: List[object] = [root]
    leaves = (str, bytes, bytearray, int, float, complex, type(None), type,
              types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
              types.CodeType, mmap.mmap, memoryview, _Segment)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (Sender, Receiver)):
            found.add(id(obj))
            continue
        if isinstance(obj, leaves):
            continue
        try:
            if isinstance(obj, (tuple, list, set, frozenset)):
                stack.extend(obj)
            elif isinstance(obj, dict):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif isinstance(obj, functools.partial):
                stack.extend((obj.func, obj.args, obj.keywords))
            elif isinstance(obj, types.MethodType):
                stack.append(obj.__self__)
            else:
                d = getattr(obj, "__dict__", None)
                if isinstance(d, dict):
                    stack.extend(d.values())
                for klass in type(obj).__mro__:
                    slots = klass.__dict__.get("__slots__", ())
                    for name in (slots,) if isinstance(slots, str) else slots:
                        if name not in ("__dict__", "__weakref__"):
                            value = getattr(obj, name, None)
                            if value is not None:
                                stack.append(value)
        except Exception:  # an object that will not be looked into: skip it
            continue
    if stack:
        return None  # the limit was reached
    return found


def _process_being_forked() -> Optional[object]:
    """In a fork hook: the multiprocessing Process whose start() is forking
    this process (found in the frame of multiprocessing's fork Popen that
    called os.fork()), or None for a bare os.fork()."""
    try:
        f = sys._getframe(2)
    except ValueError:  # pragma: no cover - no caller
        return None
    for _ in range(4):
        if f is None:
            break
        code = f.f_code
        if code.co_name == "_launch" and f.f_globals.get("__name__") == "multiprocessing.popen_fork":
            return f.f_locals.get("process_obj")
        f = f.f_back
    return None


#: Set in _before_fork: the ids of the handles the Process being started
#: is passed (None: a bare os.fork(), every Sender is inherited).
_fork_passed: List[Optional[Set[int]]] = [None]


class _ExitHook:
    """Keeps _at_exit registered with multiprocessing in fork children
    (whose finalizer registry is cleared when they start)."""

    def __call__(self, _obj: object) -> None:
        util.Finalize(None, _at_exit, exitpriority=100)


_exit_hook = _ExitHook()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)
atexit.register(_at_exit)  # the main process, and spawn children
util.Finalize(None, _at_exit, exitpriority=100)  # multiprocessing children
util.register_after_fork(_exit_hook, _exit_hook)
