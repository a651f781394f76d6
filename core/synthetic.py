"""Synthetic event streams of any size, shaped like a beam search, for benchmarks and UI tests.

No model is involved and nothing here claims to be a real run: the provider is "synthetic".
"""

from __future__ import annotations

import random

from core.events import (
    ROOT,
    AnswerChosen,
    Event,
    NodeAdded,
    NodePruned,
    NodeSelected,
    NodeStats,
    RunFinished,
    RunStarted,
    Status,
    StepScored,
    UsageRecorded,
)


def synthetic_run(nodes: int, seed: int = 0, width: int = 4, keep: int = 3) -> list[Event]:
    """A stream with `nodes` steps: each depth expands the kept nodes `width` ways, the best
    `keep` survive, the rest are pruned; every node is scored and costed; the deepest best wins."""
    rng = random.Random(seed)
    events: list[Event] = [
        RunStarted(
            run_id=f"synthetic-{nodes}-{seed}",
            strategy="beam_search",
            question="What is 17 * 23? <b>bold?</b>",
            reference="391",
            provider="synthetic",
            model="synthetic",
            verifier="arithmetic",
            budget={"n": keep, "aggregation": "min"},
            problem_id="synthetic",
        )
    ]
    frontier, made, depth, last_kept = [ROOT], 0, 0, [ROOT]
    while made < nodes:
        depth += 1
        events.append(Status(f"depth {depth}: writing candidates"))
        scored: list[tuple[float, str]] = []
        for parent in frontier:
            for _ in range(width):
                if made >= nodes:
                    break
                made += 1
                node = f"n{made}"
                tokens = rng.randint(10, 60)
                answer = str(rng.choice([391, 391, 381, 401])) if rng.random() < 0.2 else None
                text = f"Step {depth}: 17 × {depth} = {17 * depth}. <script>alert({made})</script>"
                events.append(NodeAdded(node, parent, text, "step", tokens, answer))
                events.append(
                    UsageRecorded(
                        "generate",
                        "synthetic",
                        120 + 40 * depth,
                        tokens,
                        tokens / 45,
                        node,
                        cost_usd=tokens * 6e-8,
                    )
                )
                score = round(rng.random(), 3)
                events.append(StepScored(node, score, "arithmetic", "synthetic score"))
                events.append(NodeStats(node, rng.randint(1, 9), score))
                scored.append((score, node))
        scored.sort(reverse=True)
        kept = [node for _, node in scored[:keep]]
        events += [NodeSelected(node, f"kept at depth {depth}") for node in kept]
        events += [NodePruned(node, f"cut at depth {depth}") for _, node in scored[keep:]]
        frontier, last_kept = kept or frontier, kept or last_kept
    chosen = last_kept[0]
    answer = next(
        (e.answer for e in events if isinstance(e, NodeAdded) and e.node_id == chosen), None
    )
    events.append(AnswerChosen(chosen, answer, None if answer is None else answer == "391", "best"))
    events.append(RunFinished("complete", "synthetic run"))
    return events
