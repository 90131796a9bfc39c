"""The build keeps the GIL for non-blocking calls and releases it for blocking ones.

Length: one structural argument (which C functions may release the
GIL) over every C type, found at run time; its parts are read together.
"""

import os
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from pyconc._native import lib

ROOT = Path(__file__).resolve().parent.parent
free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


@pytest.mark.skipif(free_threaded, reason="no GIL to hold on a free-threaded build")
def test_fast_calls_hold_the_gil():
    assert lib.pc_gil_probe_fast() == 1


@pytest.mark.skipif(free_threaded, reason="no GIL to hold on a free-threaded build")
def test_blocking_calls_release_the_gil():
    assert lib.pc_gil_probe_blocking() == 0


def test_a_blocking_wait_lets_other_threads_run():
    # A thread parked in C on a held SpinLock must not stop this thread.
    from pyconc import SpinLock

    lock = SpinLock()
    lock.acquire()
    waiter = threading.Thread(target=lambda: lock.acquire(timeout=1.0))
    waiter.start()
    time.sleep(0.01)
    progress = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.1:
        progress += 1
    lock.release()
    waiter.join()
    assert progress > 1000


build_py = ROOT / "ffibuild" / "build.py"


def load_build():
    """build.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_pyconc_build_test", build_py)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (ffibuild/build.py)")
def test_generated_wrappers_follow_the_declarations(tmp_path):
    """Every *_fast.h wrapper keeps the GIL, every *_blocking.h one releases it."""
    import re

    build = load_build()
    c_file = tmp_path / "_core.c"
    build.ffibuilder.emit_c_code(str(c_file))
    source = build.hand_over_gil(
        build.keep_gil(c_file.read_text(), build.KEEP_GIL), build.RELEASE_GIL
    )

    def wrapper(name):
        m = re.search(
            r"^_cffi_f_%s\(PyObject \*self, PyObject \*\w+\)\n\{\n(.*?)\n\}\n" % name,
            source,
            re.S | re.M,
        )
        assert m, name
        return m.group(1)

    assert build.KEEP_GIL and build.RELEASE_GIL
    assert "pc_atomic_i64_fetch_add" in build.KEEP_GIL
    assert "pc_spin_lock_timed" in build.RELEASE_GIL
    handoff = ("pc_handoff_gil_released", "pc_handoff_gil_reacquire", "pc_handoff_gil_taken")
    for name in build.KEEP_GIL:
        body = wrapper(name)
        assert "Py_BEGIN_ALLOW_THREADS" not in body, name
        assert not any(h in body for h in handoff), name
    for name in build.RELEASE_GIL:
        body = wrapper(name)
        # Released, marked free; spin until likely free, retaken, marked held.
        order = [body.find(s) for s in ("Py_BEGIN_ALLOW_THREADS", handoff[0], name + "(",
                                        handoff[1], "Py_END_ALLOW_THREADS", handoff[2])]
        assert -1 not in order and order == sorted(order), (name, order)
    assert "Py_MOD_GIL_NOT_USED" in source


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (ffibuild/build.py)")
def test_keep_gil_refuses_an_unknown_shape():
    build = load_build()
    with pytest.raises(build.BuildError):
        build.keep_gil("static PyObject *\n_cffi_f_x(void)\n{\n}\n", frozenset({"x"}))


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (ffibuild/build.py)")
def test_hand_over_gil_refuses_an_unknown_shape():
    build = load_build()
    with pytest.raises(build.BuildError):
        build.hand_over_gil(
            "static PyObject *\n_cffi_f_x(PyObject *self, PyObject *noarg)\n{\n  x();\n}\n",
            frozenset({"x"}),
        )


def test_hand_off_follows_the_gil():
    """Spin windows and the GIL hint are on exactly when there is a GIL."""
    from pyconc._native import gil_enabled

    assert lib.pc_handoff_enabled() == gil_enabled()
    if not free_threaded:
        assert gil_enabled()
    # The C side asks sysconf (GetActiveProcessorCount on Windows).
    cpus = os.sysconf("SC_NPROCESSORS_ONLN") if hasattr(os, "sysconf") else os.cpu_count() or 1
    assert lib.pc_handoff_max_spinners() == min(max(cpus - 1, 0), 4)


def test_import_without_core_fails_loudly(tmp_path):
    """With the compiled module missing, importing pyconc is a clear ImportError."""
    import shutil
    import subprocess

    import pyconc

    pkg = Path(pyconc.__file__).parent
    copy = tmp_path / "pyconc"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("_core*", "__pycache__"))
    r = subprocess.run(
        # -S: no site-packages, so an editable install cannot redirect the import
        [sys.executable, "-S", "-c", "import pyconc"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "compiled core" in r.stderr


# ---------------------------------------------------------------------------
# The C types of csrc/pyglue/: structural checks over their sources.
#
# A C method holds the GIL unless its code (or a function it calls) gives it
# up, so the rule "fast paths hold the GIL, waits release it" is a property
# of the source: csrc/pyglue/ releases the GIL only through pc_py.h
# (PC_PY_WITHOUT_GIL, used by pc_py_wait, the one wait helper), every call
# of a waiting core function (a *_blocking.h one) happens with the GIL
# released, and no non-blocking method of any C type reaches a release.
# The C types are found at run time (pyconc._core and the C bases of the
# public classes) and matched to their definitions by tp_name, so types
# added later are covered without editing this file.

import inspect
import re

PYGLUE = ROOT / "csrc" / "pyglue"

#: Direct releases of the GIL outside pc_py.h, each with its reason.  A
#: release not listed here fails test_pyglue_releases_the_gil_only_through_pc_py.
#: (An entry whose function no longer exists is simply unused.)
ALLOWED_RELEASES = {
    ("pc_chan_py.h", "pc_chan_py_yield_gil"):
        "not a wait: send_many hands the GIL, for a moment, to a thread on its way "
        "back from a pyconc wait (pc_handoff_gil_passed)",
    ("pc_chan_py.h", "pc_chan_py_wait_room"):
        "send_many's slice of waiting for room, written before pc_py_wait existed "
        "(issue 11 moves it to pc_py_wait)",
}

_RELEASE_TOKENS = ("Py_BEGIN_ALLOW_THREADS", "Py_UNBLOCK_THREADS", "PyEval_SaveThread",
                   "PyEval_ReleaseThread", "PyEval_ReleaseLock", "PyGILState_Release")
#: Calls that give up the GIL (pc_py.h's helpers), for the call graph.
_RELEASERS = set(_RELEASE_TOKENS) | {"PC_PY_WITHOUT_GIL", "pc_py_wait"}
_HANDOFF = ("pc_handoff_gil_released", "pc_handoff_gil_reacquire", "pc_handoff_gil_taken")

#: Methods that may wait (their docstrings say so); any other method that
#: reaches a GIL release fails.  Private methods (_x) are helpers of Python
#: slow paths and may wait too; none whose name says "try" may.
WAITING_METHODS = {
    "acquire", "lock", "read", "write", "wait", "wait_while", "wait_timeout",
    "wait_timeout_while", "recv", "recv_many", "recv_bytes", "send", "send_many",
    "send_bytes", "send_timeout", "join", "get_or_init", "call_once", "call_once_force",
    "into_inner", "set", "replace", "get_cloned", "park", "acquire_many", "wait_force",
    "get_or_try_init", "__enter__",
    "__next__", "__iter__",
    "tp_iternext", "wait_recv",
    "select",  # pyconc.select and Select.select (issue 13)
}


#: Methods a C type may have in Python, and why: coroutines and generators,
#: which a C method could only be by writing the frame machinery by hand.
#: Each waits, when it must, without a thread: through its event loop
#: (pyconc/_async.py).  The channels' recv_async, send_async and __anext__
#: are C (csrc/pyglue/pc_async_py.h); broadcast's are still Python.
PYTHON_METHODS = {"recv_async", "__aiter__", "__anext__", "try_iter"}


#: try-methods that may release the GIL, and why.
TRY_THAT_HANDS_OVER = {
    # sync_channel(0): the value can only pass to a receiver already
    # waiting, which needs the GIL to take it; the wait is one slice at
    # most, and only when a receiver is there.
    ("pyconc.channel.Sender", "try_send"),
}

#: Non-try methods that may release the GIL for a moment, and why.
BRIEF_WAITS = {
    # Broadcast receivers join and leave under the senders' lock (so that
    # a value is released as soon as no receiver can read it, issue 14);
    # a sender holds it for one slot's store, but may hold it while it
    # waits for the GIL, so the lock is waited for as every lock is.
    ("pyconc.broadcast.BroadcastReceiver", "close"),
    ("pyconc.broadcast.BroadcastReceiver", "__exit__"),
    ("pyconc.broadcast.BroadcastReceiver", "resubscribe"),
    ("pyconc.broadcast.BroadcastSender", "subscribe"),
    # ... and a receiver dropped leaves the same way (not interruptibly:
    # as io's file objects, a dealloc may release the GIL to finish).
    ("pyconc.broadcast.BroadcastReceiver", "tp_dealloc"),
}


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: " " * len(m.group(0)), text, flags=re.S)


def _blank_strings(text):
    return re.sub(r'"(?:\\.|[^"\\])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)


class _Glue:
    """Functions, tables and type definitions of csrc/pyglue/*.h, read with
    regular expressions (enough for this code base's one style)."""

    # A definition: at the start of a line, the return type (or nothing, when
    # it is on the line before), the name, the parameters, the brace.
    FUNC = re.compile(r"^(?:[A-Za-z_][\w \t\*]*?[ \t\*])?([A-Za-z_]\w*)\s*"
                      r"\(((?:[^;{}()]|\([^()]*\))*)\)\s*\{", re.M)

    def __init__(self, paths):
        self.files = {}  # name -> (text without comments, same with strings blanked)
        self.funcs = {}  # function -> (file, start, end) in the blanked text
        for p in paths:
            raw = _strip_comments(p.read_text())
            code = _blank_strings(raw)
            self.files[p.name] = (raw, code)
            for m in self.FUNC.finditer(code):
                open_ = m.end() - 1
                self.funcs[m.group(1)] = (p.name, open_, self._match(code, open_))

    @staticmethod
    def _match(code, i):
        depth = 0
        for j in range(i, len(code)):
            if code[j] == "{":
                depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0:
                    return j
        raise AssertionError("unbalanced braces")

    def body(self, fn):
        file, a, b = self.funcs[fn]
        return self.files[file][1][a:b]

    def calls(self, fn):
        body = self.body(fn)
        out = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", body))
        out |= {t for t in _RELEASE_TOKENS if t in body}
        return out

    def enclosing(self, file, pos):
        for fn, (f, a, b) in self.funcs.items():
            if f == file and a <= pos <= b:
                return fn
        return None

    def releases(self, fn, _seen=None):
        """Does fn, or anything it calls in pyglue, give up the GIL?"""
        seen = _seen if _seen is not None else set()
        if fn in seen:
            return False
        seen.add(fn)
        if fn not in self.funcs:
            return False
        called = self.calls(fn)
        if called & _RELEASERS:
            return True
        return any(self.releases(c, seen) for c in called if c in self.funcs)

    # tables

    def _init_block(self, file, kind, name):
        """The text of `kind name[] = { ... };` or `kind name = { ... };`."""
        raw, code = self.files[file]
        m = re.search(r"\b%s\s+%s\s*(\[\s*\])?\s*=\s*\{" % (kind, re.escape(name)), code)
        if not m:
            return None
        end = self._match(code, m.end() - 1)
        return raw[m.end():end]

    def find_table(self, kind, name):
        for file in self.files:
            block = self._init_block(file, kind, name)
            if block is not None:
                return self._expand(block)
        return None

    def _expand(self, block):
        """A table's text with the glue's object-like macros (a shared list
        of methods or slots, e.g. PC_ASYNC_PY_CORO_SLOTS) replaced by their
        bodies, so that what they list is read as well."""
        if not hasattr(self, "_macros"):
            self._macros = {}
            for raw, _ in self.files.values():
                for m in re.finditer(r"^#define\s+([A-Z_][A-Z0-9_]*)[ \t]+((?:.*\\\n)*.*)$",
                                     raw, re.M):
                    self._macros[m.group(1)] = m.group(2).replace("\\\n", "\n")
        for _ in range(3):  # nested at most this deep
            block = re.sub(r"\b([A-Z_][A-Z0-9_]*)\b",
                           lambda m: self._macros.get(m.group(1), m.group(1))
                           if "{" in self._macros.get(m.group(1), "") else m.group(1),
                           block)
        return block

    def types(self):
        """tp_name -> {python name: C function} for every type defined."""
        out = {}
        for file, (raw, code) in self.files.items():
            # PyType_Spec: {"name", size, itemsize, flags, slots} or designated.
            for m in re.finditer(r"\bPyType_Spec\s+(\w+)\s*=\s*\{", code):
                block = raw[m.end():self._match(code, m.end() - 1)]
                tp_name = re.search(r'"([^"]+)"', block)
                slots = re.search(r"\.slots\s*=\s*(\w+)", block) or re.search(
                    r"\b(\w+)\s*,?\s*$", block.strip())
                if tp_name is None or slots is None:
                    continue  # a shape not read: its type is reported as not found
                table = self.find_table("PyType_Slot", slots.group(1)) or ""
                out[tp_name.group(1)] = self._slot_methods(table)
            # Static PyTypeObject with designated initialisers.
            for m in re.finditer(r"\bPyTypeObject\s+(\w+)\s*=\s*\{", code):
                block = raw[m.end():self._match(code, m.end() - 1)]
                name = re.search(r'\.tp_name\s*=\s*"([^"]+)"', block)
                if not name:
                    continue
                methods = {}
                fields = dict(re.findall(r"\.(tp_\w+)\s*=\s*(?:\([^)]*\)\s*)?&?(\w+)", block))
                if "tp_methods" in fields:
                    methods.update(self._method_table(fields.pop("tp_methods")))
                if "tp_getset" in fields:
                    methods.update(self._getset_table(fields.pop("tp_getset")))
                for slot, fn in fields.items():
                    if fn in self.funcs:
                        methods[slot] = fn
                out[name.group(1)] = methods
        return out

    def _slot_methods(self, block):
        methods = {}
        for slot, fn in re.findall(r"\{\s*Py_(\w+)\s*,\s*(?:\([^)]*\)\s*)?(\w+)\s*\}", block):
            if slot == "tp_methods":
                methods.update(self._method_table(fn))
            elif slot == "tp_getset":
                methods.update(self._getset_table(fn))
            elif fn in self.funcs:
                methods[slot] = fn
        return methods

    def _method_table(self, name):
        block = self.find_table("PyMethodDef", name) or ""
        cast = r"(?:\((?:[^()]|\([^()]*\))*\)\s*)*"
        # {"name", (casts)function, flags, doc}, or designated .ml_name/.ml_meth
        out = dict(re.findall(r'\{\s*"([^"]+)"\s*,\s*' + cast + r"(\w+)", block))
        out.update(re.findall(r'\.ml_name\s*=\s*"([^"]+)"\s*,\s*\.ml_meth\s*=\s*'
                              + cast + r"(\w+)", block))
        return out

    def _getset_table(self, name):
        block = self.find_table("PyGetSetDef", name) or ""
        out = {}
        for n, getter, setter in re.findall(
                r'\{\s*"([^"]+)"\s*,\s*(?:\([^)]*\)\s*)?(\w+)\s*,\s*(?:\([^)]*\)\s*)?(\w+)', block):
            out[n] = getter
            if setter != "NULL":
                out[n + ".__set__"] = setter
        return out


def _glue():
    return _Glue(sorted(PYGLUE.glob("*.h")))


def _c_types(defined):
    """Every C type reachable from pyconc: the classes of pyconc._core (and
    every class whose module is pyconc._core, as the C bases of public
    classes), which must be among *defined* (tp_names read from
    csrc/pyglue/), and any other class of pyconc whose name is there."""
    import pyconc
    import pyconc._core as core
    import pyconc.ipc

    required, found = set(), {}
    candidates = [getattr(core, n) for n in dir(core)]
    required |= {id(c) for c in candidates if inspect.isclass(c)}
    for mod in (pyconc, pyconc.ipc):
        candidates += [getattr(mod, n) for n in dir(mod) if not n.startswith("__")]
    for obj in candidates:
        if not inspect.isclass(obj):
            continue
        for cls in obj.__mro__:
            name = f"{cls.__module__}.{cls.__qualname__}"
            if id(cls) in required or cls.__module__ == "pyconc._core" or name in defined:
                found[name] = cls
    return found


@pytest.mark.skipif(not PYGLUE.exists(), reason="needs the source tree (csrc/pyglue)")
def test_pyglue_releases_the_gil_only_through_pc_py():
    glue = _glue()
    bad = []
    for file, (raw, code) in glue.files.items():
        for m in re.finditer(r"\b(%s)\b" % "|".join(_RELEASE_TOKENS), code):
            fn = glue.enclosing(file, m.start())
            if file == "pc_py.h":
                continue  # checked below
            if (file, fn) not in ALLOWED_RELEASES:
                bad.append(f"{file}: {fn or '?'}() uses {m.group(1)}")
                continue
            body = glue.body(fn)
            order = [body.find(h) for h in _HANDOFF]
            assert -1 not in order and order == sorted(order), (
                f"{file}: {fn}() releases the GIL without the hand-off calls in order")
    assert not bad, ("the GIL is released outside pc_py.h (use pc_py_wait or "
                     "PC_PY_WITHOUT_GIL, or list it in ALLOWED_RELEASES with a reason): "
                     + "; ".join(bad))
    # pc_py.h: exactly one release, inside PC_PY_WITHOUT_GIL, with the hand-off.
    raw, code = glue.files["pc_py.h"]
    releases = re.findall(r"\b(%s)\b" % "|".join(_RELEASE_TOKENS), code)
    assert releases == ["PyEval_SaveThread"], releases
    macro = re.search(r"#define PC_PY_WITHOUT_GIL\(stmt\)((?:.*\\\n)*.*)", code).group(1)
    want = ["PyEval_SaveThread", _HANDOFF[0], "stmt", _HANDOFF[1], "PyEval_RestoreThread",
            _HANDOFF[2]]
    order = [macro.find(w) for w in want]
    assert -1 not in order and order == sorted(order), order
    assert "PC_PY_WITHOUT_GIL" in glue.body("pc_py_wait")


@pytest.mark.skipif(not PYGLUE.exists(), reason="needs the source tree (csrc/pyglue)")
def test_pyglue_calls_waiting_core_functions_without_the_gil():
    """A *_blocking.h function called from csrc/pyglue/ is called with the GIL
    released: inside PC_PY_WITHOUT_GIL(...), between Py_BEGIN/END_ALLOW_THREADS
    (an ALLOWED_RELEASES function), or from a park function of pc_py_wait."""
    build = load_build()
    glue = _glue()
    waiting = set(build.RELEASE_GIL) - {"pc_gil_probe_blocking"}
    waiting |= {f for f in glue.funcs if f.startswith("pc_park_wait")}

    spans = {}  # file -> [(start, end)] of text run without the GIL
    parks = set()
    for file, (raw, code) in glue.files.items():
        s = []
        for m in re.finditer(r"\bPC_PY_WITHOUT_GIL\s*\(", code):
            depth, j = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(code[j], 0)
                j += 1
            s.append((m.end(), j))
        for m in re.finditer(r"\bPy_BEGIN_ALLOW_THREADS\b", code):
            s.append((m.end(), code.index("Py_END_ALLOW_THREADS", m.end())))
        for m in re.finditer(r"\bpc_py_wait\s*\(([^;]*)\)\s*;", code):
            parks |= set(re.findall(r"\b([A-Za-z_]\w*)\b", m.group(1))) & set(glue.funcs)
        spans[file] = s

    def released_at(file, pos):
        return any(a <= pos < b for a, b in spans[file])

    bad = []
    for file, (raw, code) in glue.files.items():
        for m in re.finditer(r"\b(%s)\s*\(" % "|".join(map(re.escape, sorted(waiting))), code):
            fn = glue.enclosing(file, m.start())
            if fn is None or released_at(file, m.start()) or fn in parks:
                continue
            if fn == "pc_py_wait":
                continue
            bad.append(f"{file}: {fn}() calls {m.group(1)} with the GIL held")
    assert not bad, "; ".join(bad)


def _waits(name):
    """May a method of this name reach a GIL release?"""
    dunder = name.startswith("__") and name.endswith("__")
    private = name.startswith("_") and not dunder
    if name.lstrip("_").startswith("try"):
        return False
    return name in WAITING_METHODS or private


def _in_gil_free_file(glue, tp_name):
    """Is *tp_name* a type whose definition this reader cannot follow (its
    spec built by a macro) but whose header never releases the GIL at all
    (no release token, no pc_py_wait, no PC_PY_WITHOUT_GIL)?  Then none
    of its methods can release it either."""
    module, short = tp_name.rsplit(".", 1)
    named = r'"(%s\b|%s\.")' % (re.escape(short), re.escape(module))
    for file, (raw, code) in glue.files.items():
        if file == "pc_py.h" or not re.search(named, raw):
            continue
        if re.search(r"\b(%s|pc_py_wait|PC_PY_WITHOUT_GIL)\b" % "|".join(_RELEASE_TOKENS), code):
            return False
        return True
    return False


@pytest.mark.skipif(not PYGLUE.exists(), reason="needs the source tree (csrc/pyglue)")
def test_c_type_fast_paths_hold_the_gil():
    """Every C type: its methods are C functions, and only the waiting ones
    (WAITING_METHODS) reach a GIL release; try_* and every other method
    return with the GIL held throughout."""
    glue = _glue()
    defined = glue.types()
    types = _c_types(defined)
    assert types, "no C types found"
    checked = 0
    for tp_name, cls in sorted(types.items()):
        if tp_name not in defined and _in_gil_free_file(glue, tp_name):
            checked += 1
            continue
        assert tp_name in defined, (
            f"C type {tp_name} not found in csrc/pyglue/ (defined by a PyType_Spec or a "
            f"PyTypeObject with .tp_name that tests/test_gil.py can read)")
        methods = defined[tp_name]
        assert methods, f"{tp_name}: no methods read from its definition"
        for attr, value in vars(cls).items():
            assert not inspect.isfunction(value) or attr in PYTHON_METHODS, (
                f"{tp_name}.{attr} is a Python function")
        for name, fn in sorted(methods.items()):
            if name.endswith(".__set__"):
                name = name[:-8]
            if glue.releases(fn) and (tp_name, name) not in TRY_THAT_HANDS_OVER | BRIEF_WAITS:
                assert _waits(name), (
                    f"{tp_name}.{name} ({fn}) releases the GIL but is not a waiting "
                    f"method (WAITING_METHODS)")
            checked += 1
    assert checked


_SAMPLE = r"""
static pc_status pc_x_py_park(void *self, int64_t slice_ns)
{
    return pc_x_wait(self, slice_ns);
}

static PyObject *
pc_x_py_acquire(PyObject *self, PyObject *const *args, Py_ssize_t n, PyObject *kw)
{
    pc_status st = pc_py_wait(self, pc_x_py_try, pc_x_py_park, 0, 1);
    return st == PC_OK ? Py_NewRef(Py_True) : NULL;
}

static PyObject *pc_x_py_helper(PyObject *self) { return pc_x_py_acquire(self, NULL, 0, NULL); }

static PyObject *pc_x_py_release(PyObject *self, PyObject *unused)
{
    if (strchr("{(", 'x') == NULL) /* "a } in a string or comment" */
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef pc_x_py_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))pc_x_py_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, blocking=True, timeout=-1)\n--\n\n{\"doc\"}"},
    {.ml_name = "release", .ml_meth = (PyCFunction)pc_x_py_release, .ml_flags = METH_NOARGS},
    {"_helper", (PyCFunction)pc_x_py_helper, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot pc_x_py_slots[] = {
    {Py_tp_methods, pc_x_py_methods},
    {Py_tp_dealloc, (void *)pc_x_py_release},
    {Py_tp_doc, (void *)"X(): the state is one atomic word {}"},
    {0, NULL},
};

static PyType_Spec pc_x_py_spec = {
    .name = "pyconc._core.X",
    .basicsize = sizeof(pc_x_py),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = pc_x_py_slots,
};

static PyType_Spec pc_y_py_spec = {"pyconc._core.Y", 0, 0, Py_TPFLAGS_DEFAULT, pc_x_py_slots};
"""


def test_glue_reader_sees_the_shapes(tmp_path):
    """The reader above finds what it must in each shape a type is written in."""
    (tmp_path / "pc_x_py.h").write_text(_SAMPLE)
    glue = _Glue([tmp_path / "pc_x_py.h"] + ([PYGLUE / "pc_py.h"] if PYGLUE.exists() else []))
    types = glue.types()
    want = {"acquire": "pc_x_py_acquire", "release": "pc_x_py_release",
            "_helper": "pc_x_py_helper", "tp_dealloc": "pc_x_py_release"}
    assert types["pyconc._core.X"] == want
    assert types["pyconc._core.Y"] == want
    if PYGLUE.exists():
        assert glue.releases("pc_x_py_acquire")
        assert glue.releases("pc_x_py_helper")  # through a call
    assert not glue.releases("pc_x_py_release")
    assert glue.enclosing("pc_x_py.h", _SAMPLE.index("pc_x_wait(")) == "pc_x_py_park"
