"""Charts of a ``python -m pyconc bench --json`` report: one figure per
family (atomics, locks, channels, broadcast, processes).

Each figure has one panel row per scenario group and one horizontal bar
per implementation: its throughput relative to the group's baseline (the
median of the per-round ratios, as the table gives it), with the spread of
the rounds (min to max) as an error bar, on a linear axis that starts at
zero, the baseline marked at 1.  "Higher is better" is on every figure, and
the footer says when, where and how the figures were measured.  A group run
with more threads than the machine has CPUs is marked "oversubscribed" in
its label (``max_threads`` leaves such groups out instead).

    python -m pyconc._bench.charts docs/bench.json docs/   # docs/bench-<family>.png
    python -m pyconc bench --json out.json --charts docs/  # measure, then draw

The drawing needs matplotlib (``pip install 'pyconc[plot]'``); choosing the
rows (``family_rows``) does not.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Result = Dict[str, Any]

#: Family -> does a result of (section, group) belong to it.  In report
#: order; a result in none (thread start, memory per object) is not drawn.
FAMILIES: List[Tuple[str, Callable[[str, str], bool]]] = [
    ("atomics", lambda s, g: s == "atomics and locks"
        and bool(re.search(r"atomic|counter|fetch_add", g))),
    ("locks", lambda s, g: (s == "atomics and locks" and bool(re.search(r"lock|acquire", g)))
        or (s == "sync types" and bool(re.search(r"Mutex|RwLock|semaphore|park|bounded buffer", g)))),
    ("channels", lambda s, g: s in ("channels", "asyncio")),
    ("broadcast", lambda s, g: "fan-out" in g or "broadcast" in g),
    ("processes", lambda s, g: s == "across processes"),
]

HIGHER_IS_BETTER = "higher is better"


def _cpus(meta: Dict[str, Any]) -> Optional[int]:
    if isinstance(meta.get("cpus"), int):
        return meta["cpus"]
    m = re.search(r"(\d+) CPUs", str(meta.get("machine", "")))
    return int(m.group(1)) if m else None


def _workers(result: Result) -> int:
    """Threads (or processes) a result ran: its ``threads``, else what its
    group's name counts ("4 producers -> 1 consumer", "2 processes")."""
    if result.get("threads"):
        return int(result["threads"])
    counts = re.findall(r"(\d+) (?:producers?|consumers?|processes)\b",
                        result.get("group", ""))
    return sum(int(n) for n in counts)


def family_of(result: Result) -> Optional[str]:
    for name, belongs in FAMILIES:
        if belongs(result.get("section", ""), result.get("group", "")):
            return name
    return None


def family_rows(report: Dict[str, Any], family: str,
                max_threads: Optional[int] = None) -> List[Dict[str, Any]]:
    """The groups of *family* in *report*, in report order: each a dict
    with ``group`` (its label, "oversubscribed" marked), ``baseline`` (the
    baseline's name) and ``bars``: (name, median, low, high) speed-ups over
    the baseline, the baseline's own (1, 1, 1) first.  Groups with more
    threads than *max_threads* are left out (default: kept, marked when
    above the machine's CPUs)."""
    cpus = _cpus(report.get("meta", {}))
    groups: Dict[str, List[Result]] = {}
    for r in report.get("results", []):
        if r.get("unit", "ns/op") != "ns/op" or r.get("speedup") is None:
            continue
        if family_of(r) != family:
            continue
        groups.setdefault(r["group"], []).append(r)
    rows = []
    for group, results in groups.items():
        threads = max(_workers(r) for r in results)
        if max_threads is not None and threads > max_threads:
            continue
        base = [r for r in results if r.get("baseline")]
        if not base:
            continue
        label = group
        if cpus is not None and threads > cpus:
            label += f"  [oversubscribed: {threads} threads/processes on {cpus} CPUs]"
        bars = [(base[0]["name"], 1.0, 1.0, 1.0)]
        for r in results:
            if not r.get("baseline"):
                med = float(r["speedup"])
                lo = r.get("speedup_min")
                hi = r.get("speedup_max")
                bars.append((r["name"], med, med if lo is None else float(lo),
                             med if hi is None else float(hi)))
        rows.append({"group": label, "baseline": base[0]["name"], "threads": threads, "bars": bars})
    return rows


def _footer(report: Dict[str, Any]) -> str:
    m = report.get("meta", {})
    rounds = report.get("repeat")
    command = m.get("command", "python -m pyconc bench")
    return (f"{m.get('date', '?')}; {m.get('machine', '?')}; {m.get('python', '?')} "
            f"({m.get('build', '?')}); pyconc {m.get('pyconc', '?')}; `{command}`; "
            f"bar: median of {rounds or '?'} rounds' ratios, whisker: min-max of the rounds")


def draw_family(report: Dict[str, Any], family: str, path: str,
                max_threads: Optional[int] = None) -> bool:
    """Draw *family*'s figure to *path* (PNG); False if the report has no
    group of that family."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            "charts need matplotlib: pip install 'pyconc[plot]' (or pip install matplotlib)"
        ) from None
    rows = family_rows(report, family, max_threads)
    if not rows:
        return False
    heights = [0.55 + 0.32 * len(r["bars"]) for r in rows]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9.5, sum(heights) + 1.3), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, row in zip(axes[:, 0], rows):
        bars = row["bars"]
        names = [b[0] for b in bars]
        med = [b[1] for b in bars]
        lo = [b[1] - b[2] for b in bars]
        hi = [b[3] - b[1] for b in bars]
        y = list(range(len(bars)))[::-1]
        colors = ["#9e9e9e"] + ["#1f77b4" if "pyconc" in n or "(C)" in n and n.startswith("pc_")
                                else "#ff9f40" for n in names[1:]]
        ax.barh(y, med, xerr=[lo, hi], color=colors, height=0.65,
                error_kw={"ecolor": "#333333", "capsize": 3, "lw": 1})
        ax.axvline(1.0, color="#555555", lw=0.8, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=7.5)
        top = max(b[3] for b in bars)
        ax.set_xlim(0, top * 1.18 + 0.05)
        for yy, b in zip(y, bars):
            text = f"{b[1]:.2f}x" if b[1] < 10 else f"{b[1]:.0f}x"
            ax.text(b[3] + top * 0.01, yy, text, va="center", fontsize=7)
        ax.set_title(row["group"], fontsize=8.5, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(
        f"throughput relative to the baseline (grey, dashed line = 1)  -  {HIGHER_IS_BETTER}",
        fontsize=8)
    fig.suptitle(f"pyconc benchmarks: {family} ({HIGHER_IS_BETTER})", fontsize=11)
    fig.text(0.01, 0.005, _footer(report), fontsize=6, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def draw_all(report: Dict[str, Any], outdir: str, prefix: str = "bench-",
             max_threads: Optional[int] = None) -> List[str]:
    """One PNG per family with results, ``<outdir>/<prefix><family>.png``;
    returns the paths written."""
    os.makedirs(outdir, exist_ok=True)
    written = []
    for family, _ in FAMILIES:
        path = os.path.join(outdir, f"{prefix}{family}.png")
        if draw_family(report, family, path, max_threads):
            written.append(path)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pyconc._bench.charts",
                                     description="Draw one chart per family from a bench JSON.")
    parser.add_argument("json", help="a report written by python -m pyconc bench --json")
    parser.add_argument("outdir", help="folder for bench-<family>.png")
    parser.add_argument("--max-threads", type=int, default=None,
                        help="leave out groups with more threads (default: keep, marked oversubscribed)")
    args = parser.parse_args(argv)
    with open(args.json) as f:
        report = json.load(f)
    for path in draw_all(report, args.outdir, max_threads=args.max_threads):
        print(f"chart written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
