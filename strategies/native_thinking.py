"""Native thinking: the model's own hidden reasoning (OpenAI reasoning effort, Anthropic extended
thinking) in one call, costed like any other strategy.

How much it may think comes from the same Budget as explicit search, so the two sit on the same
cost axes. The thinking allowance is what best-of-N would spend writing its samples (n whole
solutions of `sample_tokens` each, at least Anthropic's minimum of 1,024); OpenAI, which takes an
effort level instead of a token count, gets low for n of 1-2, medium for 3-8, high above 8. The
call may write the thinking allowance plus one solution's worth of answer.
"""

from __future__ import annotations

from core.budget import Budget
from core.events import ROOT
from core.providers.base import GenerationRequest
from strategies.caps import RunStopped
from strategies.context import Choice, RunContext, Steps

EFFORTS = ((2, "low"), (8, "medium"))  # (largest n, effort); more samples than that: high
MIN_THINKING_TOKENS = 1024


def thinking_plan(budget: Budget) -> tuple[str, int]:
    """(reasoning effort, thinking tokens) for a budget, as explained above."""
    effort = next((name for most, name in EFFORTS if budget.n <= most), "high")
    return effort, max(MIN_THINKING_TOKENS, budget.n * budget.sample_tokens)


def native_thinking(ctx: RunContext) -> Steps[Choice]:
    """The model thinks in hidden tokens (reasoning effort / extended thinking), then answers once."""
    provider = ctx.provider
    if not provider.native_thinking:
        raise RunStopped(
            "error",
            f"{provider.name} model {provider.model!r} has no native thinking: use an OpenAI "
            f"reasoning model (o3, o4-mini, gpt-5...), an Anthropic model with extended thinking, "
            f"or a compatible server marked as serving a reasoning model",
        )
    effort, thinking = thinking_plan(ctx.budget)
    yield ctx.status(f"thinking natively: effort {effort}, up to {thinking:,} thinking tokens")
    request = GenerationRequest(
        messages=ctx.solve_messages(),
        max_tokens=thinking + ctx.budget.sample_tokens,
        temperature=ctx.budget.temperature,
        top_p=ctx.budget.top_p,
        seed=ctx.budget.seed,
        reasoning_effort=effort,
        thinking_tokens=thinking,
    )
    starts = ctx.starts(ROOT, 1, "answer")  # the node is drawn as the call goes out
    answers, stopped = yield from ctx.call_many([request], [starts])
    if stopped is not None:
        raise stopped
    (completion,) = answers[0]
    (node,) = yield from ctx.add_nodes(
        ROOT, [[completion]], "answer", whole_answer=True, node_ids=[starts[0].node_id]
    )
    yield ctx.status(f"thought for {completion.usage.reasoning_tokens:,} hidden tokens")
    yield from ctx.score_samples([node])
    return Choice(
        node, ctx.tree.graph.nodes[node]["answer"], "the model's one answer after thinking"
    )
