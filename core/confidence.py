"""How sure the model was of what it wrote, from its own token logprobs: DeepConf's confidence
(Fu et al. 2025, "Deep Think with Confidence", arXiv:2508.15260).

- Token confidence: C_i = -(1/k) * sum_{j=1..k} log P_i(j), the negative mean log-probability of
  the k most likely tokens at position i (the sampled one need not be among them). A peaked
  distribution (one sure token, the others improbable) gives a large C_i; the flattest the top k
  can be, k tokens at 1/k each, gives the least, ln k. Units: nats.
- Group confidence: the mean of C_i over a sliding window of `WINDOW` tokens (a text shorter
  than the window is one group).
- A text's confidence: its lowest group confidence, the least sure stretch, which DeepConf found
  to separate right from wrong traces better than the mean over the whole trace.
- Certainty in [0, 1]: 1 - ln(k) / C. C / ln(k) is the confidence in units of "as flat as the
  top k can be", so the map sends that floor to 0 and a sharper and sharper peak towards 1, with
  nothing fitted, and texts scored with different k (a server that returns fewer than asked)
  stay comparable. It is monotone in C: ranking by certainty is ranking by DeepConf's confidence.
- DeepConf online's early stop (`ConfidenceStop`): a trace is cut while it is written once the
  group confidence of its latest `window` tokens falls below a threshold set by a warm-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

import numpy as np

TOP_K = 20  # DeepConf's k, and the most top logprobs OpenAI returns
# DeepConf's groups are 2,048 tokens of traces many thousand tokens long; our steps are about
# 100 tokens, so a group is a sentence or two: one unsure calculation shows, one unsure word not.
WINDOW = 32


def token_confidence(top_logprobs: Sequence[float]) -> float:
    """C_i from the top-k logprobs at one position (natural log); raises ValueError if empty."""
    if not top_logprobs:
        raise ValueError("token confidence needs at least one top logprob")
    return -fmean(top_logprobs)


def logits_confidence(logits: np.ndarray, k: int) -> float:
    """C_i straight from one position's raw logits (shape (vocab,)): the log-softmax of the top k
    is logit_j - logsumexp(logits), so C_i = logsumexp(logits) - mean(top-k logits). One pass
    for the log-sum-exp and a partial sort for the top k: no full softmax, no sort."""
    peak = float(logits.max())
    log_sum = peak + math.log(float(np.exp(logits - peak).sum(dtype=np.float64)))
    top = np.partition(logits, logits.size - k)[logits.size - k :]
    return log_sum - float(top.mean())


def group_confidences(values: Sequence[float], window: int = WINDOW) -> list[float]:
    """Means of `values` over every window of `window` consecutive tokens (one for a shorter text)."""
    if len(values) <= window:
        return [fmean(values)] if values else []
    sums = np.cumsum([0.0, *values])
    return list((sums[window:] - sums[:-window]) / window)


def certainty(confidence: float, k: int) -> float:
    """1 - ln(k) / C, clipped to [0, 1] (rounded logprobs can dip C just below ln k)."""
    if confidence <= 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - math.log(k) / confidence))


@dataclass(frozen=True)
class TokenConfidence:
    """What a provider reports for one completion: C_i per generated token, from the top k."""

    values: tuple[float, ...]
    k: int

    def certainty(self, window: int = WINDOW) -> float | None:
        """The lowest group confidence mapped to [0, 1]; None with no tokens or k < 2 (one
        alternative says nothing about how flat the distribution was)."""
        if not self.values or self.k < 2:
            return None
        return certainty(min(group_confidences(self.values, window)), self.k)


def lowest_full_group(values: Sequence[float], window: int = WINDOW) -> float | None:
    """The lowest mean of C_i over `window` consecutive tokens, each mean computed as
    `ConfidenceStop` computes it while the text is written; None for a text shorter than the
    window (no full group, so no early stop could have looked at it)."""
    if len(values) < window:
        return None
    return min(fmean(values[end - window : end]) for end in range(window, len(values) + 1))


@dataclass(frozen=True)
class ConfidenceStop:
    """DeepConf online's early stop (Fu et al. 2025, online mode): once a trace has `window`
    tokens, it is cut as soon as the mean C_i of its latest `window` tokens (its running group
    confidence, nats) falls below `threshold`. The token that made it fall stays in the trace."""

    threshold: float
    window: int = WINDOW

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"the confidence window must be at least 1 token (got {self.window})")

    def fires(self, values: Sequence[float]) -> bool:
        """True if the trace whose C_i so far are `values` is cut after its latest token."""
        window = self.window
        return len(values) >= window and fmean(values[len(values) - window :]) < self.threshold

    def cut_at(self, values: Sequence[float]) -> int | None:
        """How many tokens a trace with these C_i keeps when the rule is applied as it is
        written: the length at which it first fires, or None if it never does."""
        return next((end for end in range(1, len(values) + 1) if self.fires(values[:end])), None)
