"""A deterministic provider for tests and demos of the plumbing: scripted or seeded text, real usage."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from core.confidence import TokenConfidence
from core.providers.base import (
    Completion,
    Finished,
    GenerationRequest,
    Provider,
    TextSink,
    Usage,
)

Script = Callable[[GenerationRequest, int], str]
# Token confidence for sample `index` of a request, given its text (None: the model had none):
# one C_i per word, since a word is a token here; a request's stop_below_confidence cuts there.
ConfidenceScript = Callable[[GenerationRequest, int, str], TokenConfidence | None]


def arithmetic_script(request: GenerationRequest, index: int) -> str:
    """Writes one short step per call; some samples slip, and depth 3 ends with a boxed answer."""
    rng = random.Random(f"{request.seed}-{index}-{request.assistant_prefix}")
    depth = request.assistant_prefix.count("\n\n")
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    result = a * b + (rng.random() < 0.3)  # a wrong product now and then, for the PRM to catch
    if request.answer_only:  # System 1: an answer-shaped reply, like the embedded model's grammar
        return f"\\boxed{{{result}}}"
    step = f"Step {depth + 1}: {a} × {b} = {result}."
    if depth >= 2 or "\n\n" not in request.stop:
        step += f" The answer is \\boxed{{{result}}}."
    return step


def reasoned_script(request: GenerationRequest, index: int) -> str:
    """`arithmetic_script`'s step after a sentence of reasoning: about 40 words, the length of a
    small model's step, so a paced run writes each node for seconds as a real one does."""
    step = arithmetic_script(request, index)
    if request.answer_only:
        return step
    head, _, rest = step.partition(": ")
    return (
        f"{head}: To go on from what we know so far, we take the two numbers this step needs, "
        "check what each of them counts in the problem, and multiply them together, since every "
        f"group holds the same amount, so {rest}"
    )


class FakeProvider(Provider):
    """Scripted text, one word a token. `tokens_per_second` (None: at once) paces the writing of
    every sequence of a call together, as a batched engine decodes (one token per sequence a
    step), so the live page can be exercised at a model's pace without a model."""

    name = "fake"
    streams = True  # word by word, like a model writing

    def __init__(
        self,
        script: Script = arithmetic_script,
        model: str = "fake-model",
        confidence: ConfidenceScript | None = None,
        tokens_per_second: float | None = None,
    ) -> None:
        self.script = script
        self.model = model
        self.confidence = confidence
        self.tokens_per_second = tokens_per_second
        self.requests: list[GenerationRequest] = []

    def generate(self, request: GenerationRequest) -> list[Completion]:
        self.requests.append(request)
        prompt_tokens = self.count_tokens(
            "".join(m.content for m in request.messages) + request.assistant_prefix
        )
        completions = []
        for i in range(request.n):
            words = self.script(request, i).split(" ")[: request.max_tokens]
            finish = "length" if len(words) == request.max_tokens else "stop"
            confidence = None
            if request.confidence_k and self.confidence is not None:
                confidence = self.confidence(request, i, " ".join(words))
            rule = request.stop_below_confidence
            if confidence is not None and rule and (at := rule.cut_at(confidence.values)):
                # Cut while written: a word is a token here, so the text keeps `at` words.
                words, finish = words[:at], "low_confidence"
                confidence = TokenConfidence(confidence.values[:at], confidence.k)
            text = " ".join(words)
            usage = Usage(input_tokens=prompt_tokens, output_tokens=len(words))
            completions.append(
                Completion(text, finish, usage, 0.001 * len(words), confidence=confidence)
            )
        return completions

    def generate_many(
        self, requests: Sequence[GenerationRequest], on_text: TextSink | None = None
    ) -> list[list[Completion]]:
        answers = super().generate_many(requests)
        pieces = {
            (r, i): re.findall(r"\S+\s*", completion.text)
            for r, completions in enumerate(answers)
            for i, completion in enumerate(completions)
        }
        if self.tokens_per_second is not None:
            return self._paced(answers, pieces, on_text)
        if on_text is not None:
            for (r, i), words in pieces.items():
                for word in words:
                    on_text(r, i, word)
                on_text(r, i, Finished())
        return answers

    def _paced(
        self,
        answers: list[list[Completion]],
        pieces: dict[tuple[int, int], list[str]],
        on_text: TextSink | None,
    ) -> list[list[Completion]]:
        """Hand out word k of every sequence at step k, one step every 1 / tokens_per_second s;
        each completion's `seconds` is the time until its last word."""
        start, steps = time.monotonic(), max(map(len, pieces.values()), default=0)
        for key, words in pieces.items():
            if not words and on_text is not None:
                on_text(*key, Finished())
        ended: dict[tuple[int, int], float] = {}
        for step in range(steps):
            time.sleep(max(0.0, start + (step + 1) / self.tokens_per_second - time.monotonic()))
            for key, words in pieces.items():
                if step < len(words):
                    if on_text is not None:
                        on_text(*key, words[step])
                        if step == len(words) - 1:
                            on_text(*key, Finished())
                    ended[key] = time.monotonic() - start
        return [
            [replace(c, seconds=ended.get((r, i), 0.0)) for i, c in enumerate(completions)]
            for r, completions in enumerate(answers)
        ]

    def count_tokens(self, text: str) -> int:
        return len(text.split())
