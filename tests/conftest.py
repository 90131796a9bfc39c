"""Shared test settings."""

import os

import pytest

#: Multiplier for stress-test iteration counts (PYCONC_STRESS=10 for a long run).
STRESS = max(1, int(os.environ.get("PYCONC_STRESS", "1")))


def scaled(n: int) -> int:
    """*n* iterations, scaled by PYCONC_STRESS."""
    return n * STRESS


@pytest.fixture
def stress():
    return scaled


def _ipc_supported() -> bool:
    """pyconc.ipc (POSIX shared memory, process-shared futexes) imports here."""
    try:
        import pyconc.ipc  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def pytest_collection_modifyitems(config, items):
    """Mark the tests of pyconc.ipc (``-m "not ipc"`` deselects them, as
    cibuildwheel's Windows test step does), and skip them where pyconc.ipc
    is unsupported."""
    supported = None
    for item in items:
        if item.path.name.startswith(("test_ipc", "ipc_")) or item.path.parent.name == "ipc":
            item.add_marker(pytest.mark.ipc)
        if item.get_closest_marker("ipc") is not None:
            if supported is None:
                supported = _ipc_supported()
            if not supported:
                item.add_marker(pytest.mark.skip(reason="pyconc.ipc is not supported on this platform"))
