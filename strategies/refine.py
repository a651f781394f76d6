"""Sequential scaling: draft, critique, revise, for K rounds (Madaan et al., Self-Refine)."""

from __future__ import annotations

from core.providers.base import Message
from strategies.context import Choice, RunContext, Steps

CRITIQUE_PROMPT = (
    "You check solutions to math problems. Go through the solution step by step and recheck "
    "every calculation. If there is an error, say which step is wrong and why. If every step "
    "is right, reply exactly: NO ERRORS."
)
REVISE_PROMPT = (
    "Rewrite the solution, fixing the errors the review found. Solve step by step with a blank "
    "line between steps. {answer_format}"
)
CRITIQUE_TOKENS = 160  # a review names the wrong step; it need not redo the solution


def self_refine(ctx: RunContext) -> Steps[Choice]:
    """Draft, critique and revise for K = N/2 rounds; stops early when the critique finds nothing."""
    rounds = max(1, ctx.budget.n // 2)
    question = ctx.problem.question
    yield ctx.status("writing a first draft")
    (current,) = yield from ctx.sample(1, role="draft")
    yield from ctx.score_samples([current])
    for round_index in range(1, rounds + 1):
        draft = ctx.tree.graph.nodes[current]["text"]
        yield ctx.status(f"round {round_index} of {rounds}: critiquing the draft")
        review = (
            Message("system", CRITIQUE_PROMPT),
            Message("user", f"Problem: {question}\n\nSolution:\n{draft}"),
        )
        (critique,) = yield from ctx.sample(
            1, messages=review, parent_id=current, role="critique", max_tokens=CRITIQUE_TOKENS
        )
        verdict = ctx.tree.graph.nodes[critique]["text"]
        if "NO ERRORS" in verdict.upper():
            return Choice(
                current, ctx.tree.graph.nodes[current]["answer"], "critique found no errors"
            )
        yield ctx.status(f"round {round_index} of {rounds}: revising")
        revise = (
            Message("system", REVISE_PROMPT.format(answer_format=ctx.problem.answer_format)),
            Message("user", f"Problem: {question}\n\nSolution:\n{draft}\n\nReview:\n{verdict}"),
        )
        (current,) = yield from ctx.sample(1, messages=revise, parent_id=critique, role="revision")
        yield from ctx.score_samples([current])
    answer = ctx.tree.graph.nodes[current]["answer"]
    return Choice(current, answer, f"last revision after {rounds} rounds")
