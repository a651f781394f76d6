"""Verifiers by name: a rule-based arithmetic PRM, a model-as-PRM judge, program-aided checking."""

from __future__ import annotations

from core.providers.base import Provider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.base import Verifier
from core.verifiers.model_judge import ModelJudge
from core.verifiers.program import ProgramChecker

VERIFIERS: dict[str, str] = {
    "arithmetic": "Arithmetic checker: recomputes every calculation in a step (rules, free)",
    "model_judge": "Model as PRM: the model judges each step; P(yes) from its logprobs",
    "program": "Program-aided: the model writes a Python program for the problem, run in a "
    "sandbox; final answers that agree with it score high, steps are checked by arithmetic",
}


def make_verifier(name: str, provider: Provider) -> Verifier:
    """Build a verifier; the judge uses `provider` (its calls are costed as verification)."""
    if name == "arithmetic":
        return ArithmeticChecker()
    if name == "model_judge":
        return ModelJudge(provider)
    if name == "program":
        return ProgramChecker(provider)
    raise ValueError(f"unknown verifier {name!r}; choose one of {sorted(VERIFIERS)}")
