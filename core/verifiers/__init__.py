"""Verifiers by name: a rule-based arithmetic PRM, a model-as-PRM judge, program-aided checking,
PRMs served over HTTP, token confidence, and combinations of them ("program>arithmetic",
"served_prm+arithmetic")."""

from __future__ import annotations

from collections.abc import Callable

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

Factory = Callable[[Provider, PrmServer | None], Verifier]


def _served(kind: Callable[[PrmServer], Verifier], name: str) -> Factory:
    def make(provider: Provider, prm: PrmServer | None) -> Verifier:
        if prm is None:
            raise ValueError(
                f"the {name} verifier needs its PRM server: its URL and model name "
                f"(--prm-url and --prm-model, or the sidebar's PRM server fields)"
            )
        return kind(prm)

    return make


# One line per verifier: its name, what the sidebar says of it, and how to build it (from the
# run's provider, which model-based verifiers call, and the PRM server, which served ones need).
REGISTRY: dict[str, tuple[str, Factory]] = {
    "arithmetic": (
        "Arithmetic checker: recomputes every calculation in a step (rules, free)",
        lambda provider, prm: ArithmeticChecker(),
    ),
    "model_judge": (
        "Model as PRM: the model judges each step; P(yes) from its logprobs",
        lambda provider, prm: ModelJudge(provider),
    ),
    "program": (
        "Program-aided: the model writes a Python program for the problem, run in a sandbox; "
        "final answers that agree with it score high, steps are checked by arithmetic",
        lambda provider, prm: ProgramChecker(provider),
    ),
    "served_prm": (
        "Served PRM (vLLM pooling API): a Qwen2.5-Math-PRM-style model scores each step, "
        "P(right) at its <extra_0> separator",
        _served(PoolingPrm, "served_prm"),
    ),
    "shepherd_prm": (
        "Served PRM (completions logprobs): a Math-Shepherd-style model; P(+) / (P(+) + P(-)) "
        "after each step's ки tag, on any OpenAI-compatible server",
        _served(ShepherdPrm, "shepherd_prm"),
    ),
    "confidence": (
        "Confidence (DeepConf): how sure the model was of its own tokens, from its top-20 "
        "logprobs (free; the embedded model and servers that return logprobs)",
        lambda provider, prm: ConfidenceVerifier(),
    ),
}
SERVED = ("served_prm", "shepherd_prm")  # need a PRM server (URL and model)
# The names offered: every single verifier, and the combination the benchmarks favour.
VERIFIERS: dict[str, str] = {name: said for name, (said, _) in REGISTRY.items()}
VERIFIERS["program>arithmetic"] = (
    "Combined: program agreement decides, the arithmetic checker breaks its ties"
)


def verifier_parts(spec: str) -> list[str]:
    """The single verifiers a name uses: "program>arithmetic" → ["program", "arithmetic"].

    Raises ValueError for an unknown name or an empty part."""
    parts = [p.strip() for p in spec.replace(HOWS["tiebreak"], HOWS["mean"]).split(HOWS["mean"])]
    single = list(REGISTRY)
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
    return REGISTRY[name][1](provider, prm)
