"""A Qwen2.5-Math-PRM-style process reward model served by vLLM's pooling API.

Wire shape (vLLM `POST /pooling`, `PoolingChatRequest` / `PoolingResponse`; the model card of
Qwen/Qwen2.5-Math-PRM-7B): the request holds the conversation, the assistant turn being the
steps each followed by the `<extra_0>` separator; vLLM applies the model's chat template and its
STEP pooler returns one softmaxed `[P(wrong), P(right)]` pair per separator:

    {"data": [{"index": 0, "object": "pooling", "data": [[0.03, 0.97], [0.41, 0.59]]}],
     "usage": {"prompt_tokens": 212, "total_tokens": 212}}

A step's reward is its P(right). No `task` is sent: the server uses its model's default pooling
task (`token_classify` in current vLLM, `encode` in releases before it, which now refuse that
name). Text that itself contains the separator is cleaned first, or the pairs would not line up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.providers.base import Completion, Usage
from core.verifiers.served import PrmUnavailable, ServedPrm, prompt_tokens

SEPARATOR = "<extra_0>"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def pooling_messages(question: str, steps: Sequence[str]) -> list[dict[str, str]]:
    """The conversation the PRM was trained on: every step followed by the separator."""
    answer = "".join(step.replace(SEPARATOR, "").strip() + SEPARATOR for step in steps)
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question.replace(SEPARATOR, "")},
        {"role": "assistant", "content": answer},
    ]


def step_rewards(body: dict[str, object], steps: int) -> list[float]:
    """P(right) per step from a pooling reply; PrmUnavailable when it is not one pair per step."""
    data = body.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise PrmUnavailable("the pooling reply has no data")
    pairs = data[0].get("data")
    if not isinstance(pairs, list):
        raise PrmUnavailable("the pooling reply's data is not a list of pairs")
    if not pairs:
        raise PrmUnavailable(
            f"the PRM found no {SEPARATOR} separator: is the model Qwen2.5-Math-PRM-style, "
            f"served with STEP pooling?"
        )
    if len(pairs) != steps:
        raise PrmUnavailable(f"the PRM returned {len(pairs)} step rewards for {steps} steps")
    rewards = []
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(p, int | float) and math.isfinite(p) for p in pair)
            or not all(0.0 <= p <= 1.0 for p in pair)
            or abs(sum(pair) - 1.0) > 0.01
        ):
            raise PrmUnavailable(
                f"a step reward is not a [P(wrong), P(right)] probability pair: {str(pair)[:60]}"
            )
        rewards.append(float(pair[1]))
    return rewards


class PoolingPrm(ServedPrm):
    name = "served_prm"
    api = "vLLM pooling API"

    def read(self, question: str, steps: Sequence[str]) -> tuple[list[float], Completion]:
        """One call scores every step of the path."""
        messages = pooling_messages(question, steps)
        body, seconds = self.post(
            f"{self.server.root}/pooling", {"model": self.server.model, "messages": messages}
        )
        prompt = "".join(m["content"] for m in messages)
        call = Completion("", "stop", Usage(input_tokens=prompt_tokens(body, prompt)), seconds)
        try:
            return step_rewards(body, len(steps)), call
        except PrmUnavailable as failure:
            raise PrmUnavailable(str(failure), call) from None
