"""pytest-benchmark: pyconc.ipc against multiprocessing (and faster-fifo).

    pytest bench/bench_ipc.py --benchmark-group-by=group

The scenarios are pyconc/_bench/ipc_scenarios.py's (shared with
``python -m pyconc bench``): 100,000 small pickled messages from 1 and from
4 producer processes to one consumer, and 100,000 increments of a counter
from 2 processes.  Worker processes are started before timing; every round
checks its result (exact counts, per-producer order, exact total).
"""

import pytest

from pyconc._bench import ipc_scenarios

_SCENARIOS = ipc_scenarios.scenarios()
_SKIPPED = ipc_scenarios.skipped()


@pytest.fixture(scope="module", autouse=True)
def _stop_workers():
    yield
    ipc_scenarios._stop_all()


@pytest.mark.parametrize(
    "scenario", _SCENARIOS, ids=[f"{s['group']}-{s['name']}" for s in _SCENARIOS]
)
def test_ipc(benchmark, scenario):
    benchmark.group = scenario["group"]
    benchmark.extra_info["ops"] = scenario["ops"]
    benchmark.extra_info["baseline"] = scenario["baseline"]
    scenario["run"]()  # start the workers outside the timing
    benchmark.pedantic(scenario["run"], rounds=3, iterations=1)
    benchmark.extra_info["ops_per_s"] = scenario["ops"] / benchmark.stats.stats.min


@pytest.mark.parametrize("name,reason", _SKIPPED or [("none", "")])
def test_skipped_alternatives(name, reason):
    if reason:
        pytest.skip(f"{name}: {reason}")
