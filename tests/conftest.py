"""Shared test settings: stress scaling, the kinds of test (markers), and
the tests that need the test hooks of a test build (tests/README.md)."""

import os

import pytest

#: Multiplier for stress-test iteration counts (PYCONC_STRESS=10 for a long run).
STRESS = max(1, int(os.environ.get("PYCONC_STRESS", "1")))

#: The kinds of test, one marker each (``pytest -m stress tests/channel``).
#: A test file says its kind with ``pytestmark``; a test without one is a
#: unit test.
KINDS = {
    "unit": "behaviour of one primitive's API, call by call (the default)",
    "model": "random operation sequences checked against a model (hypothesis state machines)",
    "stress": "many threads or processes, exact results; counts scale with PYCONC_STRESS",
    "faults": "signals (Ctrl-C), killed processes, fork, exceptions at bad moments",
    "fuzz": "hostile or random arguments: exceptions, never a crash",
    "leaks": "memory returns to where it started (tracemalloc, RSS)",
}


def scaled(n: int) -> int:
    """*n* iterations, scaled by PYCONC_STRESS."""
    return n * STRESS


@pytest.fixture
def stress():
    return scaled


def pytest_configure(config):
    for kind, what in KINDS.items():
        config.addinivalue_line("markers", f"{kind}: {what}")
    config.addinivalue_line(
        "markers",
        "test_hooks: needs the tests' hooks in pyconc._core (a build with "
        "PYCONC_TEST_HOOKS=1, as make test does; a wheel has none)",
    )


def _ipc_supported() -> bool:
    """pyconc.ipc (POSIX shared memory, process-shared futexes) imports here."""
    try:
        import pyconc.ipc  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def pytest_collection_modifyitems(config, items):
    """Give every test its kind (unit unless marked); skip the hooks' tests
    on a build without them; mark the tests of pyconc.ipc (``-m "not ipc"``
    deselects them, as cibuildwheel's Windows test step does) and skip them
    where pyconc.ipc is unsupported."""
    from pyconc import _core

    hooks = getattr(_core, "_TEST_HOOKS", 0)
    skip = pytest.mark.skip(reason="pyconc._core built without the test hooks "
                                   "(PYCONC_TEST_HOOKS=1; make test builds them)")
    supported = None
    for item in items:
        if not any(item.get_closest_marker(k) for k in KINDS):
            item.add_marker(pytest.mark.unit)
        if not hooks and item.get_closest_marker("test_hooks"):
            item.add_marker(skip)
        if item.path.name.startswith(("test_ipc", "ipc_")) or item.path.parent.name == "ipc":
            item.add_marker(pytest.mark.ipc)
        if item.get_closest_marker("ipc") is not None:
            if supported is None:
                supported = _ipc_supported()
            if not supported:
                item.add_marker(pytest.mark.skip(reason="pyconc.ipc is not supported on this platform"))
