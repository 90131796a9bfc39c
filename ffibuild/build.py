"""cffi build script for pyconc's compiled core, ``pyconc._core``.

API mode, out of line: the real C lives in ``csrc/``; cffi reads its
declarations from the cdef-only headers in ``csrc/cdef/`` and generates the
Python binding, which setuptools compiles (``cffi_modules`` in setup.py).

One adjustment to what cffi generates.  cffi wraps every call in
``Py_BEGIN_ALLOW_THREADS`` / ``Py_END_ALLOW_THREADS`` and has no option to
keep the GIL.  For an atomic operation of a few nanoseconds, releasing and
retaking the GIL is most of the cost of the call, and with several threads
it hands the GIL over on every call.  So the functions declared in the
``csrc/cdef/*_fast.h`` files (none of which waits) are called with the GIL
held: ``keep_gil`` removes the release from their wrappers in the generated
C before it is compiled.  The functions of the ``csrc/cdef/*_blocking.h``
files keep cffi's release, and tell ``csrc/pc_handoff.h`` about it
(``hand_over_gil``): released, and about to be retaken, so that a
waiting thread can spin until the GIL is likely free instead of falling
asleep in CPython's take_gil.  Each part of the core has one file of each kind
(``core_``, ``channel_``, ...); all fast files are read before all blocking
files, so the latter may use the former's types.  Which file declares a
function is read with cffi's own parser (``classify``), and the build fails
(BuildError) unless every function of the module, and every wrapper in the
generated C, is in exactly one of the two classes.
``pc_gil_probe_fast`` / ``pc_gil_probe_blocking`` let the tests check the
result in the compiled module.

Run as a script (``python ffibuild/build.py [DIR]``) it writes the adjusted C to DIR,
for reading it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI

#: The project root (this file lives in ffibuild/, so that ``python -m build``
#: run from the root finds PyPA's build, not this file: see ffibuild/README.md).
HERE = Path(__file__).resolve().parent.parent
CSRC = HERE / "csrc"
MODULE = "pyconc._core"

#: C files compiled into the module (relative: setuptools wants them so).
SOURCES = sorted(
    os.path.join("csrc", p.name) for p in CSRC.glob("pc_*.c")
)

#: The cdef files, in the order the module reads them: every *_fast.h,
#: then every *_blocking.h (so that the latter may use the former's types).
CDEF_DIR = CSRC / "cdef"
_FAST_FILES = sorted(CDEF_DIR.glob("*_fast.h"))
_BLOCKING_FILES = sorted(CDEF_DIR.glob("*_blocking.h"))
_FAST_CDEF = "\n".join(p.read_text() for p in _FAST_FILES)
_BLOCKING_CDEF = "\n".join(p.read_text() for p in _BLOCKING_FILES)


def _functions(ffi: FFI) -> set[str]:
    """The functions an FFI's cdefs declare, as cffi's parser recorded them
    (its declarations are keyed "function <name>", "typedef <name>", ...)."""
    return {
        key.split(" ", 1)[1]
        for key in ffi._parser._declarations
        if key.startswith("function ")
    }


def classify(
    fast: dict[str, str], blocking: dict[str, str], declared: set[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """Split the functions of the cdef texts *fast* and *blocking* (file
    name -> text) into those that keep the GIL and those that release it.

    Each file is parsed on its own by cffi's parser, in a throwaway FFI
    that includes the types of the whole module (``FFI.include`` brings
    types and constants, never functions), so each file's functions are
    exactly the ones it declares, whatever their names or layout (cffi
    itself refuses a second declaration of a function; were it to accept
    one, the per-file parse would still see it in both files).
    *declared* is the set of functions of the module's own FFI.  Raises BuildError unless every declared function is
    in exactly one file, and every file's function is declared.
    """
    from cffi import FFIError

    whole = FFI()
    for name, text in list(fast.items()) + list(blocking.items()):
        try:
            whole.cdef(text)
        except FFIError as exc:  # e.g. the same function in two files
            raise BuildError(f"{name}: {exc}") from exc
    where: dict[str, list[str]] = {}
    for name, text in list(fast.items()) + list(blocking.items()):
        one = FFI()
        one.include(whole)
        # override: the file's own typedefs are already among the included.
        one.cdef(text, override=True)
        for func in _functions(one):
            where.setdefault(func, []).append(name)
    twice = {f: files for f, files in where.items() if len(files) != 1}
    if twice:
        raise BuildError(
            "declared in more than one cdef file (each function is either "
            f"fast or blocking): {dict(sorted(twice.items()))}"
        )
    keep = frozenset(f for f, (file,) in where.items() if file in fast)
    release = frozenset(f for f, (file,) in where.items() if file in blocking)
    missing = declared - keep - release
    extra = (keep | release) - declared
    if missing or extra:
        raise BuildError(
            "the cdef files and the module disagree: not classified "
            f"{sorted(missing)}, not declared {sorted(extra)}"
        )
    return keep, release


def _check_cdef_dir() -> None:
    """Every file of csrc/cdef/ says by its name whether its calls wait."""
    stray = sorted(
        p.name for p in CDEF_DIR.iterdir()
        if p.is_file() and p not in _FAST_FILES and p not in _BLOCKING_FILES
    )
    if stray:
        raise BuildError(
            f"csrc/cdef/ files neither *_fast.h nor *_blocking.h: {stray}"
        )


class BuildError(RuntimeError):
    """The declarations or cffi's generated C are not of a shape build.py
    can adjust safely (a function not classified, a wrapper not found)."""


#: The CPython C API layer (csrc/pyglue/): every Python-facing type, which
#: a cffi call could neither take nor return.  pc_py_module.h includes
#: each family's header and defines pc_py_module_init, which PyInit__core
#: calls (_patch_init below).
_PYGLUE = '#include "pyglue/pc_py_module.h"\n'

_PREAMBLE = r"""
#include "pyconc.h"
""" + _PYGLUE + r"""

/* See cdef/core_fast.h and cdef/core_blocking.h: the same probe, declared once in
 * each, so that each reports the GIL state of its file's calls. */
int pc_gil_probe_fast(void) { return PyGILState_Check(); }
int pc_gil_probe_blocking(void) { return PyGILState_Check(); }
"""


def _compile_args() -> dict[str, list]:
    if sys.platform == "win32":
        # MSVC: C11 atomics are behind /experimental:c11atomics (VS 17.5+).
        return {
            "extra_compile_args": ["/std:c11", "/experimental:c11atomics", "/W3"],
            # WaitOnAddress; Winsock for the asyncio hubs' sockets (pc_async.c)
            "libraries": ["Synchronization", "ws2_32"],
        }
    # Hidden visibility: the core's pc_* functions are called only from
    # inside the module (cffi's wrappers and csrc/pyglue/ are in the same
    # shared object), so the one exported symbol is PyInit__core
    # (PyMODINIT_FUNC marks it visible).  tests/test_release.py checks it.
    args = ["-Wall", "-Wextra", "-O2", "-fvisibility=hidden"]
    if os.environ.get("PYCONC_WERROR"):
        args.append("-Werror")
    if os.environ.get("PYCONC_TEST_HOOKS"):  # the tests' hooks (make test); never in a wheel
        args.append("-DPC_TEST_HOOKS")
    libs = [] if sys.platform == "darwin" else ["pthread"]
    link: list[str] = []
    # Stripped unless asked otherwise (make asan-test keeps the symbols for
    # its reports): the interpreter's CFLAGS bring -g, which is most of an
    # unstripped module's size.
    if not os.environ.get("PYCONC_KEEP_SYMBOLS"):
        link.append("-Wl,-x" if sys.platform == "darwin" else "-s")
    return {"extra_compile_args": args, "libraries": libs, "extra_link_args": link}


ffibuilder = FFI()
ffibuilder.cdef(_FAST_CDEF)
ffibuilder.cdef(_BLOCKING_CDEF)
ffibuilder.set_source(
    MODULE,
    _PREAMBLE,
    sources=SOURCES,
    include_dirs=["csrc"],
    depends=sorted(
        os.path.relpath(p, HERE) for p in CSRC.rglob("*.h")
    ),
    # The full C API, not the limited one: the GIL probe needs
    # PyGILState_Check and free-threaded builds cannot use the limited API,
    # so wheels are built per Python version.
    py_limited_api=False,
    **_compile_args(),
)
_check_cdef_dir()
KEEP_GIL, RELEASE_GIL = classify(
    {p.name: p.read_text() for p in _FAST_FILES},
    {p.name: p.read_text() for p in _BLOCKING_FILES},
    _functions(ffibuilder),
)

#: Read by BuildExt.pre_run: the functions whose wrappers keep the GIL, and
#: those whose wrappers release it.
ffibuilder.pyconc_keep_gil = KEEP_GIL
ffibuilder.pyconc_release_gil = RELEASE_GIL


_RELEASE_OPEN = "  Py_BEGIN_ALLOW_THREADS\n  _cffi_restore_errno();\n"
_RELEASE_CLOSE = "  _cffi_save_errno();\n  Py_END_ALLOW_THREADS\n"


def _rewrite_release(c_source: str, names: frozenset[str], opening: str, closing: str) -> str:
    """Replace, in cffi's wrapper of each of *names*, the release of the GIL
    before the call with *opening* and its retaking after with *closing*.

    cffi generates, for each function ``f``, a wrapper ``_cffi_f_f`` whose
    call sits between ``Py_BEGIN_ALLOW_THREADS`` and
    ``Py_END_ALLOW_THREADS`` (with errno saved and restored inside).  Raises
    BuildError if a wrapper is missing or not of that shape, so that a
    change in cffi's output fails the build instead of silently doing the
    wrong thing with the GIL.
    """
    for name in sorted(names):
        head = re.compile(
            r"^_cffi_f_%s\(PyObject \*self, PyObject \*\w+\)\n\{\n" % re.escape(name),
            re.M,
        )
        found = list(head.finditer(c_source))
        if len(found) != 1:
            raise BuildError(f"cffi wrapper for {name}() not found exactly once")
        start = found[0].end()
        end = c_source.index("\n}\n", start)
        body = c_source[start:end]
        if body.count(_RELEASE_OPEN) != 1 or body.count(_RELEASE_CLOSE) != 1:
            raise BuildError(f"cffi wrapper for {name}() has an unexpected shape")
        body = body.replace(_RELEASE_OPEN, opening).replace(_RELEASE_CLOSE, closing)
        c_source = c_source[:start] + body + c_source[end:]
    return c_source


def keep_gil(c_source: str, names: frozenset[str]) -> str:
    """Return *c_source* with the GIL release removed from *names*' wrappers
    (see _rewrite_release), and PyInit declaring on free-threaded builds
    that no GIL is needed."""
    c_source = _rewrite_release(
        c_source, names, "  /* pyconc: GIL kept, see build.py */\n", ""
    )
    return _patch_init(c_source)


def _patch_init(c_source: str) -> str:
    """Make PyInit__core create pyconc's types (pc_py_module_init) and
    declare, on free-threaded builds, that no GIL is needed."""
    init = re.compile(
        r"(PyInit__core\(void\)\n\{\n)  return (_cffi_init\([^;]*\));\n\}"
    )
    replacement = (
        r"\1  PyObject *m = \2;\n"
        "  /* pyconc: the C types of csrc/pyglue/ (see build.py). */\n"
        "  if (m != NULL && pc_py_module_init(m) < 0) {\n"
        "    Py_DECREF(m);\n"
        "    return NULL;\n"
        "  }\n"
        "#ifdef Py_GIL_DISABLED\n"
        "  /* Every pyconc type is safe without the GIL (docs/free-threading.md). */\n"
        "  if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {\n"
        "    Py_DECREF(m);\n"
        "    return NULL;\n"
        "  }\n"
        "#endif\n"
        "  return m;\n}"
    )
    c_source, n = init.subn(replacement, c_source)
    if n != 1:
        raise BuildError("PyInit__core not found in cffi's output")
    return c_source


_HANDOFF_OPEN = (
    "  Py_BEGIN_ALLOW_THREADS\n"
    "  pc_handoff_gil_released(); /* pyconc: see build.py */\n"
    "  _cffi_restore_errno();\n"
)
_HANDOFF_CLOSE = (
    "  _cffi_save_errno();\n"
    "  pc_handoff_gil_reacquire(); /* pyconc: see build.py */\n"
    "  Py_END_ALLOW_THREADS\n"
    "  pc_handoff_gil_taken(); /* pyconc: see build.py */\n"
)


def hand_over_gil(c_source: str, names: frozenset[str]) -> str:
    """Return *c_source* with *names*' wrappers telling pc_handoff about the GIL.

    Each of these wrappers releases the GIL around its call.  Just after
    the release it calls ``pc_handoff_gil_released()`` (the GIL is likely
    free); just before retaking it ``pc_handoff_gil_reacquire()``,
    which spins, briefly, until the GIL is likely free, so that retaking it
    does not put the thread to sleep in CPython's take_gil
    (csrc/pc_handoff.h explains why that matters); and once it has it,
    ``pc_handoff_gil_taken()``.  Raises BuildError on a wrapper of an
    unexpected shape (see _rewrite_release).
    """
    return _rewrite_release(c_source, names, _HANDOFF_OPEN, _HANDOFF_CLOSE)


_WRAPPER_RE = re.compile(r"^_cffi_f_(\w+)\(PyObject \*self, PyObject \*\w+\)$", re.M)


def check_wrappers(c_source: str, keep: frozenset[str], release: frozenset[str]) -> None:
    """Raise BuildError unless the function wrappers in cffi's generated C
    are exactly the classified functions, each in one class."""
    if keep & release:
        raise BuildError(f"classified both fast and blocking: {sorted(keep & release)}")
    wrapped = _WRAPPER_RE.findall(c_source)
    dup = sorted({w for w in wrapped if wrapped.count(w) > 1})
    unclassified = sorted(set(wrapped) - keep - release)
    unwrapped = sorted((keep | release) - set(wrapped))
    if dup or unclassified or unwrapped:
        raise BuildError(
            "cffi's wrappers and the classification disagree: "
            f"wrapped twice {dup}, not classified {unclassified}, "
            f"no wrapper {unwrapped}"
        )


def patch_generated_file(
    path: str | os.PathLike, keep: frozenset[str], release: frozenset[str]
) -> None:
    """Apply keep_gil and hand_over_gil to a C file cffi has written, in
    place, after check_wrappers."""
    p = Path(path)
    source = p.read_text()
    check_wrappers(source, keep, release)
    p.write_text(hand_over_gil(keep_gil(source, keep), release))


def _build_ext_class():
    from setuptools.command.build_ext import build_ext

    class BuildExt(build_ext):
        """build_ext that adjusts cffi's generated C before compiling it.

        cffi's ``cffi_modules`` support subclasses the project's build_ext,
        calls ``pre_run(ext, ffi)`` before generating the C, then runs the
        build; ``build_extension`` is where the generated file is patched.
        """

        _pyconc_gil: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

        def pre_run(self, ext, ffi):
            self._pyconc_gil[ext.name] = (ffi.pyconc_keep_gil, ffi.pyconc_release_gil)

        def build_extension(self, ext):
            names = self._pyconc_gil.get(ext.name)
            if names is not None:
                patch_generated_file(ext.sources[0], *names)
            super().build_extension(ext)

    return BuildExt


def __getattr__(name):  # lazily, so that cffi's exec of this file is cheap
    if name == "BuildExt":
        return _build_ext_class()
    raise AttributeError(name)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
    out.mkdir(parents=True, exist_ok=True)
    c_file = out / "_core.c"
    ffibuilder.emit_c_code(str(c_file))
    patch_generated_file(c_file, KEEP_GIL, RELEASE_GIL)
    print(f"wrote {c_file} ({len(KEEP_GIL)} functions keep the GIL)")
