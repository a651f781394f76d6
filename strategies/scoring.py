"""The PRM side of a run context: verifier calls within the caps, step scores and confidences
as events, and path scores. `RunContext` (strategies/context.py) holds the state it reads."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TypeVar

from core.budget import Budget
from core.events import Event, StepScored
from core.problems.base import Problem
from core.providers.base import STEP_STOP, Completion, Provider, ProviderError
from core.tree import ReasoningTree
from core.verifiers.aggregate import aggregate
from core.verifiers.base import StepConfidence, StepScores, Verifier
from strategies.caps import Caps, RunStopped

T = TypeVar("T")
Steps = Generator[Event, None, T]  # a strategy step: events out, then a value
PER_CALL = "confidence is measured per model call: this sample's is scored at its last step"


class Scoring:
    """Scoring for a run; the attributes below are set by RunContext."""

    problem: Problem
    provider: Provider
    verifier: Verifier
    budget: Budget
    tree: ReasoningTree
    caps: Caps
    confidence_k: int
    _no_confidence: dict[str, str]
    should_stop: Callable[[], bool]
    emit: Callable[[Event], Event]
    usage_event: Callable[[Completion, str, str | None, float | None], Event]
    stopped_message: Callable[[], str]

    def verify(
        self, paths: list[list[str]], confidences: Sequence[StepConfidence] | None = None
    ) -> StepScores:
        """Run the verifier within the spending cap; its failures stop the run like any call's.
        `confidences`: each path's last-step confidence, for a verifier that reads it."""
        if self.should_stop():
            raise RunStopped("stopped", self.stopped_message())
        if self.budget.max_dollars is not None:
            self.caps.check_spend(self.verifier.worst_case_cost(self.problem.question, paths))
        try:
            if confidences is not None:
                return self.verifier.score_confident(self.problem.question, paths, confidences)
            return self.verifier.score(self.problem.question, paths)
        except ProviderError as exc:
            message = f"the verifier failed: {exc}"
            raise RunStopped("error", message, exc.partial, role="verify") from exc

    def _certainty(self, node_id: str, calls: Sequence[Completion]) -> float | None:
        """A node's certainty (core.confidence): the least of its calls', each the lowest group
        confidence of that call's tokens; None, with the reason kept, where a call has none."""
        if not self.confidence_k:
            return None
        measured = [c.confidence for c in calls]
        if any(m is None for m in measured):
            self._no_confidence[node_id] = self.provider.no_confidence_reason()
            return None
        values = [m.certainty() for m in measured if m is not None]
        if any(v is None for v in values):
            self._no_confidence[node_id] = "no token was written, so there is none to measure"
            return None
        return min(v for v in values if v is not None)

    def step_confidence(self, node_id: str) -> StepConfidence:
        """A node's certainty in [0, 1], or in words why it has none."""
        value = self.tree.graph.nodes[node_id].get("confidence")
        if value is not None:
            return value
        return self._no_confidence.get(node_id, "this step's model call measured no confidence")

    def score(self, node_ids: Sequence[str]) -> Steps[list[float]]:
        """PRM-score the last step of each node's path. Returns a value per node to rank by: its
        score, or if it could not be scored (the event says why), its path's scored steps'."""
        if not node_ids:
            return []
        confidences = [self.step_confidence(n) for n in node_ids] if self.confidence_k else None
        scored = self.verify([self.tree.steps(n) for n in node_ids], confidences)
        for node_id, value, detail in zip(node_ids, scored.scores, scored.details, strict=True):
            yield self.emit(StepScored(node_id, value, self.verifier.name, detail))
        yield from self._verify_usage(scored.calls)
        return [
            self.path_score(n) if value is None else value
            for n, value in zip(node_ids, scored.scores, strict=True)
        ]

    def score_samples(self, node_ids: Sequence[str]) -> Steps[list[float]]:
        """PRM-score every step inside whole-answer nodes; a node's score is the aggregate of
        the steps that could be scored (none: unavailable, and 0.0 to rank by)."""
        values = []
        for node_id in node_ids:
            steps = [
                s for s in self.tree.graph.nodes[node_id]["text"].split(STEP_STOP) if s.strip()
            ]
            steps = steps or [""]
            confidences = None
            if self.confidence_k:  # one call wrote them all: its confidence goes to the last
                confidences = [*[PER_CALL] * (len(steps) - 1), self.step_confidence(node_id)]
            scored = self.verify([steps[: i + 1] for i in range(len(steps))], confidences)
            available = [s for s in scored.scores if s is not None]
            value = aggregate(available, self.budget.aggregation) if available else None
            detail = "; ".join(f"step {i + 1}: {d}" for i, d in enumerate(scored.details))
            yield self.emit(
                StepScored(node_id, value, self.verifier.name, detail, tuple(scored.scores))
            )
            yield from self._verify_usage(scored.calls)
            values.append(0.0 if value is None else value)
        return values

    def _verify_usage(self, calls: Sequence[Completion]) -> Iterator[Event]:
        for completion in calls:
            yield self.usage_event(completion, "verify", None, self.verifier.cost(completion))

    def path_score(self, node_id: str) -> float:
        scores = [
            self.tree.graph.nodes[n]["score"]
            for n in self.tree.path(node_id)
            if self.tree.graph.nodes[n]["score"] is not None
        ]
        return aggregate(scores, self.budget.aggregation) if scores else 0.0
