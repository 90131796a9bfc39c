"""``python -m pyconc bench``: pyconc against the alternatives, side by side.

Every scenario runs each implementation in the same process, taking turns
round by round (a round goes through every group, in a rotating order
within each).  The table gives, over the rounds, the median time per
operation with its spread (fastest and slowest round), the throughput at
the median, and the speed-up over the scenario's baseline (the stdlib's
way of doing the same thing) as the median of the per-round ratios, each
taken between runs made side by side in the same round, with their
spread.

A scenario may state goals: ``"goal": (other, at_most)`` (or a list of
such pairs) says its time per operation must be at most ``at_most`` times
that of implementation *other* of the same group (paired by round; median
of the ratios); ``(None, at_most)`` is an absolute limit in the
scenario's unit.  The
table marks each goal met or missed.  Memory scenarios (``"unit":
"B/object"``) return bytes per object from ``run`` instead of timing it.
Scenario modules live beside this file; ``bench/`` runs the same
scenarios under pytest-benchmark.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import inspect
import json
import os
import platform
import re
import statistics
import sys
import sysconfig
import time
from typing import Any, Dict, List, Optional, Sequence

#: Scenario modules, in report order; a missing one is skipped.
SECTIONS = [
    ("atomics and locks", "pyconc._bench.core_scenarios"),
    ("channels", "pyconc._bench.channel_scenarios"),
    ("sync types", "pyconc._bench.sync_scenarios"),
    ("across processes", "pyconc._bench.ipc_scenarios"),
    ("asyncio", "pyconc._bench.async_scenarios"),
    ("memory per object", "pyconc._bench.memory_scenarios"),
]


def _machine() -> Dict[str, Any]:
    import cffi

    import pyconc

    gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            if m:
                cpu = m.group(1)
    except OSError:
        pass
    peers = {}
    for mod in ("cereggii", "atomics", "faster_fifo", "aiologic", "janus"):
        try:
            peers[mod] = getattr(importlib.import_module(mod), "__version__", "installed")
        except ImportError:
            peers[mod] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "build": "free-threaded" if gil_disabled else "with GIL",
        "gil_enabled_at_runtime": bool(gil_enabled),
        "pyconc": pyconc.__version__,
        "cffi": cffi.__version__,
        "peers": peers,
    }


def _load(module: str, threads: List[int], scale: float) -> Optional[List[Dict[str, Any]]]:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        if exc.name == module:
            return None
        raise
    params = inspect.signature(mod.scenarios).parameters
    kwargs: Dict[str, Any] = {}
    if "threads" in params:
        kwargs["threads"] = threads
    if "scale" in params:
        kwargs["scale"] = scale
    return list(mod.scenarios(**kwargs))


def default_threads() -> List[int]:
    """Thread counts for the scaling groups: 1, 2 and 4, but no more threads
    than the machine has CPUs (beyond that a group measures the scheduler;
    pass --threads to oversubscribe on purpose)."""
    cpus = os.cpu_count() or 1
    return [t for t in (1, 2, 4) if t == 1 or t <= cpus]


def _time_once(run: Any) -> float:
    t0 = time.perf_counter()
    measured = run()
    elapsed = time.perf_counter() - t0
    return float(measured) if isinstance(measured, (int, float)) and measured > 0 else elapsed


def _progress(i: int, total: int, label: str, out: Any) -> None:
    if not out:
        return
    width = 24
    filled = int(width * i / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    text = f"\r[{bar}] {i}/{total} {label}"[:110]
    out.write(text.ljust(110))
    out.flush()


def run(
    only: Optional[str] = None,
    threads: Optional[Sequence[int]] = None,
    full: bool = False,
    repeat: Optional[int] = None,
    progress: Any = sys.stderr,
) -> Dict[str, Any]:
    """Run the scenarios; return {"meta": ..., "results": [...], "skipped": [...]}."""
    threads = default_threads() if threads is None else threads
    scale = 5.0 if full else 1.0
    repeat = repeat or (7 if full else 5)
    pattern = re.compile(only, re.I) if only else None
    scenarios: List[Dict[str, Any]] = []
    skipped: List[str] = []
    for section, module in SECTIONS:
        got = _load(module, list(threads), scale)
        if got is None:
            skipped.append(f"{section}: not built yet ({module} missing)")
            continue
        # --only selects whole groups (a group matches by its own name or
        # any implementation's), so a baseline is never left out.
        chosen = {
            s["group"] for s in got
            if not pattern or pattern.search(s["group"]) or pattern.search(s["name"])
        }
        for s in got:
            if s["group"] in chosen:
                s.setdefault("section", section)
                scenarios.append(s)
    try:
        from pyconc._bench import core_scenarios

        skipped += [f"{p}: not installed" for p in core_scenarios.skipped_peers()]
    except ImportError:
        pass
    try:
        import faster_fifo  # noqa: F401
    except ImportError:
        skipped.append("faster_fifo: not installed")
    try:
        from pyconc._bench import async_scenarios

        skipped += [f"{p}: not installed" for p in async_scenarios.skipped_peers()]
    except ImportError:
        pass

    # Side by side: the implementations of a group take turns, round by
    # round, so that a load spike from elsewhere hits them all alike instead
    # of one of them.  A round goes through every group, so that a group's
    # rounds are spread over the whole run and a slow spell of the machine
    # (on a shared VM they last seconds) spoils one of them, not all.
    # Within a group the order rotates from round to round, so that no
    # implementation always runs first.  Every round is kept: the report
    # gives medians and spreads, and ratios pair runs of the same round.
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for s in scenarios:
        groups.setdefault(s["group"], []).append(s)
    rounds: Dict[int, List[float]] = {id(s): [] for s in scenarios}
    done, total = 0, len(scenarios) * repeat
    start = time.perf_counter()
    for r in range(repeat):
        for members in groups.values():
            k = r % len(members)
            for s in members[k:] + members[:k]:
                _progress(done, total, f"{s['group']}: {s['name']}", progress)
                if s.get("unit") == MEMORY_UNIT:
                    rounds[id(s)].append(float(s["run"]()))
                else:
                    rounds[id(s)].append(_time_once(s["run"]) / s["ops"] * 1e9)
                done += 1
    results = []
    for members in groups.values():
        for s in members:
            per_op = rounds[id(s)]
            median = statistics.median(per_op)
            entry = {
                "section": s["section"],
                "group": s["group"],
                "name": s["name"],
                "baseline": bool(s.get("baseline")),
                "threads": s.get("threads"),
                "unit": s.get("unit", "ns/op"),
                "ops": s["ops"],
                "rounds": per_op,
                "median": median,
                "min": min(per_op),
                "max": max(per_op),
            }
            if entry["unit"] == "ns/op":
                entry["ns_per_op"] = median
                entry["ops_per_sec"] = 1e9 / median
            entry["goals"] = _goal_list(s.get("goal"))
            results.append(entry)
    _progress(total, total, f"done in {time.perf_counter() - start:.1f} s", progress)
    if progress:
        progress.write("\n")
    _add_ratios(results)
    return {"meta": _machine(), "results": results, "skipped": skipped,
            "repeat": repeat}


#: The unit of a memory scenario, whose run() returns bytes per object.
MEMORY_UNIT = "B/object"


def _paired(a: List[float], b: List[float]) -> List[float]:
    """Per-round ratios a/b of two implementations of one group."""
    return [x / y for x, y in zip(a, b) if y > 0]


def _add_ratios(results: List[Dict[str, Any]]) -> None:
    """Speed-up over the baseline, and goals, from ratios paired by round."""
    by_name: Dict[tuple, Dict[str, Any]] = {(r["group"], r["name"]): r for r in results}
    base: Dict[str, Dict[str, Any]] = {}
    for r in results:
        if r["baseline"]:
            base.setdefault(r["group"], r)
    for r in results:
        b = base.get(r["group"])
        r["speedup"] = r["speedup_min"] = r["speedup_max"] = None
        if b is not None:
            ratios = _paired(b["rounds"], r["rounds"])
            if ratios:
                r["speedup"] = statistics.median(ratios)
                r["speedup_min"], r["speedup_max"] = min(ratios), max(ratios)
        r["goals"] = [_judge(r, g, by_name) for g in r.get("goals", [])]


def _goal_list(goal: Any) -> List[Dict[str, Any]]:
    """A scenario's goal, (other, at_most), or a list of them, as dicts."""
    if not goal:
        return []
    if isinstance(goal, tuple) or (isinstance(goal, list) and not isinstance(goal[0], (tuple, list))):
        goal = [goal]
    return [{"vs": other, "at_most": limit} for other, limit in goal]


def _judge(r: Dict[str, Any], goal: Dict[str, Any], by_name: Dict[tuple, Any]) -> Dict[str, Any]:
    """Measure one goal of result *r*: its median (an absolute goal) or the
    median of its per-round ratios to the implementation named."""
    g = dict(goal)
    if g["vs"] is None:
        values = r["rounds"]
    else:
        other = by_name.get((r["group"], g["vs"]))
        values = _paired(r["rounds"], other["rounds"]) if other else []
    if not values:
        g.update(value=None, min=None, max=None, met=None)
    else:
        g.update(value=statistics.median(values), min=min(values), max=max(values))
        g["met"] = g["value"] <= g["at_most"]
    return g


def _fmt_goal(r: Dict[str, Any], g: Dict[str, Any]) -> str:
    if g["vs"] is None:
        head = f"<= {_fmt_value(r, g['at_most'])}"
        if g["value"] is None:
            return f"{head}: not measured"
        return f"{head}: {_fmt_value(r, g['value'])} {'met' if g['met'] else 'MISSED'}"
    head = f"<= {g['at_most']:.3g}x {g['vs']}"
    if g["value"] is None:
        return f"{head}: not measured"
    return (f"{head}: {g['value']:.2f}x ({g['min']:.2f}-{g['max']:.2f}) "
            f"{'met' if g['met'] else 'MISSED'}")


def _fmt_rate(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.2f} {unit}/s"
    return f"{x:.0f} /s"


def _fmt_value(r: Dict[str, Any], x: float) -> str:
    return f"{x:.0f} B" if r["unit"] == MEMORY_UNIT else f"{x:.1f} ns"


def format_table(report: Dict[str, Any]) -> str:
    """The report as a Markdown table (readable in a terminal too)."""
    m = report["meta"]
    lines = [
        f"pyconc {m['pyconc']} benchmark, {m['date']}",
        f"machine: {m['machine']}",
        f"python:  {m['python']} ({m['build']}), cffi {m['cffi']}",
        f"{report.get('repeat', '?')} rounds per implementation, interleaved; "
        "median (fastest - slowest round)",
        "",
        "| scenario | implementation | per op, median (range) | throughput | vs baseline, median (range) | goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        if r["baseline"]:
            ratio = "baseline"
        elif r["speedup"] is None:
            ratio = "-"
        else:
            ratio = f"{r['speedup']:.2f}x ({r['speedup_min']:.2f}-{r['speedup_max']:.2f})"
        rate = _fmt_rate(r["ops_per_sec"]) if "ops_per_sec" in r else "-"
        goal = "; ".join(_fmt_goal(r, g) for g in r.get("goals", []))
        lines.append(
            f"| {r['group']} | {r['name']} | {_fmt_value(r, r['median'])} "
            f"({_fmt_value(r, r['min'])}-{_fmt_value(r, r['max'])}) "
            f"| {rate} | {ratio} | {goal} |"
        )
    if report["skipped"]:
        lines.append("")
        lines.append("skipped: " + "; ".join(report["skipped"]))
    lines.append("")
    lines.append("vs baseline: how many times faster than the scenario's baseline "
                 "(higher is better; for B/object, how many times smaller).")
    lines.append("goal: this implementation's time (or size) as a multiple of the "
                 "one named, median of the rounds (lower is better).")
    return "\n".join(lines)


def plot(report: Dict[str, Any], path: str) -> List[str]:
    """Draw one chart per family (``charts.py``) beside *path*:
    ``<stem>-<family>.png``.  Returns the paths written."""
    from pyconc._bench import charts

    stem, _ = os.path.splitext(path)
    return charts.draw_all(report, os.path.dirname(stem) or ".",
                           prefix=os.path.basename(stem) + "-")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyconc bench",
        description="Benchmark pyconc against threading, queue, multiprocessing "
        "and the peer packages, side by side in one run.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, 5 rounds, one to two minutes (default)")
    mode.add_argument("--full", action="store_true", help="5x the sizes and 7 rounds")
    parser.add_argument("--only", metavar="PATTERN", help="only the scenario groups whose name, or one of whose implementations' names, matches (regex)")
    parser.add_argument("--threads", default=None, metavar="N,N,...",
                        help="thread counts for the scaling scenarios (default 1,2,4, "
                        "without those above the number of CPUs)")
    parser.add_argument("--repeat", type=int, help="rounds per scenario (default 5; 7 with --full)")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE as JSON")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw one chart per family, FILE-<family>.png (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        threads = (default_threads() if args.threads is None else
                   sorted({int(x) for x in args.threads.split(",") if x.strip()}))
    except ValueError:
        parser.error(f"--threads takes comma-separated integers, not {args.threads!r}")
    if not threads or min(threads) < 1 or max(threads) > 256:
        parser.error("--threads values must be between 1 and 256")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    report = run(
        only=args.only,
        threads=threads,
        full=args.full,
        repeat=args.repeat,
        progress=None if args.no_progress else sys.stderr,
    )
    report["meta"]["command"] = " ".join(
        ["python -m pyconc bench", *(sys.argv[2:] if argv is None else argv)])
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.plot:
        for path in plot(report, args.plot):
            print(f"chart written to {path}")
    return 0
