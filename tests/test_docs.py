"""The API reference (docs/api/, Sphinx autodoc; ``make docs`` builds it
warning-free in .ci/run): every public name has an entry, every entry's
object has a docstring, and every example on its pages runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pyconc

API = Path(__file__).resolve().parent.parent / "docs" / "api"
pytestmark = pytest.mark.skipif(not API.is_dir(), reason="needs docs/api/")
PAGES = sorted(API.glob("*.rst"))
_ENTRY = re.compile(r"^\.\. (?:auto\w+|py:\w+):: (pyconc(?:\.ipc)?)\.(\w+)", re.M)


def entries() -> set[str]:
    found = set()
    for page in PAGES:
        for mod, name in _ENTRY.findall(page.read_text()):
            found.add(f"{mod}.{name}")
    return found


def public_names() -> list[str]:
    import pyconc.ipc

    names = [f"pyconc.{n}" for n in pyconc.__all__ if n != "ipc"]
    return names + [f"pyconc.ipc.{n}" for n in pyconc.ipc.__all__]


def test_every_public_name_has_an_entry():
    missing = sorted(set(public_names()) - entries())
    assert missing == []


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_has_a_docstring(name):
    import importlib

    mod, _, attr = name.rpartition(".")
    obj = getattr(importlib.import_module(mod), attr)
    if isinstance(obj, (int, pyconc.Ordering)):
        return  # constants: their entry's text is the documentation
    assert (obj.__doc__ or "").strip(), name


def examples():
    out = []
    for page in PAGES:
        for i, block in enumerate(re.findall(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)",
                                             page.read_text(), re.M)):
            code = "\n".join(line[3:] for line in block.splitlines())
            out.append(pytest.param(code, id=f"{page.stem}-{i}"))
    return out


@pytest.mark.parametrize("code", examples())
def test_example_runs(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
