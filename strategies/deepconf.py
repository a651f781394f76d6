"""DeepConf online (Fu et al. 2025, "Deep Think with Confidence", arXiv:2508.15260): stop
writing traces the model is unsure of, and stop sampling once the confident traces agree.

1. Warm-up: `warmup_size(N)` whole traces; each trace's confidence is its lowest group
   confidence (core.confidence: mean C_i over `WINDOW` tokens, nats). The bar s is a percentile
   of them: DeepConf-low keeps the top 10% (s = the 90th percentile), DeepConf-high the top 90%
   (s = the 10th), linear interpolation between traces (numpy's default).
2. Online: traces `BATCH` at a time; the provider cuts each one while it is written once the
   mean C_i of its latest `WINDOW` tokens falls below s (`GenerationRequest.stop_below_confidence`).
   A cut trace stays on the tree, pruned with the reason; its tokens are spent and counted.
3. Stop at consensus, the leading answer's share of the confidence-weighted vote over the kept
   traces reaching `CONSENSUS` (the paper's τ), or at N traces. The answer is that vote's.

Where the provider gives no token confidence (Anthropic, OpenAI's reasoning models, the embedded
model's System 1 path) the warm-up's traces go on as adaptive self-consistency, and it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.confidence import TOP_K, WINDOW, ConfidenceStop, group_confidences, lowest_full_group
from core.providers.base import Completion
from strategies.adaptive import BATCH, CONFIDENCE, beta_rule, sample_until
from strategies.context import Choice, RunContext, Steps
from strategies.sampling import vote_groups

CONSENSUS = 0.95  # τ: the leading answer's share of the weighted vote that ends sampling
KEEP_PERCENT = {"low": 10, "high": 90}  # the warm-up traces a variant's bar keeps, in percent
# The paper warms up on 16 of 512 traces (1/32). At our N of 8-32, 1/32 is less than one trace,
# and a percentile of one or two values is no estimate: a quarter of N, at least 3, leaves three
# quarters of the budget to the online phase, where the saving is.
WARMUP_SHARE = 4
WARMUP_MIN = 3


def warmup_size(n: int) -> int:
    """Warm-up traces for a budget of `n`: n // 4, at least 3, at most n."""
    return min(n, max(WARMUP_MIN, n // WARMUP_SHARE))


def lowest_group(completion: Completion) -> float | None:
    """A trace's confidence: its lowest group confidence (nats), None where none was measured."""
    measured = completion.confidence
    if measured is None or not measured.values or measured.k < 2:
        return None
    return min(group_confidences(measured.values, WINDOW))


def threshold(confidences: Sequence[float], variant: str) -> float:
    """The bar s (nats) that keeps the top KEEP_PERCENT[variant] % of the warm-up traces: their
    confidences' (100 - keep)th percentile. Raises KeyError for an unknown variant and
    ValueError for no confidences."""
    if not confidences:
        raise ValueError("the bar needs at least one warm-up confidence")
    return float(np.percentile(confidences, 100 - KEEP_PERCENT[variant]))


def weighted_vote(
    ctx: RunContext, weights: dict[str, float]
) -> tuple[str, list[str], float] | None:
    """The leading answer among the voting nodes (keys of `weights`), its nodes and its share of
    the answered weight; None while no voter has an answer."""
    groups = vote_groups(ctx, list(weights))
    if not groups:
        return None
    totals = {answer: sum(weights[x] for x in members) for answer, members in groups.items()}
    answer = max(totals, key=lambda a: totals[a])
    return answer, groups[answer], totals[answer] / sum(totals.values())


def deepconf_online(ctx: RunContext) -> Steps[Choice]:
    """DeepConf online: traces cut once unsure, sampling stopped once the confident ones agree.

    A warm-up of whole traces sets the confidence bar; later traces are cut while written once
    they fall below it; sampling stops when 95% of the confidence-weighted vote agrees. The
    warm-up's traces vote too, each with its confidence."""
    n, variant = ctx.budget.n, ctx.budget.deepconf
    ctx.confidence_k = max(ctx.confidence_k, TOP_K)
    warm = warmup_size(n)
    keep = KEEP_PERCENT[variant]
    yield ctx.status(
        f"warm-up: {warm} whole traces to set the confidence bar "
        f"(DeepConf-{variant}: the bar keeps the top {keep}% of them)"
    )
    traces = yield from ctx.sample_traces(warm)
    confidence = {node: lowest_group(c) for node, c in traces}
    weights = {node: value for node, value in confidence.items() if value is not None}
    if not weights:
        reason = ctx.step_confidence(traces[0][0])
        yield ctx.status(
            f"no token confidence ({reason}): DeepConf cannot run here, so this is adaptive "
            f"self-consistency, the warm-up's {warm} traces counted among the {n}"
        )
        rule = f"P(majority holds) ≥ {CONFIDENCE}"
        choice = yield from sample_until(ctx, beta_rule, BATCH, rule, [x for x, _ in traces])
        return replace(choice, method=f"{choice.method}; adaptive self-consistency, not DeepConf")
    yield from ctx.prune([x for x in confidence if x not in weights], "no confidence measured")
    bar = threshold(list(weights.values()), variant)
    stop = ConfidenceStop(bar, WINDOW)
    yield ctx.status(
        f"confidence bar {bar:.3f} (DeepConf-{variant}, from {len(weights)} warm-up traces); "
        f"each new trace is cut once its last {WINDOW} tokens fall below it"
    )
    full = [c.usage.output_tokens for _, c in traces]  # lengths of traces written to the end
    used, cut, cut_tokens = warm, 0, 0
    while used < n and not _agreed(ctx, weights):
        batch = yield from ctx.sample_traces(min(BATCH, n - used), stop_below=stop)
        for node, completion in batch:
            used += 1
            tokens = completion.usage.output_tokens
            if completion.finish_reason == "low_confidence":
                cut, cut_tokens = cut + 1, cut_tokens + tokens
                why = f"cut after {tokens} tokens: its confidence fell below the bar {bar:.3f}"
            else:
                full.append(tokens)
                why = _no_vote(completion, bar)
            if why:
                yield from ctx.prune([node], why)
            else:
                weights[node] = lowest_group(completion) or 0.0
        yield ctx.status(f"{used} of {n} traces, {cut} cut early; {_leading(ctx, weights)}")
    mean_full = sum(full) / len(full)
    saved = round(mean_full * (n - used) + max(0.0, mean_full * cut - cut_tokens))
    done = f"{cut} cut early, saved about {saved:,} tokens"
    note = f"stopped at {used} of {n} traces, {done}"
    if not _agreed(ctx, weights):
        note = f"used all {n} traces without a {CONSENSUS:.0%} consensus, {done}"
    yield ctx.status(note)
    voted = weighted_vote(ctx, weights)
    if voted is None:
        return Choice(traces[0][0], None, f"no kept trace gave an answer; {note}")
    answer, members, share = voted
    best = max(members, key=lambda x: weights[x])
    yield from ctx.select([best], "confidence-weighted majority")
    votes = f"{share:.0%} of the weight, {len(members)} of {len(weights)} kept traces"
    return Choice(best, answer, f"confidence-weighted vote ({votes}); {note}")


def _no_vote(completion: Completion, bar: float) -> str:
    """Why a trace written to the end gets no vote ("" if it gets one)."""
    measured = completion.confidence
    if lowest_group(completion) is None or measured is None:
        return "no confidence measured, so it has no vote"
    low = lowest_full_group(measured.values, WINDOW)
    if low is not None and low < bar:  # the provider could not stop it (a plain, unstreamed reply)
        return f"fell below the bar ({low:.3f} < {bar:.3f}) but was written to the end: no vote"
    return ""


def _leading(ctx: RunContext, weights: dict[str, float]) -> str:
    voted = weighted_vote(ctx, weights)
    if voted is None:
        return "no kept trace has an answer yet"
    return f"the leading answer {voted[0]} holds {voted[2]:.0%} of the confidence-weighted vote"


def _agreed(ctx: RunContext, weights: dict[str, float]) -> bool:
    voted = weighted_vote(ctx, weights)
    return voted is not None and voted[2] >= CONSENSUS
