"""Verifiers by name: a rule-based arithmetic PRM and a model-as-PRM judge."""

from __future__ import annotations

from core.providers.base import Provider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.base import Verifier
from core.verifiers.model_judge import ModelJudge

VERIFIERS: dict[str, str] = {
    "arithmetic": "Arithmetic checker: recomputes every calculation in a step (rules, free)",
    "model_judge": "Model as PRM: the model judges each step; P(yes) from its logprobs",
}


def make_verifier(name: str, provider: Provider) -> Verifier:
    """Build a verifier; the judge uses `provider` (its calls are costed as verification)."""
    if name == "arithmetic":
        return ArithmeticChecker()
    if name == "model_judge":
        return ModelJudge(provider)
    raise ValueError(f"unknown verifier {name!r}; choose one of {sorted(VERIFIERS)}")
