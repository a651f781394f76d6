"""Process reward models: score the last step of each path, in context of the steps before it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.providers.base import Completion


@dataclass(frozen=True)
class StepScores:
    """Scores in [0, 1] (1 = surely correct), one per path, plus what the scoring cost.

    A score of None is unavailable (a served PRM timed out, refused or answered garbage): its
    detail says why, and the step counts as unscored, never as a made-up value."""

    scores: list[float | None]
    details: list[str]
    calls: list[Completion] = field(default_factory=list)  # model calls made to score (verify cost)


# What a verifier that reads token confidence gets for each path's last step: the model's
# certainty in [0, 1] (NodeAdded.confidence), or in words why there is none.
StepConfidence = float | str


class Verifier(ABC):
    name: str = "verifier"
    model: str = "rules"  # which model's calls appear in `calls`; "rules" costs nothing
    # >0: reads the model's own token confidence over the top-k logprobs of each token; a run
    # then asks its provider for it and scores with `score_confident`.
    confidence_k: int = 0

    def cost(self, call: Completion) -> float | None:
        """Dollar cost of one of this verifier's model calls; None when the price is unknown."""
        return 0.0

    def call_model(self, call: Completion) -> str:
        """The model that made one of this verifier's calls (a combination has several)."""
        return self.model

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        """Upper bound on the dollars `score` may spend; rules spend nothing."""
        return 0.0

    def score_confident(
        self, question: str, paths: Sequence[Sequence[str]], confidences: Sequence[StepConfidence]
    ) -> StepScores:
        """`score`, given each path's last-step confidence; verifiers that read none ignore it."""
        return self.score(question, paths)

    @abstractmethod
    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Score the last step of every path; earlier steps are context (and are not re-scored)."""
