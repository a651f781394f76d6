"""System 1 and parallel scaling: answer at once, one chain of thought, many samples."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from core.events import ROOT
from core.providers.base import Message
from core.verifiers.grading import answers_match
from strategies.context import Choice, RunContext, Steps

DIRECT_PROMPT = "Reply with the final answer only, no explanation. {answer_format}"
DIRECT_TOKENS = 24  # room for an answer in a box, not for reasoning


def direct(ctx: RunContext) -> Steps[Choice]:
    """System 1: the answer at once, no reasoning written.

    The reply starts inside `\\boxed{` (an assistant prefill) and, on the embedded model, a
    grammar holds it to a short answer closed by `}`; a reply that runs out of room before
    closing the box is graded "no answer", never a number taken from an unfinished sentence.
    """
    yield ctx.status("answering at once, without reasoning")
    system = DIRECT_PROMPT.format(answer_format=ctx.problem.answer_format)
    messages = (Message("system", system), Message("user", ctx.problem.question))
    (node,) = yield from ctx.sample(
        1,
        messages=messages,
        role="answer",
        max_tokens=DIRECT_TOKENS,
        temperature=0.0,
        answer_only=True,
    )
    answer = ctx.tree.graph.nodes[node]["answer"]
    return Choice(node, answer, "the only answer" if answer is not None else "no answer given")


def chain_of_thought(ctx: RunContext) -> Steps[Choice]:
    """One step-by-step solution, greedy: thinking longer, not wider."""
    yield ctx.status("writing one step-by-step solution")
    (node,) = yield from ctx.sample(1, temperature=0.0)
    yield from ctx.score_samples([node])
    return Choice(node, ctx.tree.graph.nodes[node]["answer"], "the only chain")


def answer_groups(answers: Sequence[str | None]) -> dict[str, list[int]]:
    """Indexes of equal answers (1/2 == 0.5), grouped in order of first appearance; None left out."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, answer in enumerate(answers):
        if answer is not None:
            key = next((k for k in groups if answers_match(answer, k)), answer)
            groups[key].append(i)
    return dict(groups)


def vote_groups(ctx: RunContext, nodes: list[str]) -> dict[str, list[str]]:
    """Nodes grouped by equal answers (1/2 == 0.5), in order; nodes with no answer left out."""
    answers = [ctx.tree.graph.nodes[node]["answer"] for node in nodes]
    return {key: [nodes[i] for i in members] for key, members in answer_groups(answers).items()}


def _vote(
    ctx: RunContext, nodes: list[str], weights: dict[str, float]
) -> tuple[str, str, int] | None:
    """The heaviest answer group: (answer, its best node, group size)."""
    groups = vote_groups(ctx, nodes)
    if not groups:
        return None
    totals = {key: sum(weights[n] for n in members) for key, members in groups.items()}
    # Equal weights (every score unavailable: all 0) leave it to the plain majority.
    answer = max(groups, key=lambda key: (totals[key], len(groups[key])))
    best_node = max(groups[answer], key=lambda n: weights[n])
    return answer, best_node, len(groups[answer])


def more_samples(ctx: RunContext, n: int, drawn: Sequence[str], purpose: str) -> Steps[list[str]]:
    """`drawn` (samples already written, e.g. a probe) and new ones up to `n` in all."""
    more = n - len(drawn)
    if more <= 0:
        yield ctx.status(f"using the {len(drawn)} samples already written {purpose}, no new ones")
        return list(drawn)
    kept = f" (and {len(drawn)} already written)" if drawn else ""
    yield ctx.status(f"sampling {more} solutions{kept} {purpose}")
    return [*drawn, *(yield from ctx.sample(more))]


def self_consistency(
    ctx: RunContext, n: int | None = None, drawn: Sequence[str] = ()
) -> Steps[Choice]:
    """N samples, majority vote on the final answer (no verifier).

    `n` overrides the budget's N; `drawn` are samples already written, counted among the N."""
    n = n or ctx.budget.n
    nodes = yield from more_samples(ctx, n, drawn, "to vote on")
    voted = _vote(ctx, nodes, dict.fromkeys(nodes, 1.0))
    if voted is None:
        return Choice(nodes[0], None, "no sample gave an answer")
    answer, node, votes = voted
    yield from ctx.select([node], "majority answer")
    return Choice(node, answer, f"majority vote ({votes} of {len(nodes)} samples)")


def best_of_n(ctx: RunContext, n: int | None = None, drawn: Sequence[str] = ()) -> Steps[Choice]:
    """N samples scored by the PRM; pick the best aggregate score or the PRM-weighted vote.

    `n` overrides the budget's N; `drawn` are samples already written and scored, counted among
    the N and never scored twice."""
    n, how = n or ctx.budget.n, ctx.budget.aggregation
    nodes = yield from more_samples(ctx, n, drawn, "for the verifier to rank")
    new = nodes[len(drawn) :]
    # A probe sample the verifier could not score (None) weighs nothing, as new ones do.
    scores = {x: ctx.tree.graph.nodes[x]["score"] or 0.0 for x in drawn}
    if new:
        yield ctx.status(f"scoring every step of {len(new)} solutions ({how} of step scores)")
        scores.update(zip(new, (yield from ctx.score_samples(new)), strict=True))
    if ctx.budget.selection in ("weighted_vote", "filtered_vote"):
        voters = nodes
        if ctx.budget.selection == "filtered_vote":
            voters = sorted(nodes, key=lambda x: scores[x], reverse=True)[: (len(nodes) + 1) // 2]
            yield from ctx.prune([x for x in nodes if x not in voters], "filtered out: bottom half")
        voted = _vote(ctx, voters, scores)
        if voted is not None:
            answer, best, size = voted
            agreed = set(vote_groups(ctx, voters)[answer])  # they voted for it: not cut
            kept = "the top half's " if voters != nodes else ""
            yield from ctx.select([best], "PRM-weighted majority")
            yield from ctx.prune([x for x in voters if x not in agreed], "outvoted")
            why = f"{kept}PRM-weighted majority vote ({size} of {len(voters)} samples)"
            return Choice(best, answer, why)
    best = max(nodes, key=lambda x: scores[x])
    yield from ctx.select([best], f"highest {how} PRM score")
    yield from ctx.prune([x for x in nodes if x != best], "lower PRM score")
    return Choice(best, ctx.tree.graph.nodes[best]["answer"], f"highest {how} PRM score")


def best_answer_node(ctx: RunContext, nodes: list[str]) -> str:
    """Among finished paths prefer the best path score; otherwise the best partial path."""
    finished = [n for n in nodes if ctx.tree.graph.nodes[n]["answer"] is not None]
    return max(finished or nodes or [ROOT], key=ctx.path_score)
