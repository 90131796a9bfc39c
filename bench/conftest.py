"""pytest-benchmark suite: the scenarios of ``python -m pyconc bench``.

Run: ``pytest bench --benchmark-group-by=group`` (``make bench-pytest``);
compare commits with ``--benchmark-autosave`` and ``--benchmark-compare``.
"""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.benchmark_suite)


def pytest_configure(config):
    config.addinivalue_line("markers", "benchmark_suite: a pyconc benchmark")
