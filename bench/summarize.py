"""Summarise several runs of ``python -m pyconc bench --json``.

A claim is made only if it holds in at least 4 of 5 runs (README,
"Measured"): this prints, for every stated goal, its value in each run and
in how many runs it was met, and for every implementation its speed-up over
the baseline in each run.

    python bench/summarize.py run1.json run2.json ...          # Markdown
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any, Dict, List, Tuple


def _load(paths: List[str]) -> List[Dict[str, Any]]:
    return [json.load(open(p)) for p in paths]


def goals(reports: List[Dict[str, Any]]) -> List[str]:
    """One Markdown row per goal: the value in each run, and how often met."""
    rows: Dict[Tuple[str, str, str], List[Any]] = {}
    for rep in reports:
        for r in rep["results"]:
            for g in r.get("goals", []):
                key = (r["group"], r["name"], _goal_text(r, g))
                rows.setdefault(key, []).append(g)
    out = ["| scenario | implementation | goal | each run (median of its rounds) | met |",
           "|---|---|---|---|---|"]
    for (group, name, text), gs in rows.items():
        values = ", ".join("-" if g["value"] is None else _fmt(g) for g in gs)
        met = sum(1 for g in gs if g["met"])
        out.append(f"| {group} | {name} | {text} | {values} | {met} of {len(gs)} |")
    return out


def speedups(reports: List[Dict[str, Any]]) -> List[str]:
    """One Markdown row per implementation: its speed-up in each run."""
    rows: Dict[Tuple[str, str], List[Any]] = {}
    for rep in reports:
        for r in rep["results"]:
            if not r["baseline"]:
                rows.setdefault((r["group"], r["name"]), []).append(r.get("speedup"))
    out = ["| scenario | implementation | vs baseline, each run | median of runs |",
           "|---|---|---|---|"]
    for (group, name), xs in rows.items():
        got = [x for x in xs if x is not None]
        each = ", ".join("-" if x is None else f"{x:.2f}x" for x in xs)
        mid = f"{statistics.median(got):.2f}x" if got else "-"
        out.append(f"| {group} | {name} | {each} | {mid} |")
    return out


def _goal_text(r: Dict[str, Any], g: Dict[str, Any]) -> str:
    if g["vs"] is None:
        unit = " B" if r.get("unit") == "B/object" else " ns"
        return f"<= {g['at_most']:g}{unit}"
    return f"<= {g['at_most']:.3g}x {g['vs']}"


def _fmt(g: Dict[str, Any]) -> str:
    return f"{g['value']:.0f}" if g["vs"] is None else f"{g['value']:.2f}x"


def main(argv: List[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    reports = _load(argv)
    dates = ", ".join(r["meta"]["date"] for r in reports)
    print(f"{len(reports)} runs: {dates}")
    print(f"machine: {reports[0]['meta']['machine']}; {reports[0]['meta']['python']}")
    print()
    print("\n".join(goals(reports)))
    print()
    print("\n".join(speedups(reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
