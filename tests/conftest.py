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
