"""Particle filtering over reasoning steps (Puri et al. 2025, "A Probabilistic Inference Approach
to Inference-Time Scaling of LLMs using Particle-Based Monte Carlo Methods").

N particles (partial solutions) each write one more step; the PRM weighs every particle by its
path score; the population is then resampled in proportion to those weights, so a promising
path may be continued several times and a weak one dropped, yet a weak one can survive by chance
(unlike beam search's hard cut). Finished particles leave the population; the best finished
path is the answer.
"""

from __future__ import annotations

import random
from collections import Counter

from core.events import ROOT
from strategies.context import Choice, RunContext, Steps
from strategies.search import finish

FLOOR = 1e-3  # a particle the PRM scores 0 keeps a sliver of weight: resampling stays possible


def particle_filtering(ctx: RunContext) -> Steps[Choice]:
    """N particles advance a step at a time and are resampled in proportion to PRM weights."""
    n = ctx.budget.n
    rng = random.Random(ctx.budget.seed)
    particles, finished = [ROOT] * n, []
    for depth in range(1, ctx.budget.max_depth + 1):
        if not particles:
            break
        yield ctx.status(f"depth {depth}: {len(particles)} particles each write a step")
        groups = yield from ctx.expand_many(particles, 1)  # one request each: they decode together
        candidates = [c for group in groups for c in group]
        yield ctx.status(f"depth {depth}: weighing {len(candidates)} particles with the PRM")
        yield from ctx.score(candidates)
        done = [c for c in candidates if ctx.is_terminal(c)]
        finished += done
        going = [c for c in candidates if c not in done]
        room = n - len(finished)
        if not going or room <= 0:
            particles = []
            break
        weights = [max(ctx.path_score(c), FLOOR) for c in going]
        particles = rng.choices(going, weights=weights, k=room)
        counts = Counter(particles)
        for node, times in counts.items():
            yield from ctx.select([node], f"resampled ×{times} (weight {ctx.path_score(node):.2f})")
        dropped = [c for c in going if c not in counts]
        yield from ctx.prune(dropped, f"not resampled at depth {depth}")
    return (
        yield from finish(ctx, finished, particles, f"best of {len(finished)} finished particles")
    )
