"""Best-of-16 against an API without native n, and tree levels and judge calls: wall time.

A local fake server answers every request after a fixed latency (1 s by default) and, like
llama.cpp's server or Anthropic, returns one sample per request whatever `n` says. The providers
then send the samples as concurrent requests; best-of-16 should take about one call's time.

Then beam search with N beams of width 1 (each level after the root is N requests of one step)
scored by a model judge (N judge calls a level), against a server that streams its steps: wall
time per level written and per level judged, one call at a time (concurrency 1, what every
level did before levels went out concurrently) and at the default concurrency.

.venv/bin/python benchmarks/api_concurrency.py [--latency 1.0] [--n 16] [--beams 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budget import Budget
from core.events import Status, StepScored
from core.problems.base import Problem
from core.providers.anthropic_api import AnthropicProvider
from core.providers.api import DEFAULT_CONCURRENCY, ApiProvider
from core.providers.base import GenerationRequest, Message
from core.providers.openai_api import OpenAICompatibleProvider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.model_judge import ModelJudge
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_anthropic_provider import message
from tests.test_api_concurrency import level_server
from tests.test_openai_provider import chat

ANSWER = "7 pens cost 7 × 3 = 21 dollars, so the change is 50 − 21 = 29. \\boxed{29}"
PENS = Problem(
    id="pens",
    question="Pens cost $3 each. Tom buys 7 and pays with $50. What is his change?",
    answer="29",
)
REQUEST = GenerationRequest(messages=(Message("user", PENS.question),), max_tokens=64)


def timed(provider: ApiProvider, n: int) -> float:
    start = time.perf_counter()
    completions = provider.generate(GenerationRequest(**{**REQUEST.__dict__, "n": n}))
    assert len(completions) == n
    return time.perf_counter() - start


def tree_levels(latency: float, beams: int, concurrency: int) -> list[tuple[int, float, float]]:
    """Beam search scored by a model judge: (depth, seconds writing, seconds judging) per level."""
    with level_server(lambda payload: latency) as server:
        api = OpenAICompatibleProvider("bench", server.url, max_retries=0, concurrency=concurrency)
        budget = Budget(n=beams, width=1, max_depth=2, step_tokens=32)
        run = STRATEGIES["beam_search"](PENS, api, ModelJudge(api), budget)
        levels, writing, scoring = [], 0.0, 0.0
        for event in run:
            now = time.perf_counter()
            if isinstance(event, Status) and "writing" in event.text:
                writing = now
            elif isinstance(event, Status) and "scoring" in event.text:
                scoring = now
            elif isinstance(event, StepScored) and scoring:
                levels.append((len(levels) + 1, scoring - writing, now - scoring))
                scoring = 0.0
    assert event.reason == "complete", event
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request")
    parser.add_argument("--n", type=int, default=16, help="samples (best-of-n)")
    parser.add_argument("--beams", type=int, default=8, help="beam search N (width 1)")
    args = parser.parse_args()

    slow_chat = Reply(body=chat(content=ANSWER), delay=args.latency)
    slow_message = Reply(body=message(ANSWER), delay=args.latency)
    with (
        FakeApiServer(lambda payload, number: slow_chat) as server,
        FakeApiServer(lambda payload, number: slow_message) as messages_server,
    ):
        compatible = OpenAICompatibleProvider("bench", f"{server.url}/v1", max_retries=0)
        claude = AnthropicProvider(
            "claude-haiku-4-5", api_key="sk-ant-bench-0000", base_url=messages_server.url
        )
        one = timed(compatible, 1)
        first = timed(compatible, args.n)  # learns that the server ignores n
        steady = timed(compatible, args.n)
        anthropic = timed(claude, args.n)
        capped = OpenAICompatibleProvider("bench", f"{server.url}/v1", concurrency=4)
        capped.dropped.add("n")
        four = timed(capped, args.n)
        start = time.perf_counter()
        events = list(
            STRATEGIES["best_of_n"](PENS, compatible, ArithmeticChecker(), Budget(n=args.n))
        )
        strategy = time.perf_counter() - start
    assert events[-1].reason == "complete"

    print(f"server latency {args.latency:g} s per request, no native n")
    print(f"  one call                                    {one:6.2f} s")
    print(
        f"  best-of-{args.n}, compatible, first call         {first:6.2f} s  (n tried once, then fan-out)"
    )
    print(f"  best-of-{args.n}, compatible, afterwards         {steady:6.2f} s")
    print(f"  best-of-{args.n}, Anthropic                      {anthropic:6.2f} s")
    print(f"  best-of-{args.n}, concurrency capped at 4        {four:6.2f} s")
    print(f"  best_of_n strategy run (n={args.n}, scored)      {strategy:6.2f} s")
    print(f"  sequential would take                       {args.n * args.latency:6.2f} s")

    print(
        f"beam search N={args.beams}, width 1, model judge; streamed steps; per level "
        f"(depth 1: the root's one request of n={args.beams}; depth 2: {args.beams} requests)"
    )
    print(f"  {'concurrency':>11} {'depth':>5} {'writing s':>9} {'judging s':>9}")
    for concurrency in (1, DEFAULT_CONCURRENCY):
        for depth, writing, judging in tree_levels(args.latency, args.beams, concurrency):
            print(f"  {concurrency:>11} {depth:>5} {writing:9.2f} {judging:9.2f}")


if __name__ == "__main__":
    main()
