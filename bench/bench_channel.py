"""Channels against queue.Queue, queue.SimpleQueue and deque+Condition (issue 3).

One group per scenario (1, 2 and 4 producers to one consumer, single values
and batches of 64), plus the C queues alone.  Each round runs the scenario
once: the threads are parked on a barrier before the timed part, and the
result (count and sum) is checked after it.
"""

import pytest

from pyconc._bench import channel_scenarios

from _scenarios import params, run

SCENARIOS = channel_scenarios.scenarios(threads=[1, 2, 4])


@pytest.mark.parametrize("scenario", params(SCENARIOS))
def test_channel(benchmark, scenario):
    run(benchmark, scenario, rounds=5)
