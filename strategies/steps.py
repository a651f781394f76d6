"""What a reasoning step is: the solve prompt that asks for them, and a lead-in that is not one yet."""

from __future__ import annotations

from core.problems.base import Problem
from core.providers.base import Message
from core.verifiers.grading import has_final_answer

SOLVE_PROMPT = (
    "Solve the problem step by step. Write each step as one short paragraph and leave a blank "
    "line between steps. Check each calculation. Do not write code. {answer_format}"
)


def solve_messages(problem: Problem) -> tuple[Message, ...]:
    """The system and user messages that every step-by-step strategy starts from."""
    system = SOLVE_PROMPT.format(answer_format=problem.answer_format)
    return (Message("system", system), Message("user", problem.question))


def is_lead_in(text: str) -> bool:
    """A heading or an announcement ("Step 2: find the total.**", "as follows:") without content."""
    if not text or has_final_answer(text):
        return False
    one_line = "\n" not in text
    heading = one_line and (text.startswith("#") or (text.startswith("**") and text.endswith("**")))
    return text.endswith((":", ":**")) or heading
