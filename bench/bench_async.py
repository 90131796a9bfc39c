"""Threads and processes to asyncio (issue 13): pyconc against aiologic,
janus and call_soon_threadsafe (pyconc/_bench/async_scenarios.py, shared
with ``python -m pyconc bench``).  Throughput groups time the transfer of
100,000 values; the latency groups report the median latency of a round's
values as the round's time (one operation)."""

import pytest

from pyconc._bench import async_scenarios

from _scenarios import params, run

SCENARIOS = async_scenarios.scenarios()


@pytest.mark.parametrize("scenario", params(SCENARIOS))
def test_async(benchmark, scenario):
    run(benchmark, scenario, rounds=5)
