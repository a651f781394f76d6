"""A deterministic provider for tests and demos of the plumbing: scripted or seeded text, real usage."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from core.confidence import TokenConfidence
from core.providers.base import Completion, GenerationRequest, Provider, TextSink, Usage

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


class FakeProvider(Provider):
    name = "fake"
    streams = True  # word by word, like a model writing

    def __init__(
        self,
        script: Script = arithmetic_script,
        model: str = "fake-model",
        confidence: ConfidenceScript | None = None,
    ) -> None:
        self.script = script
        self.model = model
        self.confidence = confidence
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
        if on_text is not None:
            for r, completions in enumerate(answers):
                for i, completion in enumerate(completions):
                    for word in re.findall(r"\S+\s*", completion.text):
                        on_text(r, i, word)
        return answers

    def count_tokens(self, text: str) -> int:
        return len(text.split())
