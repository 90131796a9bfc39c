"""python -m pyconc bench: the command line, the table and the JSON (small runs)."""

import json
import subprocess
import sys

import pytest

from pyconc._bench import format_table, run


def test_run_one_group_produces_ratios():
    report = run(only=r"C only: fetch_add, 1 thread", repeat=1, progress=None)
    results = report["results"]
    assert {r["name"] for r in results} == {"pthread_mutex + x++ (C)", "pc_atomic_i64_fetch_add (C)"}
    base = [r for r in results if r["baseline"]]
    assert len(base) == 1 and base[0]["speedup"] == pytest.approx(1.0)
    for r in results:
        assert r["ns_per_op"] > 0 and r["ops_per_sec"] > 0
        assert len(r["rounds"]) == 1 and r["min"] <= r["median"] <= r["max"]
    table = format_table(report)
    assert "| C only: fetch_add, 1 thread | pc_atomic_i64_fetch_add (C) |" in table
    assert report["meta"]["build"] in ("with GIL", "free-threaded")


def test_cli_json_and_threads(tmp_path):
    out = tmp_path / "r.json"
    r = subprocess.run(
        [sys.executable, "-m", "pyconc", "bench", "--only", "counter increment",
         "--threads", "2", "--repeat", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "counter increment, 2 threads" in r.stdout
    assert "python:" in r.stdout and "machine:" in r.stdout
    data = json.loads(out.read_text())
    groups = {x["group"] for x in data["results"]}
    assert groups == {"counter increment, 2 threads"}
    assert any(x["name"].startswith("pyconc AtomicInt") for x in data["results"])
    assert "progress" not in r.stdout  # the progress bar goes to stderr
    assert "2/" in r.stderr or "done" in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["--threads", "x"], "comma-separated"),
    (["--threads", "0"], "between 1 and 256"),
    (["--repeat", "0"], "at least 1"),
])
def test_cli_bad_arguments(args, msg):
    r = subprocess.run([sys.executable, "-m", "pyconc", "bench", *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert msg in r.stderr


def test_cli_unknown_command():
    r = subprocess.run([sys.executable, "-m", "pyconc", "frobnicate"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_plot_without_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    from pyconc import _bench

    real_import = builtins.__import__

    def no_matplotlib(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(SystemExit, match="matplotlib"):
        _bench.plot({"results": [], "meta": {}}, str(tmp_path / "x.png"))


def test_median_spread_and_goals():
    """Rounds are kept; ratios pair rounds; a stated goal is judged."""
    from pyconc._bench import _add_ratios

    results = [
        {"group": "g", "name": "base", "baseline": True, "unit": "ns/op",
         "rounds": [100.0, 200.0, 100.0]},
        {"group": "g", "name": "fast", "baseline": False, "unit": "ns/op",
         "rounds": [50.0, 100.0, 25.0], "goals": [{"vs": "base", "at_most": 0.5}]},
        {"group": "g", "name": "slow", "baseline": False, "unit": "ns/op",
         "rounds": [90.0, 190.0, 95.0], "goals": [{"vs": "base", "at_most": 0.5}]},
    ]
    _add_ratios(results)
    fast, slow = results[1], results[2]
    assert fast["speedup"] == pytest.approx(2.0)  # 2, 2, 4: paired by round
    assert (fast["speedup_min"], fast["speedup_max"]) == (2.0, 4.0)
    (g,) = fast["goals"]
    assert g["met"] is True and g["value"] == pytest.approx(0.5)
    assert slow["goals"][0]["met"] is False
    absolute = {"group": "g", "name": "abs", "baseline": False, "unit": "B/object",
                "rounds": [30.0, 50.0, 35.0], "goals": [{"vs": None, "at_most": 40}]}
    _add_ratios(results + [absolute])
    assert absolute["goals"][0]["met"] is True and absolute["goals"][0]["value"] == 35.0
