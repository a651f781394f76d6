"""Monte Carlo tree search over reasoning steps, with the PRM as the value of a new step."""

from __future__ import annotations

import math

from core.events import ROOT, NodeStats
from strategies.context import Choice, RunContext, Steps
from strategies.sampling import best_answer_node

EXPLORATION = 1.0  # UCT's c: PRM values live in [0, 1], so c ~ 1 balances the two terms


def _uct(visits: int, value: float, parent_visits: int) -> float:
    if visits == 0:
        return math.inf
    return value + EXPLORATION * math.sqrt(math.log(parent_visits + 1) / visits)


def mcts(ctx: RunContext) -> Steps[Choice]:
    """UCT selection, expansion by sampling M next steps, PRM evaluation, backup of the mean."""
    g = ctx.tree.graph
    width = ctx.budget.beam_width
    iterations = max(1, ctx.budget.n // width)  # N generations in all, like the other strategies
    visits = {ROOT: 0}
    total = {ROOT: 0.0}
    for iteration in range(1, iterations + 1):
        node = ROOT
        while g.out_degree(node) > 0:
            open_children = [c for c in g.successors(node) if not _exhausted(ctx, c)]
            if not open_children:
                break
            node = max(
                open_children,
                key=lambda c: _uct(visits[c], total[c] / max(visits[c], 1), visits[node]),
            )
        if _exhausted(ctx, node):
            break  # every path is finished or at the depth limit
        depth = g.nodes[node]["depth"] + 1
        yield ctx.status(f"iteration {iteration} of {iterations}: expanding a depth-{depth} node")
        children = yield from ctx.expand(node, width)
        values = yield from ctx.score(children)
        for child, value in zip(children, values, strict=True):
            visits[child], total[child] = 1, value
            yield ctx.emit(NodeStats(child, 1, value))
        # Back the children's values up the path: every ancestor gains len(children) visits.
        gained = sum(values)
        for ancestor in [ROOT, *ctx.tree.path(node)]:
            visits[ancestor] += len(children)
            total[ancestor] += gained
            if ancestor != ROOT:
                yield ctx.emit(
                    NodeStats(ancestor, visits[ancestor], total[ancestor] / visits[ancestor])
                )
    leaves = [n for n in g if n != ROOT and g.out_degree(n) == 0]
    best = best_answer_node(ctx, leaves)
    yield from ctx.select([best], "best finished path by PRM")
    return Choice(best, g.nodes[best].get("answer"), f"best path after {iterations} iterations")


def _exhausted(ctx: RunContext, node: str) -> bool:
    """A node that can't grow: a finished answer, the depth limit, or all its children are."""
    g = ctx.tree.graph
    if node != ROOT and (ctx.is_terminal(node) or g.nodes[node]["depth"] >= ctx.budget.max_depth):
        return True
    children = list(g.successors(node))
    return bool(children) and all(_exhausted(ctx, c) for c in children)
