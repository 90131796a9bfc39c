"""build.py's classification of the cdef functions (fast: GIL kept; blocking:
GIL released), read with cffi's own parser, and the checks that make the
build fail loudly instead of releasing or keeping the GIL by mistake.

Runs on whatever cffi is installed; ``make cffi-versions`` (in .ci/run)
runs this file and tests/test_gil.py against a module built with the lowest
and with the newest cffi that pyproject.toml admits.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
build_py = ROOT / "ffibuild" / "build.py"
pytestmark = pytest.mark.skipif(not build_py.exists(), reason="needs the source tree (ffibuild/build.py)")


@pytest.fixture(scope="module")
def build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_pyconc_build_cls", build_py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def generated(build, tmp_path_factory):
    c_file = tmp_path_factory.mktemp("gen") / "_core.c"
    build.ffibuilder.emit_c_code(str(c_file))
    return c_file.read_text()


TYPES = "typedef struct { ...; } t_t;\n#define K ...\n"


def test_every_declared_function_is_classified_once(build):
    declared = build._functions(build.ffibuilder)
    assert declared, "cffi's parser found no functions"
    assert build.KEEP_GIL | build.RELEASE_GIL == declared
    assert not build.KEEP_GIL & build.RELEASE_GIL
    # The probes of build.py's preamble: one in each class, always.
    assert "pc_gil_probe_fast" in build.KEEP_GIL
    assert "pc_gil_probe_blocking" in build.RELEASE_GIL


def test_classes_follow_the_files(build):
    """Each cdef file on its own, parsed by cffi: its functions are in its class."""
    from cffi import FFI

    for files, cls in ((build._FAST_FILES, build.KEEP_GIL),
                       (build._BLOCKING_FILES, build.RELEASE_GIL)):
        assert files
        for p in files:
            ffi = FFI()
            whole = FFI()
            whole.cdef(build._FAST_CDEF)
            whole.cdef(build._BLOCKING_CDEF)
            ffi.include(whole)
            ffi.cdef(p.read_text(), override=True)
            funcs = build._functions(ffi)
            assert funcs <= cls, (p.name, sorted(funcs - cls))


def test_every_generated_wrapper_is_classified(build, generated):
    wrapped = set(re.findall(r"^_cffi_f_(\w+)\(PyObject \*self", generated, re.M))
    assert wrapped == build.KEEP_GIL | build.RELEASE_GIL
    build.check_wrappers(generated, build.KEEP_GIL, build.RELEASE_GIL)


def test_compiled_module_functions_are_classified(build):
    """Every function pyconc._core.lib exposes was classified (the installed
    module is built from these cdefs)."""
    core = pytest.importorskip("pyconc._core")
    funcs = {n for n in dir(core.lib)
             if type(getattr(core.lib, n)).__name__ == "builtin_function_or_method"}
    assert funcs, "no functions in pyconc._core.lib"
    assert funcs == build.KEEP_GIL | build.RELEASE_GIL


def test_any_name_and_layout_is_found(build):
    """The old regex wanted 'pc_' names on one line; cffi's parser does not."""
    fast = {"x_fast.h": TYPES + "int\n  other_name (t_t *a,\n int b);\n"
                        "/* int commented_out(void); */\nstatic const int K2;\n"
                        "unsigned long long pc_long_type(void);\n"}
    blocking = {"x_blocking.h": "int wait_for(t_t *a, long long ns);\n"}
    keep, release = build.classify(fast, blocking, {"other_name", "pc_long_type", "wait_for"})
    assert keep == {"other_name", "pc_long_type"}
    assert release == {"wait_for"}


def test_the_same_function_in_both_classes_fails(build):
    # Identical or not, the build fails and names the second file.
    fast = {"x_fast.h": "int f(void);\n"}
    for again in ("int f(void);\n", "int f(int);\n"):
        with pytest.raises(build.BuildError, match="x_blocking.h"):
            build.classify(fast, {"x_blocking.h": again}, {"f"})
    with pytest.raises(build.BuildError, match="b_fast.h"):
        build.classify({"a_fast.h": "int f(void);\n", "b_fast.h": "int f(void);\n"}, {}, {"f"})


def test_a_merged_duplicate_is_still_caught(build, monkeypatch):
    """Were cffi to accept a repeated declaration (some versions merge
    identical ones), the per-file parse still finds it in both files."""
    from cffi import FFI

    real_cdef = FFI.cdef

    def lenient(self, csource, override=False, **kw):
        return real_cdef(self, csource, override=True, **kw)

    monkeypatch.setattr(FFI, "cdef", lenient)
    with pytest.raises(build.BuildError, match="more than one cdef file"):
        build.classify({"x_fast.h": "int f(void);\n"}, {"x_blocking.h": "int f(void);\n"}, {"f"})


def test_an_unclassified_function_fails(build):
    fast = {"x_fast.h": "int f(void);\n"}
    with pytest.raises(build.BuildError, match=r"not classified \['g'\]"):
        build.classify(fast, {}, {"f", "g"})
    with pytest.raises(build.BuildError, match=r"not declared \['f'\]"):
        build.classify(fast, {}, set())


def test_a_wrapper_without_a_class_fails(build, generated):
    some = sorted(build.KEEP_GIL)[0]
    with pytest.raises(build.BuildError, match="not classified"):
        build.check_wrappers(generated, build.KEEP_GIL - {some}, build.RELEASE_GIL)
    with pytest.raises(build.BuildError, match="no wrapper"):
        build.check_wrappers(generated, build.KEEP_GIL | {"pc_nowhere"}, build.RELEASE_GIL)
    with pytest.raises(build.BuildError, match="both"):
        build.check_wrappers(generated, build.KEEP_GIL, build.RELEASE_GIL | {some})


def test_a_stray_cdef_file_fails(build, tmp_path, monkeypatch):
    (tmp_path / "core_fast.h").write_text("int f(void);\n")
    (tmp_path / "core.h").write_text("int g(void);\n")
    monkeypatch.setattr(build, "CDEF_DIR", tmp_path)
    monkeypatch.setattr(build, "_FAST_FILES", [tmp_path / "core_fast.h"])
    monkeypatch.setattr(build, "_BLOCKING_FILES", [])
    with pytest.raises(build.BuildError, match="core.h"):
        build._check_cdef_dir()


def test_patched_file_keeps_and_releases(build, generated, tmp_path):
    c_file = tmp_path / "_core.c"
    c_file.write_text(generated)
    build.patch_generated_file(c_file, build.KEEP_GIL, build.RELEASE_GIL)
    out = c_file.read_text()
    assert out.count("/* pyconc: GIL kept, see build.py */") == len(build.KEEP_GIL)
    assert out.count("pc_handoff_gil_released(); /* pyconc: see build.py */") == len(build.RELEASE_GIL)
