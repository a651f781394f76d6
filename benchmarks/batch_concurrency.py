"""A batch sweep against a slow OpenAI-compatible server: wall time over concurrency.

200 cells (200 problems, System 1, one request each) against a local fake server that waits
`--latency` seconds (1 s) before every answer. For each concurrency: wall seconds, speed-up over
one cell at a time, the most requests the server answered at once (a slow server's slots kept
busy), and whether the rows equal those of a sequential run (every field but the seconds).

One cell at a time on 200 cells of 1-s requests takes over 200 s, so the sequential time is
measured on `--sequential-cells` cells (20) and scaled to 200; the rows a concurrent run must
match come from a sequential run of all 200 cells against the same server without the latency.

.venv/bin/python benchmarks/batch_concurrency.py [--cells 200] [--latency 1.0] [--sequential-cells 20]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.problems.base import Problem
from core.providers.base import Price
from core.providers.openai_api import OpenAICompatibleProvider
from core.verifiers.arithmetic import ArithmeticChecker
from deliberate.batch import BatchRow
from deliberate.sweep import run_batch
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_openai_provider import chat

CONCURRENCY = (1, 4, 16, 32, 64)


def sweep(problems: list[Problem], latency: float, concurrency: int) -> tuple[list, float, int]:
    """The rows (without events and seconds), wall seconds and most requests answered at once."""

    def respond(payload: dict, number: int) -> Reply:
        a, b = map(int, re.findall(r"\d+", payload["messages"][-1]["content"]))
        return Reply(body=chat(content=f"The answer is \\boxed{{{a + b}}}."), delay=latency)

    with FakeApiServer(respond) as server:
        provider = OpenAICompatibleProvider(
            "bench", f"{server.url}/v1", price=Price(0.1, 0.2), max_retries=0
        )
        start = time.perf_counter()
        rows = list(
            run_batch(
                problems,
                ["direct"],
                [1],
                provider,
                ArithmeticChecker(),
                Budget(seed=0),
                concurrency=concurrency,
            )
        )
        wall = time.perf_counter() - start
        return [bare(r) for r in rows], wall, server.most_in_flight


def bare(row: BatchRow) -> BatchRow:
    return replace(row, events=(), seconds=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request")
    parser.add_argument(
        "--sequential-cells", type=int, default=20, help="cells timed one at a time (scaled)"
    )
    args = parser.parse_args()

    problems = [
        Problem(id=f"q{i}", question=f"What is {i} plus {i + 1}?", answer=str(2 * i + 1))
        for i in range(args.cells)
    ]
    reference, _, _ = sweep(problems, 0.0, 1)
    solved = sum(bool(r.correct) for r in reference)
    print(f"{args.cells} cells, System 1, one request each; the server waits {args.latency} s")
    print(
        f"reference rows: a sequential run without the latency ({solved}/{len(reference)} solved)"
    )
    print()
    print(f"{'concurrency':>11} {'cells':>6} {'wall s':>8} {'speed-up':>9} {'most at once':>13} "
          f"{'rows identical':>15}")  # fmt: skip
    sequential = None
    for concurrency in CONCURRENCY:
        cells = args.sequential_cells if concurrency == 1 else args.cells
        rows, wall, busiest = sweep(problems[:cells], args.latency, concurrency)
        same = rows == reference[:cells]
        if concurrency == 1:
            sequential = wall * args.cells / cells
            shown = f"{sequential:8.1f}*"
            speed_up = 1.0
        else:
            shown = f"{wall:8.1f} "
            speed_up = sequential / wall
        print(f"{concurrency:>11} {cells:>6} {shown}{speed_up:8.1f}x {busiest:>13} {same!s:>15}")
    print()
    print(f"* measured on {args.sequential_cells} cells and scaled to {args.cells}")


if __name__ == "__main__":
    main()
