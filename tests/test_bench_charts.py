"""The benchmark charts (pyconc/_bench/charts.py): one figure per family
from a bench JSON, bars relative to the baseline with the rounds' spread,
groups above the machine's CPUs marked, "higher is better" on each."""

import json
from pathlib import Path

import pytest

from pyconc._bench import charts

REPORT = Path(__file__).resolve().parent.parent / "docs" / "bench.json"
needs_report = pytest.mark.skipif(not REPORT.exists(), reason="needs docs/bench.json")


def fake_report(cpus=2):
    def res(group, name, threads, speedup, lo, hi, baseline=False, section="channels"):
        return {"section": section, "group": group, "name": name, "threads": threads,
                "baseline": baseline, "unit": "ns/op", "speedup": speedup,
                "speedup_min": lo, "speedup_max": hi}
    return {
        "meta": {"date": "2026-12-01 14:08 UTC", "machine": f"x, {cpus} CPUs, Linux",
                 "python": "CPython 3.11", "build": "with GIL", "pyconc": "0.1.0"},
        "repeat": 5,
        "results": [
            res("channel 1p/1c", "queue.Queue", 2, 1.0, 1.0, 1.0, baseline=True),
            res("channel 1p/1c", "pyconc channel", 2, 20.0, 15.0, 25.0),
            res("channel 4p/4c", "queue.Queue", 8, 1.0, 1.0, 1.0, baseline=True),
            res("channel 4p/4c", "pyconc channel", 8, 9.0, 8.0, 12.0),
            res("memory per object: lock", "pyconc Mutex", None, 1.7, 1.7, 1.7,
                section="memory per object") | {"unit": "B/object"},
        ],
    }


def test_rows_are_relative_to_the_baseline_with_spread():
    rows = charts.family_rows(fake_report(), "channels")
    assert [r["group"] for r in rows] == [
        "channel 1p/1c", "channel 4p/4c  [oversubscribed: 8 threads/processes on 2 CPUs]"]
    assert rows[0]["bars"] == [("queue.Queue", 1.0, 1.0, 1.0), ("pyconc channel", 20.0, 15.0, 25.0)]
    # Leaving the oversubscribed groups out instead of marking them.
    assert [r["group"] for r in charts.family_rows(fake_report(), "channels", max_threads=2)] == [
        "channel 1p/1c"]
    assert charts.family_rows(fake_report(cpus=8), "channels")[1]["group"] == "channel 4p/4c"
    # Processes have no thread count: the group's name gives them.
    assert charts._workers({"group": "processes: 4 producers -> 1 consumer"}) == 5
    # Memory is not a throughput: in no family.
    assert all(charts.family_rows(fake_report(), f) == [] for f, _ in charts.FAMILIES if f != "channels")


@needs_report
def test_every_family_has_groups_in_the_published_report():
    report = json.loads(REPORT.read_text())
    for family, _ in charts.FAMILIES:
        rows = charts.family_rows(report, family)
        assert rows, family
        for row in rows:
            name, med, lo, hi = row["bars"][0]
            assert (med, lo, hi) == (1.0, 1.0, 1.0) and name == row["baseline"]
            assert all(lo <= med <= hi for _, med, lo, hi in row["bars"])


def test_draws_one_png_per_family(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    report = json.loads(REPORT.read_text()) if REPORT.exists() else fake_report()
    seen = []
    real_savefig = plt.Figure.savefig

    def spy(fig, path, **kw):
        texts = [t.get_text() for t in fig.texts] + [fig._suptitle.get_text()]
        texts += [ax.get_xlabel() for ax in fig.axes]
        scales = {ax.get_xscale() for ax in fig.axes}
        seen.append((path, texts, scales, [ax.get_xlim()[0] for ax in fig.axes]))
        return real_savefig(fig, path, **kw)

    plt.Figure.savefig = spy
    try:
        paths = charts.draw_all(report, str(tmp_path))
    finally:
        plt.Figure.savefig = real_savefig
    expected = [f for f, _ in charts.FAMILIES if charts.family_rows(report, f)]
    assert [Path(p).name for p in paths] == [f"bench-{f}.png" for f in expected]
    for path, texts, scales, x0 in seen:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert any(charts.HIGHER_IS_BETTER in t for t in texts), path
        assert scales == {"linear"} and set(x0) == {0.0}, path
        assert any("2026-" in t or "UTC" in t for t in texts), "no date on the figure"
