"""A problem: the question, an optional reference answer, and how to grade an answer against it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.verifiers.grading import answers_match

MAX_QUESTION_CHARS = 8_000  # longer text would not fit the small model's context with room to think


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str | None = None  # None: correctness is "unknown", never "wrong"
    difficulty: str = "unknown"  # easy | medium | hard | unknown
    source: str = "custom"
    # How the final answer should be written, appended to the prompt.
    answer_format: str = "Put the final answer in \\boxed{}."
    # A grader of its own (reasoning-gym's score_answer); None means math grading.
    scorer: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.question or not self.question.strip():
            raise ValueError("the problem text is empty: type a question")
        if len(self.question) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"the problem text is {len(self.question):,} characters; the limit is "
                f"{MAX_QUESTION_CHARS:,} (the model's context must leave room to think)"
            )

    def grade(self, answer: str | None) -> bool | None:
        """True / False against the reference; None when there is no reference to judge by."""
        if self.answer is None and self.scorer is None:
            return None
        if answer is None:
            return False
        if self.scorer is not None:
            return self.scorer(answer)
        return answers_match(answer, self.answer)
