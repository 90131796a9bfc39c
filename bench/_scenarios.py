"""Turn pyconc._bench scenario modules into parametrized pytest-benchmark tests."""

import pytest


def params(scenarios):
    """pytest params, one per scenario, with readable ids."""
    return [pytest.param(s, id=f"{s['group']} | {s['name']}") for s in scenarios]


def run(benchmark, scenario, rounds=3):
    """Benchmark one scenario in its group; each round runs it once.

    Scenarios create their threads and park them on a barrier before the
    timed part, and check their result after it (raising if it is wrong).
    """
    benchmark.group = scenario["group"]
    benchmark.extra_info["ops"] = scenario["ops"]
    benchmark.extra_info["baseline"] = bool(scenario.get("baseline"))
    benchmark.pedantic(scenario["run"], rounds=rounds, iterations=1, warmup_rounds=0)
