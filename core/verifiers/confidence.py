"""The model's own confidence as a verifier: DeepConf-style (Fu et al. 2025, arXiv:2508.15260).

Free where the model's token logprobs come with its text: the embedded engine reads them from the
logits it samples from, OpenAI-compatible servers return them when asked. A step's score is its
certainty (core.confidence): the lowest group confidence of the step's tokens, 1 - ln(k) / C,
in [0, 1]. It reads no text: a confident wrong step scores as high as a confident right one, so it
ranks samples by how sure the model was, nothing more. Where the provider gives no logprobs
(Anthropic, OpenAI's reasoning models) every score is unavailable, and the detail says why.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.confidence import TOP_K, WINDOW
from core.verifiers.base import StepConfidence, StepScores, Verifier

NOT_GIVEN = "no token confidence was passed to the verifier (only a run records it)"


class ConfidenceVerifier(Verifier):
    name = "confidence"
    confidence_k = TOP_K

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """With no confidences at hand, every path is unavailable."""
        return self.score_confident(question, paths, [NOT_GIVEN] * len(paths))

    def score_confident(
        self, question: str, paths: Sequence[Sequence[str]], confidences: Sequence[StepConfidence]
    ) -> StepScores:
        """Each path's score is its last step's certainty; raises ValueError if the counts of
        paths and confidences differ."""
        if len(confidences) != len(paths):
            raise ValueError(f"{len(paths)} paths but {len(confidences)} confidences")
        scores: list[float | None] = []
        details = []
        for confidence in confidences:
            if isinstance(confidence, str):
                scores.append(None)
                details.append(f"confidence unavailable: {confidence}")
            else:
                scores.append(confidence)
                details.append(
                    f"the model's certainty {confidence:.3f} (its least sure {WINDOW} tokens)"
                )
        return StepScores(scores, details)
