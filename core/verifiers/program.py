"""Program-aided checking (Gao et al. 2023, PAL): the model writes a short Python program for the
problem, once per question; the program runs in the sandbox (`sandbox.py`); a step that states
a final answer scores high when it agrees with the program's result and low when it does not.
Steps without a final answer are scored by the arithmetic checker, so the combination checks
both the calculations on the way and the answer at the end.

The code models shipped with the app write such programs more reliably than they solve word
problems in prose; that is what makes the check worth its one extra call per question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.providers.base import Completion, GenerationRequest, Message, Provider
from core.verifiers.arithmetic import ArithmeticChecker
from core.verifiers.base import StepScores, Verifier
from core.verifiers.grading import answers_match, extract_answer, has_final_answer
from core.verifiers.sandbox import ProgramResult, run_program

PROGRAM_PROMPT = (
    "Write a short Python program that computes the answer to the problem. Use only numbers, "
    "variables, arithmetic, loops and functions: no imports, no input, no printing. Store the "
    "final result in a variable named answer. Reply with the program in one ```python block."
)
PROGRAM_TOKENS = 320
AGREES, DISAGREES = 0.95, 0.05
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", re.DOTALL)


def program_text(reply: str) -> str:
    """The code in a reply: the first fenced block, else the whole reply."""
    match = _FENCE.search(reply)
    return (match.group(1) if match else reply).strip()


class ProgramChecker(Verifier):
    name = "program"

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.model = provider.model
        self.steps = ArithmeticChecker()
        self._results: dict[str, ProgramResult] = {}  # by question: one program per problem

    def cost(self, call: Completion) -> float | None:
        return self.provider.cost(call.usage)

    def request(self, question: str) -> GenerationRequest:
        messages = (Message("system", PROGRAM_PROMPT), Message("user", question))
        return GenerationRequest(messages, max_tokens=PROGRAM_TOKENS, temperature=0.0, seed=0)

    def worst_case_cost(self, question: str, paths: Sequence[Sequence[str]]) -> float | None:
        if question in self._results:
            return 0.0
        request = self.request(question)
        prompt = "".join(m.content for m in request.messages)
        return self.provider.worst_case_cost(request, self.provider.count_tokens(prompt))

    def score(self, question: str, paths: Sequence[Sequence[str]]) -> StepScores:
        """Per path: program agreement for a step with a final answer, else arithmetic.

        Raises ProviderError if the program cannot be requested."""
        calls: list[Completion] = []
        if question not in self._results:
            (reply,) = self.provider.generate(self.request(question))
            calls.append(reply)
            self._results[question] = run_program(program_text(reply.text))
        program = self._results[question]
        arithmetic = self.steps.score(question, paths)
        scores, details = [], []
        for steps, value, detail in zip(paths, arithmetic.scores, arithmetic.details, strict=True):
            last = steps[-1] if steps else ""
            if program.value is None or not has_final_answer(last):
                scores.append(value)
                details.append(detail if program.value else f"{detail}; {program.reason}")
                continue
            answer = extract_answer("\n\n".join(steps))
            agrees = answer is not None and answers_match(answer, program.value)
            scores.append(AGREES if agrees else DISAGREES)
            verdict = "agrees" if agrees else "disagrees"
            details.append(f"{program.reason}; the answer {answer or '(none)'} {verdict}")
        return StepScores(scores, details, calls)
