"""How long one redraw of the live page's tree takes: the figure built from a tree of N nodes.

    .venv/bin/python benchmarks/tree_redraw.py            # 100 / 500 / 1000 nodes, median of 15
    .venv/bin/python benchmarks/tree_redraw.py --repeat 30 --sizes 500

Measured separately: folding the events into the tree (the live page does this incrementally,
only for new events) and building the plotly figure (done on every poll).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.prm_chart import build_prm_figure
from components.tree_view import build_tree_figure
from core.synthetic import synthetic_run
from core.tree import ReasoningTree


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    build_tree_figure(ReasoningTree.from_events(synthetic_run(20)))  # warm-up: imports, caches
    print(f"{'nodes':>6} {'events':>7} {'fold ms':>8} {'tree figure ms':>15} {'PRM chart ms':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        events = synthetic_run(size, seed=size)
        tree = ReasoningTree.from_events(events)
        fold = median_ms(lambda events=events: ReasoningTree.from_events(events), args.repeat)
        figure = median_ms(lambda tree=tree: build_tree_figure(tree), args.repeat)
        prm = median_ms(lambda tree=tree: build_prm_figure(tree), args.repeat)
        print(f"{size:>6} {len(events):>7} {fold:>8.1f} {figure:>15.1f} {prm:>13.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
