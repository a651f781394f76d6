"""Model-as-PRM: a provider judges each step; P("yes") from logprobs, else a parsed rating."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.providers.base import Completion, GenerationRequest, Message, Provider, ProviderError
from core.verifiers.base import StepScores, Verifier

JUDGE_PROMPT = (
    "You grade one step of a math solution. Check its reasoning and every calculation. "
    "Answer Yes if the last step is correct, No if it has an error. Answer with one word."
)
THINKING_ROOM = 1024  # tokens for a reasoning judge that thought through its one-token answer
RATING = re.compile(r"\b(yes|no)\b|(\d+(?:\.\d+)?)\s*/\s*10", re.IGNORECASE)


class ModelJudge(Verifier):
    name = "model_judge"

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.model = provider.model

    def cost(self, call: Completion) -> float | None:
        return self.provider.cost(call.usage)

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        total = 0.0
        for steps in paths:
            request = judge_request(question, steps)
            prompt = "".join(m.content for m in request.messages)
            worst = self.provider.worst_case_cost(request, self.provider.count_tokens(prompt))
            if worst is None:
                return None
            total += worst
        return total

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Each path's last step judged, the paths in one `generate_many` (concurrent over APIs);
        raises ProviderError when the judge cannot answer, with every call made so far."""
        if not paths:
            return StepScores([], [], [])
        requests = [judge_request(question, steps) for steps in paths]
        firsts = [call for (call,) in self.provider.generate_many(requests)]
        # A reasoning model thought through its one token: give it room, once, and read the
        # verdict from its text (no logprobs then).
        thinking = [k for k, call in enumerate(firsts) if spent_on_thinking(call)]
        roomy = [replace(requests[k], max_tokens=THINKING_ROOM, top_logprobs=0) for k in thinking]
        try:
            answers = self.provider.generate_many(roomy) if roomy else []
        except ProviderError as exc:
            raise ProviderError(str(exc), [*firsts, *exc.partial]) from exc
        again = {k: call for k, (call,) in zip(thinking, answers, strict=True)}
        # In the order a path-by-path judge makes them: each path's call, then its second try.
        calls: list[Completion] = []
        for k, first in enumerate(firsts):
            calls += [first, again[k]] if k in again else [first]
        if any(spent_on_thinking(c) or RATING.search(c.text) is None for c in again.values()):
            raise ProviderError(
                f"the judge model {self.model!r} spends its answer thinking and gave no "
                f"verdict in {THINKING_ROOM} tokens; choose a non-reasoning judge model",
                calls,
            )
        verdicts = [judge_score(again.get(k, first)) for k, first in enumerate(firsts)]
        return StepScores([v for v, _ in verdicts], [d for _, d in verdicts], calls)


def spent_on_thinking(call: Completion) -> bool:
    """A reasoning model's reply with no words: cut at its limit, every token spent thinking."""
    usage = call.usage
    return (
        not call.text.strip()
        and call.finish_reason == "length"
        and 0 < usage.output_tokens <= usage.reasoning_tokens
    )


def judge_request(question: str, steps: Sequence[str]) -> GenerationRequest:
    """Ask for one token, Yes or No, with its top alternatives' logprobs."""
    earlier = "\n\n".join(steps[:-1]) or "(none)"
    return GenerationRequest(
        messages=(
            Message("system", JUDGE_PROMPT),
            Message(
                "user",
                f"Problem: {question}\n\nEarlier steps:\n{earlier}\n\n"
                f"Last step:\n{steps[-1]}\n\nIs the last step correct?",
            ),
        ),
        max_tokens=1,
        temperature=0.0,
        top_logprobs=10,
    )


def token_word(token: str) -> str:
    """A token as a word: tokenizer piece markers (Ġ, ▁, Ċ) and spaces stripped, lower case."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", " ").strip().lower()


def outcome_probability(top: dict[str, float], positive: str, negative: str) -> float | None:
    """P(positive) / (P(positive) + P(negative)) from one token's top logprobs; None if neither
    outcome is among them. Every spelling of an outcome ("Yes", "ĠYes", " yes") counts: their
    probabilities add (log-sum-exp), as in Math-Shepherd-style PRMs read from top logprobs. An
    outcome missing from the top-k counts as probability 0."""
    pos = neg = -math.inf
    for token, logprob in top.items():
        word = token_word(token)
        if word == positive:
            pos = float(np.logaddexp(pos, logprob))
        elif word == negative:
            neg = float(np.logaddexp(neg, logprob))
    if pos == neg == -math.inf:
        return None
    return 1.0 / (1.0 + math.exp(min(neg - pos, 700.0))) if pos > -math.inf else 0.0


def judge_score(call: Completion) -> tuple[float, str]:
    """P(yes) among yes/no from the first token's logprobs; else a rating read from the text."""
    if call.logprobs:
        p_yes = outcome_probability(call.logprobs[0], "yes", "no")
        if p_yes is not None:
            return p_yes, f"judge: P(yes) = {p_yes:.2f}"
    match = RATING.search(call.text)
    if match is None:
        return 0.5, f"judge gave no verdict ({call.text[:40]!r}); scored neutral"
    if match.group(2):
        rating = min(float(match.group(2)), 10.0) / 10.0
        return rating, f"judge rated {rating * 10:g}/10"
    verdict = match.group(1).lower()
    return (1.0 if verdict == "yes" else 0.0), f"judge said {verdict}"
