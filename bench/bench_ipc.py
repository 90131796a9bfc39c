"""pyconc.ipc against multiprocessing (and faster-fifo) across processes (issue 5).

100,000 small pickled messages from 1 and from 4 producer processes to one
consumer, and 100,000 increments of a counter from 2 processes
(pyconc/_bench/ipc_scenarios.py, shared with ``python -m pyconc bench``).
Each scenario's worker processes are started by an untimed first run and
then wait on a pipe; every round checks its result.
"""

import pytest

from pyconc._bench import ipc_scenarios

from _scenarios import params, run

SCENARIOS = ipc_scenarios.scenarios()


@pytest.fixture(scope="module", autouse=True)
def _stop_workers():
    yield
    ipc_scenarios._stop_all()


@pytest.mark.parametrize("scenario", params(SCENARIOS))
def test_ipc(benchmark, scenario):
    scenario["run"]()  # start the workers, untimed
    run(benchmark, scenario)


@pytest.mark.parametrize("name,reason", ipc_scenarios.skipped() or [("-", "")])
def test_skipped_alternatives(name, reason):
    if reason:
        pytest.skip(f"{name}: {reason}")
