"""A Math-Shepherd-style process reward model read from top logprobs on any OpenAI-compatible
`/v1/completions` endpoint (Wang et al. 2024, Math-Shepherd; peiyi9979/math-shepherd-mistral-7b-prm).

The PRM is a causal language model trained to write "+" (a right step) or "-" (a wrong one)
after the step tag `ки`. The input is `{question} {step 1} ки\\n{step 2} ки ...`; the reward of
the last step is P("+") / (P("+") + P("-")) in the next-token distribution after its tag.

One request per path, ending at the last step's tag, with `max_tokens: 1`, `temperature: 0`
and `logprobs: 5`: the generated token's top logprobs are that distribution. Echoing the prompt
with logprobs would read every tag in one request, but only vLLM (and OpenAI's legacy models)
echo prompt logprobs; llama.cpp's server does not. One request per path works on every server
that returns top logprobs, and the verifier only scores a path's last step anyway; servers with
a prefix cache (vLLM, llama.cpp, SGLang) re-read the shared steps cheaply. Replies come in the
legacy completions shape (`logprobs.top_logprobs: [{token: logprob}]`, vLLM and
llama-cpp-python) or the chat shape llama.cpp's own server uses (`logprobs.content[0]
.top_logprobs: [{token, logprob}]`); both are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.providers.base import Completion, Usage
from core.verifiers.model_judge import outcome_probability
from core.verifiers.served import PrmUnavailable, ServedPrm, prompt_tokens

STEP_TAG = "ки"
GOOD, BAD = "+", "-"
TOP_LOGPROBS = 5  # the most OpenAI's legacy completions allow; vLLM allows 20 by default


def shepherd_prompt(question: str, steps: Sequence[str]) -> str:
    """Question, then every step followed by the step tag (tags inside the text are removed)."""
    tagged = f" {STEP_TAG}\n".join(step.replace(STEP_TAG, "").strip() for step in steps)
    return f"{question.replace(STEP_TAG, '').strip()} {tagged} {STEP_TAG}"


def top_logprobs(body: dict[str, Any]) -> dict[str, float]:
    """The first generated token's top logprobs, from either reply shape."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise PrmUnavailable("the completions reply has no choices")
    logprobs = choices[0].get("logprobs")
    if not isinstance(logprobs, dict):
        raise PrmUnavailable(
            "the server returned no logprobs: it must support `logprobs` on /v1/completions "
            "(vLLM, llama.cpp's server, SGLang do)"
        )
    legacy = logprobs.get("top_logprobs")
    content = logprobs.get("content")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        top = legacy[0]
    elif isinstance(content, list) and content and isinstance(content[0], dict):
        entries = content[0].get("top_logprobs") or []
        top = {e.get("token"): e.get("logprob") for e in entries if isinstance(e, dict)}
    else:
        raise PrmUnavailable("the reply's logprobs hold no top logprobs")
    clean = {
        t: float(lp)
        for t, lp in top.items()
        if isinstance(t, str) and isinstance(lp, int | float) and lp <= 0.0
    }
    if len(clean) != len(top):
        raise PrmUnavailable(f"the top logprobs are not token → logprob: {str(top)[:60]}")
    return clean


class ShepherdPrm(ServedPrm):
    name = "shepherd_prm"
    api = "completions endpoint"

    def read(self, question: str, steps: Sequence[str]) -> tuple[list[float], Completion]:
        """One call scores the path's last step."""
        prompt = shepherd_prompt(question, steps)
        payload = {
            "model": self.server.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": TOP_LOGPROBS,
        }
        body, seconds = self.post(f"{self.server.root}/v1/completions", payload)
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        output = usage.get("completion_tokens")
        usage_ = Usage(prompt_tokens(body, prompt), output if isinstance(output, int) else 1)
        call = Completion("", "length", usage_, seconds)
        try:
            top = top_logprobs(body)
        except PrmUnavailable as failure:
            raise PrmUnavailable(str(failure), call) from None
        reward = outcome_probability(top, GOOD, BAD)
        if reward is None:
            shown = ", ".join(sorted(top)[:5])
            raise PrmUnavailable(
                f'neither "{GOOD}" nor "{BAD}" is among the top {TOP_LOGPROBS} tokens after the '
                f"step tag ({shown}): is {self.model!r} a Math-Shepherd-style PRM?",
                call,
            )
        return [reward], call
