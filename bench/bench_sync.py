"""std::sync types, threads and broadcast against the standard library (issue 4)."""

import pytest

from pyconc._bench import sync_scenarios

from _scenarios import params, run

SCENARIOS = sync_scenarios.scenarios(threads=[1, 2, 4])


@pytest.mark.parametrize("scenario", params(SCENARIOS))
def test_sync(benchmark, scenario):
    run(benchmark, scenario)
