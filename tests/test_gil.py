"""The build keeps the GIL for non-blocking calls and releases it for blocking ones."""

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


build_py = ROOT / "build.py"


def load_build():
    """build.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_pyconc_build_test", build_py)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (build.py)")
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


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (build.py)")
def test_keep_gil_refuses_an_unknown_shape():
    build = load_build()
    with pytest.raises(build.BuildError):
        build.keep_gil("static PyObject *\n_cffi_f_x(void)\n{\n}\n", frozenset({"x"}))


@pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (build.py)")
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
