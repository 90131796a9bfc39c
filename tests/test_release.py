"""The release path (issue 15): the standard frontends build from the
project root, the sdist is complete and its test suite runs from it, the
compiled module exports PyInit__core alone and is stripped, the PyPI long
description has no relative link.

The quick checks run in the suite.  The builds with each frontend
(``python -m build``, ``pip wheel .``, ``pip install .``, cibuildwheel's
build selection) are marked ``release`` and run when
``PYCONC_RELEASE_TESTS=1`` (``make wheel-test`` sets it, in .ci/run): each
compiles the core, about 20 s on 2 CPUs.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (ROOT / ".git").exists() and shutil.which("git") is not None
needs_checkout = pytest.mark.skipif(not IN_CHECKOUT, reason="needs the git checkout")
needs_source = pytest.mark.skipif(not (ROOT / "ffibuild" / "build.py").exists(),
                                  reason="needs the source tree (ffibuild/)")
RELEASE = os.environ.get("PYCONC_RELEASE_TESTS") == "1"
needs_release = pytest.mark.skipif(
    not RELEASE, reason="builds the project: PYCONC_RELEASE_TESTS=1 (make wheel-test)")

#: Tests an unpacked sdist runs in the quick check: the suite's shared
#: files (conftest, helpers) and one file per kind of thing they reach.
SDIST_SUBSET = ["tests/atomic/test_atomic.py", "tests/test_examples.py", "tests/test_signatures.py"]


def run(cmd, cwd, timeout=600, env=None, **kw):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
    assert proc.returncode == 0, f"{cmd} in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def tracked_files() -> list[str]:
    out = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT)
    return sorted(p for p in out.split("\0") if p and (ROOT / p).is_file())


def copy_checkout(dest: Path) -> Path:
    """A copy of the checkout (tracked and new files, no build products),
    so that a build never touches ./build or the editable install."""
    for rel in tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


def pyinit_only(so: Path) -> None:
    """*so* exports PyInit__core alone, and carries no symbol table."""
    if not sys.platform.startswith("linux") or shutil.which("nm") is None:
        pytest.skip("checked with binutils' nm on Linux")
    out = run(["nm", "-D", "--defined-only", str(so)], so.parent)
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    names -= {"_init", "_fini", "__bss_start", "_edata", "_end"}
    assert names == {"PyInit__core"}, sorted(names)
    if os.environ.get("PYCONC_KEEP_SYMBOLS"):
        return  # built unstripped on purpose (make asan-test)
    full = subprocess.run(["nm", str(so)], capture_output=True, text=True)
    assert "no symbols" in full.stderr, "the module is not stripped"
    sections = run(["readelf", "-S", "-W", str(so)], so.parent)
    assert ".debug_info" not in sections


# ------------------------------------------------------- quick checks


def test_no_module_at_the_root_shadows_pypa_build():
    """``python -m build`` from the root must find PyPA's build: the root
    holds no build.py (the cffi builder is ffibuild/build.py)."""
    assert not (ROOT / "build.py").exists()
    assert not (ROOT / "build" / "__init__.py").exists()
    if importlib.util.find_spec("build") is None:
        pytest.skip("PyPA build is not installed")
    where = run([sys.executable, "-c", "import build; print(build.__file__)"], ROOT).strip()
    assert "site-packages" in where, where


def test_installed_core_exports_pyinit_only():
    import pyconc._core

    pyinit_only(Path(pyconc._core.__file__))


@needs_source
def test_pypi_long_description_has_only_absolute_links():
    spec = importlib.util.spec_from_file_location("_pyconc_readme", ROOT / "ffibuild" / "readme.py")
    readme = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme)
    text = readme.pypi_readme(ROOT)
    targets = [m.group(3) for m in readme._LINK.finditer(text)]
    assert targets, "no link found in the README"
    relative = [t for t in targets if not t.startswith(("https://", "http://", "mailto:", "#"))]
    assert relative == []
    # Images through the raw host, so that PyPI shows them.
    assert all("raw.githubusercontent.com" in m.group(3)
               for m in readme._LINK.finditer(text) if m.group(1) == "!")
    # The conversion itself.
    out = readme.absolute_links("[a](docs/x.md) ![b](./docs/y.png) [c](#z) [d](https://e)",
                                "https://github.com/o/r", "1.2")
    assert out == ("[a](https://github.com/o/r/blob/v1.2/docs/x.md) "
                   "![b](https://raw.githubusercontent.com/o/r/v1.2/docs/y.png) [c](#z) [d](https://e)")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """The sdist, built by PyPA build from a copy of the checkout (no
    compilation: an sdist is sources only)."""
    if not IN_CHECKOUT:
        pytest.skip("needs the git checkout")
    if importlib.util.find_spec("build") is None:
        pytest.skip("PyPA build is not installed (pip install build)")
    tmp = tmp_path_factory.mktemp("sdist")
    src = copy_checkout(tmp / "src")
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp / "dist"), "."], src)
    (found,) = (tmp / "dist").glob("pyconc-*.tar.gz")
    return found


def test_sdist_holds_every_tracked_file(sdist):
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = [p for p in tracked_files() if p not in names and p != ".gitignore"]
    assert missing == []
    for must in ("tests/conftest.py", "tests/ipc/ipc_support.py", "tests/c/harness.h",
                 "examples/bounded_buffer.py", "docs/testing.md", "ffibuild/build.py"):
        assert must in names, must
    assert not [n for n in names if n.endswith((".so", ".pyc", ".o"))]


def test_sdist_installs_and_its_tests_run(sdist, tmp_path):
    """Unpack, install (pip, from the unpacked folder), run a subset of its
    own tests against that install.  make wheel-test runs all of them."""
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data") if sys.version_info >= (3, 12) else tar.extractall(tmp_path)
    (src,) = tmp_path.glob("pyconc-*")
    target = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--target", str(target), "."], src)
    pyinit_only(next((target / "pyconc").glob("_core*")))
    env = dict(os.environ, PYTHONPATH=str(target))
    # From tests/, so that the unpacked pyconc/ (no compiled core) is not
    # on sys.path: the install is what the tests import.
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               *(str(Path(t).relative_to("tests")) for t in SDIST_SUBSET)], src / "tests",
              env=env)
    assert " passed" in out
    where = run([sys.executable, "-c", "import pyconc._core; print(pyconc._core.__file__)"],
                src / "tests", env=env)
    assert str(target) in where, where


# ---------------------------------------- each frontend from the root


@pytest.fixture
def checkout(tmp_path):
    if not IN_CHECKOUT:
        pytest.skip("needs the git checkout")
    return copy_checkout(tmp_path / "pyconc")


@pytest.mark.release
@needs_release
@pytest.mark.parametrize("frontend", ["python -m build", "pip wheel .", "pip install ."])
def test_frontend_builds_from_the_root(frontend, checkout, tmp_path):
    out = tmp_path / "out"
    if frontend == "python -m build":
        if importlib.util.find_spec("build") is None:
            pytest.skip("PyPA build is not installed")
        text = run([sys.executable, "-m", "build", "--outdir", str(out), "."], checkout)
        assert "Successfully built" in text
        assert len(list(out.glob("pyconc-*.tar.gz"))) == 1
        wheels = list(out.glob("pyconc-*.whl"))
    elif frontend == "pip wheel .":
        run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), "."], checkout)
        wheels = list(out.glob("pyconc-*.whl"))
    else:
        run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(out), "."], checkout)
        wheels = []
        pyinit_only(next((out / "pyconc").glob("_core*")))
        env = dict(os.environ, PYTHONPATH=str(out))
        run([sys.executable, str(checkout / "tests" / "smoke.py")], tmp_path, env=env)
    if frontend != "pip install .":
        assert len(wheels) == 1, wheels
        unpacked = tmp_path / "whl"
        shutil.unpack_archive(wheels[0], unpacked, "zip")
        files = sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file())
        # The package alone: no build input (csrc/, ffibuild/) in a wheel.
        assert all(f.startswith(("pyconc/", "pyconc-")) for f in files), files
        pyinit_only(next((unpacked / "pyconc").glob("_core*")))


@pytest.mark.release
@needs_release
def test_cibuildwheel_selects_every_python(checkout):
    """cibuildwheel reads the build selection from pyproject.toml: CPython
    3.10 to 3.14, 3.13t and 3.14t.  (The builds themselves need its
    containers; its frontend is PyPA build, run above.)"""
    exe = shutil.which("cibuildwheel") or str(Path(sys.executable).parent / "cibuildwheel")
    if not Path(exe).exists():
        pytest.skip("cibuildwheel is not installed")
    out = run([exe, "--print-build-identifiers", "--platform", "linux", "--archs", "x86_64"],
              checkout)
    ids = set(out.split())
    for tag in ("cp310", "cp311", "cp312", "cp313", "cp314", "cp313t", "cp314t"):
        assert f"{tag}-manylinux_x86_64" in ids, (tag, sorted(ids))


@needs_source
def test_classifiers_are_known_to_pypi():
    """PyPI refuses an upload with a classifier it does not know."""
    trove = pytest.importorskip("trove_classifiers")
    import re

    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("classifiers = [")
    block = text[start:text.index("]", start)]
    declared = re.findall(r'"([^"]+)"', block)
    assert declared
    assert [c for c in declared if c not in trove.classifiers] == []
    # Linux only is claimed (the one system the suite runs on).
    assert [c for c in declared if c.startswith("Operating System")] == [
        "Operating System :: POSIX :: Linux"]
