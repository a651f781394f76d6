"""Build the demo deck from a measured batch: recordings/deck/ (pairs of recordings + index.json).

    .venv/bin/python scripts/make_deck.py EVENTS.jsonl

EVENTS.jsonl is what `python -m deliberate batch --events` wrote, with `direct` and `beam_search`
at N=4 among its strategies. The deck is every problem where System 2 (beam search, N=4) chose
the right answer and System 1 (direct) a wrong one, as measured; the table printed is the one
the README lists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.events import RunStarted, from_json_lines
from deliberate.audit import split_runs
from deliberate.deck import DECK_DIR, pick_pairs, write_deck


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path, help="the batch's events (batch --events)")
    parser.add_argument("--system-1", default="direct")
    parser.add_argument("--system-2", default="beam_search")
    parser.add_argument("--n", type=int, default=4, help="System 2's budget N")
    parser.add_argument("--out", type=Path, default=DECK_DIR)
    args = parser.parse_args()
    runs = split_runs(from_json_lines(args.events.read_text(encoding="utf-8").splitlines()))
    picked = pick_pairs(runs, args.system_1, args.system_2, args.n)
    problems = {run[0].problem_id for run in runs if isinstance(run[0], RunStarted)}
    models = sorted({run[0].model for run in runs if isinstance(run[0], RunStarted)})
    about = {
        "source": args.events.name,
        "model": ", ".join(models),
        "system_1": args.system_1,
        "system_2": f"{args.system_2} N={args.n}",
        "problems_measured": len(problems),
    }
    index = write_deck(picked, about, args.out)
    print(f"{len(picked)} of {len(problems)} problems: System 2 ({args.system_2}, N={args.n}) "
          f"right, System 1 ({args.system_1}) wrong. Index: {index}")  # fmt: skip
    print("| problem | difficulty | System 1 | System 2 | reference | tokens (S1 / S2) |")
    print("|---|---|---|---|---|---|")
    for pair, _, _ in picked:
        one, two = pair.system_1, pair.system_2
        print(f"| {pair.problem_id} | {pair.difficulty} | {one.answer} ✗ | {two.answer} ✓ | "
              f"{pair.reference} | {one.output_tokens:,} / {two.output_tokens:,} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
