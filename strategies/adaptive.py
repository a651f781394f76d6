"""Stop when the answer is settled: self-consistency that samples in small batches and stops early.

- `adaptive_consistency` (Aggarwal et al. 2023, "Let's Sample Step by Step: Adaptive-Consistency
  for Efficient Reasoning"): after each batch, a Beta posterior over the two leading answers'
  shares gives P(the current majority stays the majority); stop once it reaches CONFIDENCE.
- `early_stopping_consistency` (Li et al., ICLR 2024, ESC): windows of WINDOW samples; stop at the
  first window whose answers all agree.

Both spend at most the budget's N samples and say how many they saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import comb

from strategies.context import Choice, RunContext, Steps
from strategies.sampling import answer_groups, vote_groups

CONFIDENCE = 0.95  # the paper's threshold for the Beta stopping rule
BATCH = 2  # samples per batch: decoded together on the local engine
WINDOW = 2  # ESC's window: small, since the demo's N is small


def p_majority_holds(leading: int, runner_up: int) -> float:
    """P(p1 > p2) for Beta(leading + 1, runner_up + 1) over the two leading answers' shares:
    exactly, as a binomial tail, since both parameters are whole numbers."""
    a, b = leading + 1, runner_up + 1
    n = a + b - 1
    return sum(comb(n, j) for j in range(a)) / 2**n  # P(X > 1/2) = P(Bin(n, 1/2) < a)


def beta_rule(counts: list[int], _window_agrees: bool) -> bool:
    top = [*sorted(counts, reverse=True), 0, 0]
    return sum(counts) >= 2 and p_majority_holds(top[0], top[1]) >= CONFIDENCE


def unanimous_window(_counts: list[int], window_agrees: bool) -> bool:
    return window_agrees


def settles(
    settled: Callable[[list[int], bool], bool], answers: Sequence[str | None], batch: int, new: int
) -> bool:
    """Whether `settled(vote counts, the last batch agrees)` holds for the samples' `answers` (in
    the order drawn; None: no answer), the last `new` of them just drawn. Pure, so that
    benchmarks/adaptive.py replays the rule on stored samples exactly as a run applies it."""
    latest = answers[len(answers) - new :]
    window_agrees = new == batch and None not in latest and len(answer_counts(latest)) == 1
    return settled(answer_counts(answers), window_agrees)


def answer_counts(answers: Sequence[str | None]) -> list[int]:
    """Sizes of the groups of equal answers (1/2 == 0.5), in order of first appearance."""
    return [len(members) for members in answer_groups(answers).values()]


def sample_until(
    ctx: RunContext,
    settled: Callable[[list[int], bool], bool],
    batch: int,
    rule: str,
    drawn: Sequence[str] = (),
    n: int | None = None,
) -> Steps[Choice]:
    """Samples `batch` at a time, up to `n` (default: the budget's N), until `settled(vote
    counts, the last batch agrees)`; `drawn` are samples already written (deepconf_online's
    warm-up, compute_optimal's probe), counted among the N and checked before any new one."""
    n = ctx.budget.n if n is None else n
    yield ctx.status(f"sampling up to {n} solutions, {batch} at a time, until the vote settles")
    nodes, new = list(drawn), list(drawn)
    while len(nodes) < n:
        answers = [ctx.tree.graph.nodes[x]["answer"] for x in nodes]
        if new and settles(settled, answers, batch, len(new)):
            break
        new = yield from ctx.sample(min(batch, n - len(nodes)))
        nodes += new
    groups = vote_groups(ctx, nodes)
    used = len(nodes)
    tokens = sum(ctx.tree.graph.nodes[x]["output_tokens"] for x in nodes)
    saved = round(tokens / used * (n - used))
    note = f"stopped at {used} of {n} samples ({rule}), saved about {saved:,} tokens"
    if used == n:
        note = f"used all {n} samples: the vote never settled ({rule})"
    yield ctx.status(note)
    if not groups:
        return Choice(nodes[0], None, f"no sample gave an answer; {note}")
    answer, members = max(groups.items(), key=lambda item: len(item[1]))
    yield from ctx.select([members[0]], "majority answer")
    return Choice(members[0], answer, f"majority vote ({len(members)} of {used}); {note}")


def adaptive_consistency(
    ctx: RunContext, n: int | None = None, drawn: Sequence[str] = ()
) -> Steps[Choice]:
    """Self-consistency that stops once a Beta posterior says the majority will hold; `n` and
    `drawn` as for `strategies.sampling.self_consistency`."""
    rule = f"P(majority holds) ≥ {CONFIDENCE}"
    return (yield from sample_until(ctx, beta_rule, BATCH, rule, drawn, n))


def early_stopping_consistency(
    ctx: RunContext, n: int | None = None, drawn: Sequence[str] = ()
) -> Steps[Choice]:
    """Self-consistency in windows, stopping at the first window whose answers all agree (ESC);
    `n` and `drawn` as for `strategies.sampling.self_consistency`."""
    return (yield from sample_until(ctx, unanimous_window, WINDOW, "a unanimous window", drawn, n))
