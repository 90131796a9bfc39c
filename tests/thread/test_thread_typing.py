"""mypy checks spawn's arguments against the function (ParamSpec)."""

import os
import re
import subprocess
import sys

import pytest

SNIPPET = '''
import pyconc

def f(a: int, b: str = "") -> float:
    return 1.0

h = pyconc.spawn(f, 1, b="x")
reveal_type(h)
reveal_type(h.join())
pyconc.spawn(f, "wrong")
pyconc.Builder().spawn(f, 1, c=2)
'''


def test_spawn_is_checked_by_mypy(tmp_path):
    pytest.importorskip("mypy")
    src = tmp_path / "snippet.py"
    src.write_text(SNIPPET)
    import pyconc

    # The pyconc under test, wherever it is (an editable install's import
    # hook is invisible to mypy).
    env = dict(os.environ, MYPYPATH=os.path.dirname(os.path.dirname(pyconc.__file__)))
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", str(src)],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=300, env=env)
    out = r.stdout
    # (mypy spells float "builtins.float" or "float", by version)
    assert re.search(r'Revealed type is "pyconc\.thread\.JoinHandle\[(builtins\.)?float\]"',
                     out), out
    assert re.search(r'Revealed type is "(builtins\.)?float"', out), out
    assert 'Argument 2 to "spawn" has incompatible type "str"; expected "int"' in out, out
    assert 'Unexpected keyword argument "c"' in out, out
