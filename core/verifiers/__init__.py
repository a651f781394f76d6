"""Verifiers by name: a rule-based arithmetic PRM, a model-as-PRM judge, program-aided checking,
PRMs served over HTTP, and combinations of them ("program>arithmetic", "served_prm+arithmetic")."""

from __future__ import annotations

from core.providers.base import Provider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.base import Verifier
from core.verifiers.combined import HOWS, Combination
from core.verifiers.confidence import ConfidenceVerifier
from core.verifiers.model_judge import ModelJudge
from core.verifiers.prm_pooling import PoolingPrm
from core.verifiers.prm_shepherd import ShepherdPrm
from core.verifiers.program import ProgramChecker
from core.verifiers.served import PrmServer

VERIFIERS: dict[str, str] = {
    "arithmetic": "Arithmetic checker: recomputes every calculation in a step (rules, free)",
    "model_judge": "Model as PRM: the model judges each step; P(yes) from its logprobs",
    "program": "Program-aided: the model writes a Python program for the problem, run in a "
    "sandbox; final answers that agree with it score high, steps are checked by arithmetic",
    "served_prm": "Served PRM (vLLM pooling API): a Qwen2.5-Math-PRM-style model scores each "
    "step, P(right) at its <extra_0> separator",
    "shepherd_prm": "Served PRM (completions logprobs): a Math-Shepherd-style model; "
    "P(+) / (P(+) + P(-)) after each step's ки tag, on any OpenAI-compatible server",
    "confidence": "Confidence (DeepConf): how sure the model was of its own tokens, from its "
    "top-20 logprobs (free; the embedded model and servers that return logprobs)",
    "program>arithmetic": "Combined: program agreement decides, the arithmetic checker breaks "
    "its ties",
}
SERVED = ("served_prm", "shepherd_prm")  # need a PRM server (URL and model)


def verifier_parts(spec: str) -> list[str]:
    """The single verifiers a name uses: "program>arithmetic" → ["program", "arithmetic"].

    Raises ValueError for an unknown name or an empty part."""
    parts = [p.strip() for p in spec.replace(HOWS["tiebreak"], HOWS["mean"]).split(HOWS["mean"])]
    single = [name for name in VERIFIERS if not set(name) & set(HOWS.values())]
    for part in parts:
        if part not in single:
            raise ValueError(
                f"unknown verifier {part or '(empty)'!r} in {spec!r}; choose from "
                f"{', '.join(single)}, joined by > (the first decides, the next break ties) "
                f"or + (their mean)"
            )
    return parts


def make_verifier(name: str, provider: Provider, prm: PrmServer | None = None) -> Verifier:
    """Build a verifier or a combination; the judge and the program checker use `provider`
    (their calls are costed as verification), served PRMs the server `prm`.

    `a>b` (the first decides, the next break its ties) binds looser than `a+b` (their mean).
    Raises ValueError for an unknown name, or a served PRM without a server."""
    verifier_parts(name)
    for how, symbol in HOWS.items():  # tiebreak first: it binds looser
        if symbol in name:
            parts = [make_verifier(p.strip(), provider, prm) for p in name.split(symbol)]
            return Combination(parts, how)
    if name == "arithmetic":
        return ArithmeticChecker()
    if name == "model_judge":
        return ModelJudge(provider)
    if name == "program":
        return ProgramChecker(provider)
    if name == "confidence":
        return ConfidenceVerifier()
    if prm is None:
        raise ValueError(
            f"the {name} verifier needs its PRM server: its URL and model name "
            f"(--prm-url and --prm-model, or the sidebar's PRM server fields)"
        )
    return PoolingPrm(prm) if name == "served_prm" else ShepherdPrm(prm)
