"""What a budget means before you press Run: calls, tokens, seconds on this machine, dollars.

The estimate is deliberately simple and documented: it counts the model calls a strategy makes
for the budget and assumes typical lengths measured on the built-in models (a grade-school solution
is about 300 tokens, a step about 50, a path about 5 steps), capped by the budget's own limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.budget import Budget
from core.ledger import format_dollars
from core.providers.base import Price, Usage
from core.providers.local_model import MODELS
from core.verifiers import verifier_parts
from core.verifiers.program import PROGRAM_TOKENS
from strategies.refine import CRITIQUE_TOKENS
from strategies.sampling import DIRECT_TOKENS

# Before any run is measured: a built-in model's own measured speed, else this one (the 0.5B's
# decoding in chat answers on 2 cores); ~270 tokens/s prefill.
DEFAULT_TOKENS_PER_SECOND = 45.0
PREFILL_TOKENS_PER_SECOND = 270.0
TYPICAL_SAMPLE_TOKENS = 300
TYPICAL_STEP_TOKENS = 50
TYPICAL_DEPTH = 5
TYPICAL_DIRECT_TOKENS = 12
PROMPT_TOKENS = 140  # system prompt and a short word problem


@dataclass(frozen=True)
class Estimate:
    unit: str  # "16 samples"
    calls: int
    output_tokens: int
    input_tokens: int
    seconds: float
    dollars: float | None

    def sentence(self) -> str:
        return (
            f"{self.unit}, about {self.output_tokens:,} tokens, about {_duration(self.seconds)} "
            f"on this machine, about {format_dollars(self.dollars)}"
        )

    def __add__(self, other: Estimate) -> Estimate:
        dollars = (
            None if self.dollars is None or other.dollars is None else self.dollars + other.dollars
        )
        return Estimate(
            unit=f"{self.calls + other.calls} model calls",
            calls=self.calls + other.calls,
            output_tokens=self.output_tokens + other.output_tokens,
            input_tokens=self.input_tokens + other.input_tokens,
            seconds=self.seconds + other.seconds,
            dollars=dollars,
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _shape(strategy: str, budget: Budget) -> tuple[str, int, int, int]:
    """(what the budget buys, generation calls, tokens per call, steps the PRM scores)."""
    n, width = budget.n, budget.beam_width
    depth = min(budget.max_depth, TYPICAL_DEPTH)
    sample = min(budget.sample_tokens, TYPICAL_SAMPLE_TOKENS)
    step = min(budget.step_tokens, TYPICAL_STEP_TOKENS)
    groups = max(1, n // width)
    if strategy == "direct":
        return "1 direct answer", 1, min(DIRECT_TOKENS, TYPICAL_DIRECT_TOKENS), 0
    if strategy == "chain_of_thought":
        return "1 chain of thought", 1, sample, depth
    if strategy == "self_consistency":
        return _plural(n, "sample") + " to vote on", n, sample, 0
    if strategy in ("adaptive_consistency", "early_stopping_consistency", "deepconf_online"):
        return f"up to {_plural(n, 'sample')}, fewer once the vote settles", n, sample, 0
    if strategy == "program_of_thought":  # n programs, run in the sandbox (no model)
        return _plural(n, "program") + " to run and vote on", n, min(sample, 320), 0
    if strategy == "best_of_n":
        return _plural(n, "sample"), n, sample, n * depth
    if strategy == "compute_optimal":  # at most: a scored probe, then beam search's steps
        return (
            f"a probe of 2 samples, then up to N={n} by difficulty",
            2 + n * depth,
            step,
            n * depth,
        )
    if strategy == "beam_search":
        return f"{_plural(n, 'beam')} of width {width}", n * depth, step, n * depth
    if strategy == "dvts":
        return (
            f"{_plural(groups, 'subtree')} of width {width}",
            groups * width * depth,
            step,
            groups * width * depth,
        )
    if strategy == "tree_of_thoughts":  # n thoughts per level, 3 one-word votes on each
        return f"{_plural(n, 'thought')} per level, the model votes on each", n * depth, step, 0
    if strategy == "particle_filtering":  # n particles, one step each per depth
        return f"{_plural(n, 'particle')}, resampled by PRM weight", n * depth, step, n * depth
    if strategy == "mcts":
        return (
            f"{_plural(groups, 'MCTS iteration')} of {width} steps",
            groups * width,
            step,
            groups * width,
        )
    if strategy == "native_thinking":  # hidden thinking sized like best-of-N's samples
        return "1 answer with hidden thinking", 1, n * sample + sample, 0
    if strategy == "self_refine":
        rounds = max(1, n // 2)
        calls = 1 + 2 * rounds
        tokens = (sample * (1 + rounds) + min(CRITIQUE_TOKENS, sample) * rounds) // calls
        return _plural(rounds, "critique round"), calls, tokens, (1 + rounds) * depth
    # A strategy with no shape here (a new one): N whole answers, a rough guess that says so.
    return (
        _plural(n, "generation") + " (a rough guess: no estimate for this strategy)",
        n,
        sample,
        0,
    )


def estimate_run(
    strategy: str,
    budget: Budget,
    verifier: str,
    price: Price | None,
    tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND,
) -> Estimate:
    unit, calls, per_call, scored = _shape(strategy, budget)
    output = min(calls * per_call, budget.max_total_tokens)
    # Each call re-reads the prompt and, for step-wise search, the path so far (half a path on average).
    path_tokens = min(budget.max_depth, TYPICAL_DEPTH) * TYPICAL_STEP_TOKENS // 2
    input_tokens = calls * (PROMPT_TOKENS + path_tokens)
    seconds = output / tokens_per_second + input_tokens / PREFILL_TOKENS_PER_SECOND
    parts = verifier_parts(verifier)  # served PRMs run elsewhere, at their own price
    if "program" in parts:  # one program written per question
        calls, output = calls + 1, output + PROGRAM_TOKENS
        input_tokens += PROMPT_TOKENS
        seconds += PROGRAM_TOKENS / tokens_per_second
    if "model_judge" in parts:  # one prefill and one token per scored step
        judge_input = scored * (PROMPT_TOKENS + path_tokens)
        input_tokens += judge_input
        output += scored
        seconds += judge_input / PREFILL_TOKENS_PER_SECOND
        calls += scored
    dollars = None if price is None else price.cost(Usage(input_tokens, output))
    return Estimate(unit, calls, output, input_tokens, seconds, dollars)


def documented_speed(model: str) -> float:
    """Tokens/s to assume for `model` (a label) before any of its runs is measured."""
    spec = next((s for s in MODELS.values() if s.label == model), None)
    return spec.tokens_per_second if spec else DEFAULT_TOKENS_PER_SECOND


def speed_note(measured: float | None, model: str) -> str:
    if measured is None:
        if any(s.label == model for s in MODELS.values()):
            where = f"the documented speed of {model} on 2 cores"
        else:
            where = "a guess until one of this model's runs is measured"
        return f"speed: {documented_speed(model):.0f} tokens/s, {where} (no run measured yet)"
    return f"speed: {measured:.0f} tokens/s, measured on your recent runs"
