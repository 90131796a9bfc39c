"""Smoke test of an installed pyconc (cibuildwheel runs it on every wheel,
``make wheel-test`` on the repaired one): it imports from the install, not
a source tree; the core works; asyncio stays unimported; the compiled
module exports PyInit__core alone.  Run it from anywhere:
``python tests/smoke.py``."""

import sys
from pathlib import Path

# Not this folder's neighbours: the installed package.
here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", here, str(Path(here).parent))]

import pyconc  # noqa: E402
import pyconc._core  # noqa: E402

a = pyconc.AtomicInt()
a.fetch_add(2)
assert a.load() == 2
lock = pyconc.SpinLock()
assert lock.acquire() and lock.locked()
lock.release()
tx, rx = pyconc.channel()
tx.send("x")
assert rx.recv() == "x"
with pyconc.Mutex(1).lock() as g:
    assert g.value == 1
assert "asyncio" not in sys.modules, "import pyconc imported asyncio"

if sys.platform.startswith("linux"):
    # The one exported symbol (ffibuild/build.py: hidden visibility).
    import subprocess

    try:
        out = subprocess.run(["nm", "-D", "--defined-only", pyconc._core.__file__],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = None  # no binutils in this image: nothing to check with
    if out is not None:
        names = {line.split()[-1] for line in out.splitlines() if line.strip()}
        names = {n for n in names if not n.startswith(("_init", "_fini", "__bss", "_edata", "_end"))}
        assert names == {"PyInit__core"}, sorted(names)

print("pyconc", pyconc.__version__, "ok from", pyconc.__file__)
