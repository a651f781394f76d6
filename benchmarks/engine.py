"""Engine benchmark: local model speed, and accuracy / tokens / seconds per strategy and budget.

.venv/bin/python benchmarks/engine.py                       # the full table (hours on 2 cores)
.venv/bin/python benchmarks/engine.py --problems 10 --budgets 1,4
.venv/bin/python benchmarks/engine.py --model qwen2.5-coder-1.5b --strategies self_consistency --budgets 4

The table runs on the 0.5B unless --model says otherwise: whether thinking pays on the small
model is what decided the default (the 1.5B); every other installed model answers greedily.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.events import NodeAdded
from core.problems.catalog import load_problem_set
from core.providers.base import GenerationRequest, Message
from core.providers.local import local_provider
from core.providers.local_model import installed_models
from core.verifiers.arithmetic import ArithmeticChecker
from deliberate.batch import rows_to_csv, summarize
from deliberate.report import format_summary
from deliberate.sweep import run_batch
from strategies import budgets_for

STRATEGIES = "direct,chain_of_thought,self_consistency,best_of_n,beam_search,mcts"
SMALL_MODEL = "qwen2.5-coder-0.5b"
SPEED_PROMPT = "Explain step by step how to compute 17% of 2,340, then give the result."


def tokens_per_second(model: str) -> float:
    provider = local_provider(model)
    request = GenerationRequest(
        (Message("user", SPEED_PROMPT),), max_tokens=200, temperature=0.0, seed=0
    )
    provider.generate(request)  # warm-up: the first call also fills caches
    start = time.perf_counter()
    (completion,) = provider.generate(request)
    return completion.usage.output_tokens / (time.perf_counter() - start)


def sampling_sweep(problems: list, model: str, temperatures: list[float], n: int) -> None:
    """Majority vote vs at least one right sample, per temperature: what a verifier could buy."""
    provider, verifier = local_provider(model), ArithmeticChecker()
    print(f"\nsampling sweep: {n} samples on {len(problems)} problems")
    print("temperature  majority  at-least-one-right")
    for temperature in temperatures:
        base = Budget(n=n, temperature=temperature)
        rows = []
        for row in run_batch(problems, ["self_consistency"], [n], provider, verifier, base):
            rows.append(row)
            print(f"  t={temperature} {row.problem_id}: {row.correct}", file=sys.stderr)
        majority = sum(1 for r in rows if r.correct)
        any_right = sum(
            1
            for problem, row in zip(problems, rows, strict=True)
            if any(isinstance(e, NodeAdded) and problem.grade(e.answer) for e in row.events)
        )
        print(f"{temperature:>11}  {majority:>4}/{len(rows)}  {any_right:>8}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=SMALL_MODEL, help="the model the table runs on")
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budgets", default="1,4,16")
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--temperature", type=float, default=Budget.temperature)
    parser.add_argument(
        "--sweep", default="", help="temperatures for a sampling sweep, e.g. 0.3,0.7"
    )
    parser.add_argument("--sweep-n", type=int, default=8)
    parser.add_argument("--csv", type=Path, help="also write every run's row here")
    args = parser.parse_args()

    models = installed_models()
    print("single-stream speed (greedy, 200 tokens):")
    for model in models:
        print(f"  {model}: {tokens_per_second(model):.1f} tokens/s")

    problems = load_problem_set("gsm_symbolic", seed=args.seed, size=args.problems)
    if args.sweep:
        sampling_sweep(
            problems, args.model, [float(t) for t in args.sweep.split(",")], args.sweep_n
        )
    base = Budget(n=1, temperature=args.temperature)
    verifier = ArithmeticChecker()
    for model in [m for m in models if m != args.model]:  # first: a long table may be cut short
        big = list(
            run_batch(problems, ["chain_of_thought"], [1], local_provider(model), verifier, base)
        )
        solved = sum(1 for r in big if r.correct)
        print(f"\n{model} greedy chain of thought: {solved}/{len(big)} "
              f"({sum(r.seconds for r in big) / len(big):.1f} s per problem)", flush=True)  # fmt: skip

    budgets = [int(b) for b in args.budgets.split(",")]
    strategies = args.strategies.split(",")
    runs_per_problem = sum(len(budgets_for(s, budgets)) for s in strategies)
    print(f"\n{len(problems)} gsm_symbolic problems (seed {args.seed}), {args.model}, "
          f"temperature {args.temperature}:", flush=True)  # fmt: skip
    rows = []
    batch = run_batch(problems, strategies, budgets, local_provider(args.model), verifier, base)
    try:
        for row in batch:
            rows.append(row)
            print(
                f"  {row.strategy} n={row.budget} {row.problem_id}: {row.correct}", file=sys.stderr
            )
            if args.csv:
                args.csv.write_text(rows_to_csv(rows), encoding="utf-8")
    except KeyboardInterrupt:  # Ctrl-C: the table of the problems that ran every strategy
        rows = rows[: len(rows) // runs_per_problem * runs_per_problem]
        print(f"interrupted: the table covers the first {len(rows) // runs_per_problem} problems")
    print(format_summary(summarize(rows)))


if __name__ == "__main__":
    main()
