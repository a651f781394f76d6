"""How hard a problem looks from a cheap probe, and what each difficulty deserves.

Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
Model Parameters", arXiv:2408.03314) put each problem in a difficulty bin, predicted from the
verifier scores of a few samples, and choose the strategy and budget per bin. Their five quantile
bins need many samples per problem; a probe of PROBE_SAMPLES samples only tells whether they agree
and whether the verifier likes them, so here there are three bins: easy (they agree and score
high), hard (they disagree and score low, or state no answer) and medium (the rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.verifiers.grading import answers_match

PROBE_SAMPLES = 2  # the first samples of every compute_optimal run; kept and reused
BINS = ("easy", "medium", "hard")
# Arithmetic PRM scores (core/verifiers/arithmetic.py): a checked step 0.9, an unchecked one 0.6,
# a wrong one 0.05; a path scores its minimum step. So every step checked or plain is >= 0.75,
# and < 0.5 means a wrong or unexplained step on the way.
HIGH_SCORE = 0.75
LOW_SCORE = 0.5
# What compute_optimal can continue from its probe samples without throwing them away.
CONTINUABLE = (
    "self_consistency",
    "best_of_n",
    "beam_search",
    "adaptive_consistency",
    "early_stopping_consistency",
)


@dataclass(frozen=True)
class ProbeVerdict:
    bin: str  # one of BINS
    reason: str  # "the first 2 samples disagree and score low (mean 0.31)"


def _level(mean: float) -> str:
    if mean >= HIGH_SCORE:
        return "high"
    return "low" if mean < LOW_SCORE else "in between"


def judge_probe(answers: Sequence[str | None], scores: Sequence[float]) -> ProbeVerdict:
    """The bin of a problem from its probe samples' answers and verifier scores (0..1).

    Raises ValueError when there is no sample or the two sequences differ in length."""
    if not answers or len(answers) != len(scores):
        raise ValueError("a probe needs as many scores as answers, and at least one of each")
    k, mean = len(answers), sum(scores) / len(scores)
    first = "the first sample" if k == 1 else f"the first {k} samples"
    given = [a for a in answers if a is not None]
    if not given:
        return ProbeVerdict("hard", f"{first} state{'s' if k == 1 else ''} no answer")
    level = _level(mean)
    scored = f"score{'s' if k == 1 else ''} {level} ({mean:.2f})"
    if k == 1:
        agree, said = True, f"{first} {scored}"
    else:
        agree = len(given) == k and all(answers_match(a, given[0]) for a in given)
        said = f"{first} {'agree' if agree else 'disagree'} and {scored}"
    if agree and level == "high":
        return ProbeVerdict("easy", said)
    if level == "low" and (k == 1 or not agree):
        return ProbeVerdict("hard", said)
    return ProbeVerdict("medium", said)


@dataclass(frozen=True)
class Option:
    """A strategy at a budget for one bin, with what it measured there (None: not measured)."""

    strategy: str
    n: int | None  # generations; None: the run's whole budget N
    accuracy: float | None = None  # share solved, 0..1
    mean_tokens: float | None = None  # mean output tokens per problem


@dataclass(frozen=True)
class DifficultyTable:
    """Per bin, the options best first (the most accurate, then the fewest tokens)."""

    bins: tuple[tuple[str, tuple[Option, ...]], ...]
    source: str  # where the table came from, in words

    def choose(self, bin_: str, budget_n: int) -> tuple[str, int]:
        """(strategy, n) for a problem in `bin_` under a budget of `budget_n` generations: the
        best option that fits (a strategy compute_optimal can continue, n <= budget_n), then
        DEFAULT_TABLE's; the best one cut to `budget_n` when none fits. ValueError: unknown bin."""
        options = [
            option
            for name, listed in (*self.bins, *DEFAULT_TABLE.bins)
            if name == bin_
            for option in listed
            if option.strategy in CONTINUABLE
        ]
        if not options:
            raise ValueError(f"unknown difficulty bin {bin_!r}; the bins are {', '.join(BINS)}")
        for option in options:
            n = budget_n if option.n is None else option.n
            if n <= budget_n:
                return option.strategy, n
        return options[0].strategy, budget_n  # none fits: the best one, cut to the budget

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DifficultyTable:
        """Rebuild from `dataclasses.asdict` output read back from JSON."""
        bins = tuple(
            (name, tuple(Option(**option) for option in options)) for name, options in data["bins"]
        )
        return cls(bins, data["source"])


DEFAULT_TABLE = DifficultyTable(
    bins=(
        ("easy", (Option("self_consistency", PROBE_SAMPLES),)),
        ("medium", (Option("best_of_n", None),)),
        ("hard", (Option("beam_search", None),)),
    ),
    source=(
        "the default table (no batch of yours to fit from yet): easy, keep the probe's majority "
        "vote, no more samples (the probe is an early-stopping window that agreed, Li et al. "
        "2024); medium, best-of-N chosen by the PRM (README: on the 1.5B, best-of-4 by the "
        "arithmetic PRM solved 10/20 GSM-symbolic problems, self-consistency at 4 and answering "
        "at once 8/20); hard, PRM beam search (Snell et al. 2024: beam search pays on hard "
        "problems at small budgets)"
    ),
)
