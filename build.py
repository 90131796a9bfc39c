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
files, so the latter may use the former's types.  ``pc_gil_probe_fast`` / ``pc_gil_probe_blocking`` let the
tests check the result in the compiled module.

Run as a script (``python build.py [DIR]``) it writes the adjusted C to DIR,
for reading it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
MODULE = "pyconc._core"

#: C files compiled into the module (relative: setuptools wants them so).
SOURCES = sorted(
    os.path.join("csrc", p.name) for p in CSRC.glob("pc_*.c")
)

#: The cdef texts: every *_fast.h, then every *_blocking.h.
_FAST_CDEF = "\n".join(p.read_text() for p in sorted(CSRC.glob("cdef/*_fast.h")))
_BLOCKING_CDEF = "\n".join(
    p.read_text() for p in sorted(CSRC.glob("cdef/*_blocking.h"))
)
_FUNC_RE = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(pc_\w+)\s*\(", re.M)


def declared_functions(cdef: str) -> list[str]:
    """Names of the functions declared in a cdef text."""
    # Strip comments first so that prose mentioning a function is ignored.
    text = re.sub(r"/\*.*?\*/", "", cdef, flags=re.S)
    return _FUNC_RE.findall(text)


KEEP_GIL = frozenset(declared_functions(_FAST_CDEF))
RELEASE_GIL = frozenset(declared_functions(_BLOCKING_CDEF))

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
            "libraries": ["Synchronization"],  # WaitOnAddress
        }
    args = ["-Wall", "-Wextra", "-O2"]
    if os.environ.get("PYCONC_WERROR"):
        args.append("-Werror")
    libs = [] if sys.platform == "darwin" else ["pthread"]
    return {"extra_compile_args": args, "libraries": libs}


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
_both = KEEP_GIL & RELEASE_GIL
if _both:
    raise RuntimeError(f"declared both fast and blocking: {sorted(_both)}")

#: Read by BuildExt.pre_run: the functions whose wrappers keep the GIL, and
#: those whose wrappers release it.
ffibuilder.pyconc_keep_gil = KEEP_GIL
ffibuilder.pyconc_release_gil = RELEASE_GIL


class BuildError(RuntimeError):
    """cffi generated C of a shape build.py does not recognise."""


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


def patch_generated_file(
    path: str | os.PathLike, keep: frozenset[str], release: frozenset[str]
) -> None:
    """Apply keep_gil and hand_over_gil to a C file cffi has written, in place."""
    p = Path(path)
    p.write_text(hand_over_gil(keep_gil(p.read_text(), keep), release))


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
