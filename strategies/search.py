"""Step-level tree search guided by the PRM: beam search and diverse verifier tree search (DVTS)."""

from __future__ import annotations

from collections.abc import Sequence

from core.events import ROOT
from strategies.context import Choice, RunContext, Steps
from strategies.sampling import best_answer_node


def finish(ctx: RunContext, finished: list[str], active: list[str], why: str) -> Steps[Choice]:
    """Select the best finished path (else the best active one) as the answer."""
    best = best_answer_node(ctx, finished or active)
    yield from ctx.select([best], why)
    return Choice(best, ctx.tree.graph.nodes[best].get("answer"), why)


def beam_search(
    ctx: RunContext, n: int | None = None, finished: Sequence[str] = ()
) -> Steps[Choice]:
    """N beams, each kept beam expands M ways per step, the PRM keeps the best N/M.

    `n` overrides the budget's N; `finished` are scored whole solutions already written (a
    probe's samples), which compete with the finished beams for the answer."""
    n = n or ctx.budget.n
    width = min(ctx.budget.width, n)
    keep = max(1, n // width)
    active, finished = [ROOT], list(finished)
    done_before = len(finished)
    for depth in range(1, ctx.budget.max_depth + 1):
        if not active:
            break
        ways = n if active == [ROOT] else width  # the root fans out to all N beams at once
        yield ctx.status(f"depth {depth}: writing {ways * len(active)} candidate steps")
        groups = yield from ctx.expand_many(active, ways)  # all beams decode together
        candidates = [c for group in groups for c in group]
        yield ctx.status(
            f"depth {depth}: scoring {len(candidates)} candidate steps, keeping {keep}"
        )
        yield from ctx.score(candidates)
        done = [c for c in candidates if ctx.is_terminal(c)]
        finished += done
        ranked = sorted((c for c in candidates if c not in done), key=ctx.path_score, reverse=True)
        # Small models often write the same step twice; a copy would waste a beam.
        unique, seen = [], set()
        for candidate in ranked:
            if (text := ctx.prefix(candidate)) not in seen:
                seen.add(text)
                unique.append(candidate)
        yield from ctx.prune([c for c in ranked if c not in unique], "same text as a kept step")
        active = unique[: max(0, keep - len(finished) + done_before)]
        yield from ctx.select(active, f"kept at depth {depth}")
        yield from ctx.prune([c for c in unique if c not in active], f"cut at depth {depth}")
    return (yield from finish(ctx, finished, active, f"best of {len(finished)} finished beams"))


def dvts(ctx: RunContext) -> Steps[Choice]:
    """N/M independent subtrees, each a greedy PRM-guided path of width M: search for diversity.

    The subtrees advance in step, one depth at a time, so that their expansions decode together.
    """
    width = ctx.budget.beam_width
    subtrees = max(1, ctx.budget.n // width)
    leaves = [ROOT] * subtrees
    for depth in range(1, ctx.budget.max_depth + 1):
        going = [i for i, leaf in enumerate(leaves) if not ctx.is_terminal(leaf)]
        if not going:
            break
        yield ctx.status(
            f"depth {depth}: {len(going)} of {subtrees} subtrees, {width} candidates each, "
            "keeping 1 per subtree"
        )
        groups = yield from ctx.expand_many([leaves[i] for i in going], width)
        yield from ctx.score([c for group in groups for c in group])
        for i, candidates in zip(going, groups, strict=True):
            leaves[i] = max(candidates, key=ctx.path_score)
            yield from ctx.select([leaves[i]], f"subtree {i + 1}: best at depth {depth}")
            yield from ctx.prune([c for c in candidates if c != leaves[i]], "lower PRM score")
    finished = [leaf for leaf in leaves if ctx.tree.graph.nodes[leaf].get("answer") is not None]
    return (yield from finish(ctx, finished, leaves, f"best of {subtrees} subtrees"))
