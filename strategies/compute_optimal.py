"""Compute-optimal scaling per problem (Snell et al. 2024, arXiv:2408.03314): a cheap probe judges
how hard the problem is, and a table says which strategy and budget that difficulty deserves.

The probe's samples are kept: the chosen strategy continues from them (they are among
self-consistency's votes, best-of-N's candidates and the stopping rules' first window, and
compete with beam search's finished beams), so a run writes PROBE_SAMPLES + the rest, never
PROBE_SAMPLES + the whole budget.
"""

from __future__ import annotations

from core.difficulty import DEFAULT_TABLE, PROBE_SAMPLES, judge_probe
from core.events import DifficultyJudged
from strategies.adaptive import adaptive_consistency, early_stopping_consistency
from strategies.context import Choice, RunContext, Steps
from strategies.sampling import best_of_n, self_consistency
from strategies.search import beam_search, finish

CONTINUE = {
    "self_consistency": self_consistency,
    "best_of_n": best_of_n,
    "adaptive_consistency": adaptive_consistency,
    "early_stopping_consistency": early_stopping_consistency,
}
STOPPING = ("adaptive_consistency", "early_stopping_consistency")  # may stop before N

NAMES = {
    "self_consistency": "self-consistency",
    "best_of_n": "best-of-N",
    "beam_search": "beam search",
    "adaptive_consistency": "adaptive self-consistency",
    "early_stopping_consistency": "early-stopping self-consistency",
}


def _plan(strategy: str, n: int, probe: int) -> str:
    """What the chosen strategy will do, in words."""
    these = "this sample" if probe == 1 else f"these {probe} samples"
    if n <= probe:
        decides = "verifier" if strategy in ("best_of_n", "beam_search") else "majority vote"
        return f"the {decides} over {these} decides, with no new sample"
    if strategy == "beam_search":
        return f"beam search with N={n - probe}, {these} competing with its beams"
    up_to = "up to " if strategy in STOPPING else ""
    return f"{NAMES[strategy]} with {up_to}N={n}, {these} counted among them"


def compute_optimal(ctx: RunContext) -> Steps[Choice]:
    """A probe of 2 samples judges how hard the problem is; the rest of the budget goes to the
    strategy that difficulty deserves (Snell et al. 2024)."""
    table = ctx.budget.difficulty_table or DEFAULT_TABLE
    k = min(PROBE_SAMPLES, ctx.budget.n)
    yield ctx.status(f"probe: {k} sample{'s' if k > 1 else ''} to judge how hard this is")
    probe = yield from ctx.sample(k)
    scores = yield from ctx.score_samples(probe)
    verdict = judge_probe([ctx.tree.graph.nodes[x]["answer"] for x in probe], scores)
    strategy, n = table.choose(verdict.bin, ctx.budget.n)
    n = max(n, k)  # the probe is paid for: it is always used
    reason = f"{verdict.reason}: this looks {verdict.bin}, so {_plan(strategy, n, k)}"
    yield ctx.emit(DifficultyJudged(verdict.bin, strategy, n, tuple(probe), reason))
    yield ctx.status(reason)
    if strategy == "beam_search":
        if n == k:
            return (yield from finish(ctx, probe, [], f"best of the {k} probe samples"))
        return (yield from beam_search(ctx, n - k, finished=probe))
    return (yield from CONTINUE[strategy](ctx, n, drawn=probe))
