"""Record the demo runs shipped in recordings/: real engine runs written as JSONL event streams.

    .venv/bin/python scripts/record_runs.py                  # the embedded model (minutes)
    .venv/bin/python scripts/record_runs.py --provider fake  # instant placeholders for development

Each recording is exactly what the app stores for a finished run, so the Replay page rebuilds
the identical tree from it with no model.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.events import Event, RunFinished
from core.problems.catalog import find_problem
from core.providers.base import Provider
from core.tree import ReasoningTree
from core.verifiers import make_verifier
from deliberate.recordings import RECORDINGS_DIR, write_recording
from strategies import STRATEGIES


@dataclass(frozen=True)
class Demo:
    name: str
    strategy: str
    problem: str
    budget: Budget


DEMOS = [
    Demo(
        "beam-search-muffins",
        "beam_search",
        "curated:c01",
        Budget(n=4, width=2, max_depth=5, step_tokens=80, max_total_tokens=3_000, seed=1),
    ),
    Demo(
        "best-of-4-tickets",
        "best_of_n",
        "curated:c03",
        Budget(n=4, max_depth=4, step_tokens=80, max_total_tokens=3_000, seed=2),
    ),
    Demo(
        "mcts-reading",
        "mcts",
        "curated:c02",
        Budget(n=6, width=2, max_depth=4, step_tokens=80, max_total_tokens=3_000, seed=3),
    ),
]


def make_provider(name: str) -> Provider:
    if name == "fake":
        from core.providers.fake import FakeProvider

        return FakeProvider()
    from core.providers.local import local_provider

    return local_provider(None if name == "local" else name)


def record(demo: Demo, provider: Provider, verifier: str) -> list[Event]:
    problem = find_problem(demo.problem)
    return list(
        STRATEGIES[demo.strategy](problem, provider, make_verifier(verifier, provider), demo.budget)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--provider", default="local", help="local (default), fake, or a model name"
    )
    parser.add_argument("--verifier", default="arithmetic")
    parser.add_argument("--out", type=Path, default=RECORDINGS_DIR)
    parser.add_argument("--only", help="comma-separated demo names (default: all)")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else {d.name for d in DEMOS}
    unknown = wanted - {d.name for d in DEMOS}
    if unknown:
        parser.error(f"unknown demos {sorted(unknown)}; choose from {[d.name for d in DEMOS]}")
    provider = make_provider(args.provider)
    for demo in (d for d in DEMOS if d.name in wanted):
        events = record(demo, provider, args.verifier)
        finished = events[-1]
        if not isinstance(finished, RunFinished) or finished.reason == "error":
            sys.stderr.write(f"{demo.name}: the run failed ({finished}); nothing written\n")
            return 1
        chosen = ReasoningTree.from_events(events).chosen
        if chosen is None or chosen.answer is None:
            sys.stderr.write(f"{demo.name}: the run chose no answer; nothing written\n")
            return 1
        path = args.out / f"{demo.name}.jsonl"
        write_recording(events, path)
        sys.stdout.write(f"{path}: {len(events)} events, finished: {finished.reason}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
