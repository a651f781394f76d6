"""Tree of Thoughts, breadth-first (Yao et al. 2023): at each level every kept state proposes k
next thoughts, the model itself values each new state by votes ("sure", "likely",
"impossible", as in the paper's value prompt), and the best b states are kept.

b is the beam width M and k = N / M, so that N thoughts are written per level, as in beam
search; the difference is who judges: the model's own votes, not the PRM. The value calls are
ledgered as verification.
"""

from __future__ import annotations

import re

from core.events import ROOT, StepScored, UsageRecorded
from core.providers.base import GenerationRequest, Message
from strategies.context import Choice, RunContext, Steps
from strategies.search import finish

VALUE_PROMPT = (
    "Evaluate whether the partial solution below is on track to solve the problem correctly. "
    "Check its calculations. Reply with one word: sure, likely or impossible."
)
VOTES = 3  # value samples per state, as in the paper
VALUE_TOKENS = 4
VALUES = {"sure": 1.0, "likely": 0.5, "impossible": 0.0}


def _vote(text: str) -> str | None:
    match = re.search(r"\b(sure|likely|impossible)\b", text.lower())
    return match.group(1) if match else None


def value_states(ctx: RunContext, nodes: list[str]) -> Steps[list[float]]:
    """The model's votes on each state; an unreadable vote counts as "likely" and says so."""
    question = ctx.problem.question
    requests = [
        GenerationRequest(
            messages=(
                Message("system", VALUE_PROMPT),
                Message("user", f"Problem: {question}\n\nPartial solution:\n{ctx.prefix(n)}"),
            ),
            n=VOTES,
            max_tokens=VALUE_TOKENS,
            temperature=0.7,
            seed=ctx.budget.seed + i,
        )
        for i, n in enumerate(nodes)
    ]
    answers, stopped = yield from ctx.call_many(requests)
    values = []
    for node, completions in zip(nodes, answers, strict=False):
        votes = [_vote(c.text) for c in completions]
        value = sum(VALUES.get(v or "likely", 0.5) for v in votes) / len(votes)
        shown = ", ".join(v or "unreadable" for v in votes)
        yield ctx.emit(StepScored(node, value, "model votes", f"votes: {shown}"))
        for call in completions:
            yield ctx.emit(
                UsageRecorded(
                    "verify",
                    ctx.provider.model,
                    call.usage.input_tokens,
                    call.usage.output_tokens,
                    round(call.seconds, 4),
                    node,
                    call.usage.cached_tokens,
                    call.usage.reasoning_tokens,
                    ctx.provider.cost(call.usage),
                )
            )
        values.append(value)
    if stopped is not None:
        raise stopped
    return values


def tree_of_thoughts(ctx: RunContext) -> Steps[Choice]:
    """BFS: each kept state proposes N/M thoughts, the model votes on each, the best M stay."""
    keep = ctx.budget.beam_width
    ways = max(1, ctx.budget.n // keep)
    states, finished = [ROOT], []
    for depth in range(1, ctx.budget.max_depth + 1):
        if not states:
            break
        yield ctx.status(f"depth {depth}: {len(states)} states propose {ways} thoughts each")
        groups = yield from ctx.expand_many(states, ways)
        thoughts = [t for group in groups for t in group]
        yield ctx.status(f"depth {depth}: the model votes on {len(thoughts)} thoughts")
        yield from value_states(ctx, thoughts)
        done = [t for t in thoughts if ctx.is_terminal(t)]
        finished += done
        ranked = sorted((t for t in thoughts if t not in done), key=ctx.path_score, reverse=True)
        states = ranked[: max(0, keep - len(finished))]
        yield from ctx.select(states, f"kept at depth {depth}")
        yield from ctx.prune([t for t in ranked if t not in states], "lower vote value")
    return (yield from finish(ctx, finished, states, f"best of {len(finished)} finished states"))
