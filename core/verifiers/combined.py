"""Verifiers combined into one, which is a verifier like any other.

- `tiebreak` ("program>arithmetic"): the first verifier decides and the next ones only break its
  ties. The score is sum_i w_i * s_i with w_i = (1 - EPS) * EPS**i (the last takes the rest, so
  the weights sum to 1): two paths whose first scores differ by more than EPS / (1 - EPS), about
  0.001, keep the first verifier's order, whatever the others say.
- `mean` ("served_prm+arithmetic"): the mean of the scores, an ensemble.

A part whose score is unavailable for a path is left out for that path (its detail says why);
the combination is unavailable only where every part is.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

from core.providers.base import Completion
from core.verifiers.base import StepConfidence, StepScores, Verifier

EPS = 0.001
HOWS = {"tiebreak": ">", "mean": "+"}


def tiebreak(scores: Sequence[float]) -> float:
    """The first score decides; each next one moves the result by at most EPS times the last."""
    total, weight = 0.0, 1.0
    for i, score in enumerate(scores):
        share = weight if i == len(scores) - 1 else weight * (1 - EPS)
        total += share * score
        weight -= share
    return total


class Combination(Verifier):
    def __init__(self, parts: Sequence[Verifier], how: str) -> None:
        if how not in HOWS:
            raise ValueError(f"unknown combination {how!r}; choose one of {sorted(HOWS)}")
        if len(parts) < 2:
            raise ValueError("a combination needs at least two verifiers")
        self.parts = list(parts)
        self.how = how
        self.name = HOWS[how].join(p.name for p in parts)
        models = dict.fromkeys(p.model for p in parts if p.model != "rules")
        self.model = ", ".join(models) or "rules"
        self.confidence_k = max(p.confidence_k for p in parts)
        self._owners: dict[int, tuple[Completion, Verifier]] = {}  # the last score's calls

    def _owner(self, call: Completion) -> Verifier | None:
        found = self._owners.get(id(call))
        return found[1] if found is not None and found[0] is call else None

    def cost(self, call: Completion) -> float | None:
        owner = self._owner(call)
        return None if owner is None else owner.cost(call)

    def call_model(self, call: Completion) -> str:
        owner = self._owner(call)
        return self.model if owner is None else owner.call_model(call)

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        total = 0.0
        for part in self.parts:
            worst = part.worst_case_cost(question, paths)
            if worst is None:
                return None
            total += worst
        return total

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Every part scores every path; raises what a part raises (ProviderError)."""
        return self._combine(paths, [part.score(question, paths) for part in self.parts])

    def score_confident(
        self, question: str, paths: Sequence[Sequence[str]], confidences: Sequence[StepConfidence]
    ) -> StepScores:
        """`score`, the confidences handed to every part (those that read none ignore them)."""
        results = [part.score_confident(question, paths, confidences) for part in self.parts]
        return self._combine(paths, results)

    def _combine(self, paths: Sequence[Sequence[str]], results: list[StepScores]) -> StepScores:
        self._owners = {
            id(call): (call, part)
            for part, result in zip(self.parts, results, strict=True)
            for call in result.calls
        }
        scores: list[float | None] = []
        details = []
        for i in range(len(paths)):
            available = [r.scores[i] for r in results if r.scores[i] is not None]
            combine = tiebreak if self.how == "tiebreak" else fmean
            scores.append(combine(available) if available else None)
            details.append(
                "; ".join(
                    f"{p.name}: {r.details[i]}" for p, r in zip(self.parts, results, strict=True)
                )
            )
        calls = [call for result in results for call in result.calls]
        return StepScores(scores, details, calls)
