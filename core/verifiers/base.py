"""Process reward models: score the last step of each path, in context of the steps before it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.providers.base import Completion


@dataclass(frozen=True)
class StepScores:
    """Scores in [0, 1] (1 = surely correct), one per path, plus what the scoring cost."""

    scores: list[float]
    details: list[str]
    calls: list[Completion] = field(default_factory=list)  # model calls made to score (verify cost)


class Verifier(ABC):
    name: str = "verifier"
    model: str = "rules"  # which model's calls appear in `calls`; "rules" costs nothing

    def cost(self, call: Completion) -> float | None:
        """Dollar cost of one of this verifier's model calls; None when the price is unknown."""
        return 0.0

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        """Upper bound on the dollars `score` may spend; rules spend nothing."""
        return 0.0

    @abstractmethod
    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Score the last step of every path; earlier steps are context (and are not re-scored)."""
