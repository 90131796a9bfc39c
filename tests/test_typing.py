"""Types (issue 13): ``pyconc.channel[int]()`` & co. work at runtime and
give ``Sender[int]``/``Receiver[int]`` to mypy (tests/typing/generics.py,
checked here with mypy and run here with pytest)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "typing"))
import generics  # noqa: E402

# As mypy prints them, less the differences between its versions
# ("Tuple"/"tuple", "builtins.int"/"int").
EXPECTED = [
    "tuple[pyconc.channel.Sender[int], pyconc.channel.Receiver[int]]",
    "tuple[pyconc.channel.Sender[str], pyconc.channel.Receiver[str]]",
    "tuple[pyconc.broadcast.BroadcastSender[bytes], pyconc.broadcast.BroadcastReceiver[bytes]]",
    "tuple[pyconc.ipc.Sender[int], pyconc.ipc.Receiver[int]]",
]


def _normal(revealed):
    return revealed.replace("Tuple[", "tuple[").replace("builtins.", "")


@pytest.mark.timeout(60)
def test_generic_constructors_run():
    generics.check_channels()
    generics.check_ipc()
    generics.check_runtime_subscripts()


def test_mypy_sees_the_element_types():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context",
         "--cache-dir", os.path.join(ROOT, ".mypy_cache"),
         os.path.join("tests", "typing", "generics.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout + proc.stderr
    revealed = [line.split("Revealed type is ", 1)[1].strip().strip('"')
                for line in out.splitlines() if "Revealed type is" in line]
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors == [], out
    assert [_normal(r) for r in revealed] == EXPECTED, out
