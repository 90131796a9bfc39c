"""Atomics (load, fetch_add, compare-exchange) and the spin lock against threading.Lock and the peers (issues 2, 11)."""

import pytest

from pyconc._bench import core_scenarios

from _scenarios import params, run

SCENARIOS = core_scenarios.scenarios(threads=[1, 2, 4])


@pytest.mark.parametrize("scenario", params(SCENARIOS))
def test_core(benchmark, scenario):
    run(benchmark, scenario)
