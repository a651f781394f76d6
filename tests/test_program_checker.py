"""Program-aided checking: model-written code runs in a sandbox; hostile code is refused."""

import time

import pytest

from core.providers.fake import FakeProvider
from core.verifiers import make_verifier
from core.verifiers.program import ProgramChecker, program_text
from core.verifiers.sandbox import run_program

HOSTILE = {
    "endless loop": "while True:\n    pass",
    "huge power": "answer = 10**10**10",
    "import": "import os\nanswer = os.listdir('/')",
    "dunder": "answer = ().__class__.__bases__[0].__subclasses__()",
    "read a file": "answer = open('/etc/passwd').read()",
    "memory": "a = [1] * 10**10\nanswer = len(a)",
    "eval": "answer = eval('1 + 1')",
    "recursion": "def f(n):\n    return f(n + 1)\nanswer = f(0)",
    "write a file": "with open('/tmp/x', 'w') as f:\n    f.write('x')",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_programs_are_refused_or_stopped_with_a_reason(name):
    start = time.monotonic()
    result = run_program(HOSTILE[name])
    assert result.value is None
    assert result.reason.startswith(("refused", "stopped")), result.reason
    assert time.monotonic() - start < 10  # nothing hangs the run


def test_a_plain_program_computes_its_answer():
    code = "may = 48 / 2\ndef total(a, b):\n    return a + b\nanswer = total(48, may)"
    assert run_program(code).value == "72.0"
    assert program_text("Here:\n```python\nanswer = 6 * 7\n```\nDone.") == "answer = 6 * 7"


def program(request, index):
    return "```python\nprice = 3\nanswer = 50 - 7 * price\n```"


def test_answers_that_agree_with_the_program_score_high(pens):
    provider = FakeProvider(program)
    checker = make_verifier("program", provider)
    assert isinstance(checker, ProgramChecker)
    right = ["7 pens cost 7 × 3 = 21 dollars.", "The change is 50 - 21 = 29. \\boxed{29}"]
    wrong = ["7 pens cost 7 × 3 = 21 dollars.", "The change is \\boxed{31}"]
    step = ["7 pens cost 7 × 3 = 21 dollars."]
    scored = checker.score(pens.question, [right, wrong, step])
    assert scored.scores[0] > 0.9 and scored.scores[1] < 0.1
    assert "computes 29" in scored.details[0] and "disagrees" in scored.details[1]
    assert scored.scores[2] == checker.steps.score(pens.question, [step]).scores[0]
    assert len(scored.calls) == 1  # the program is written once per question...
    again = checker.score(pens.question, [right])
    assert again.calls == [] and len(provider.requests) == 1  # ...and reused


def test_a_program_that_fails_leaves_the_arithmetic_score_and_says_why(pens):
    checker = ProgramChecker(FakeProvider(lambda request, index: "import os"))
    path = ["The change is 50 - 21 = 29. \\boxed{29}"]
    scored = checker.score(pens.question, [path])
    assert scored.scores == checker.steps.score(pens.question, [path]).scores
    assert "Import not supported" in scored.details[0]


def test_program_of_thought_votes_on_what_the_programs_compute(pens, arithmetic):
    from core.budget import Budget
    from core.events import AnswerChosen, NodeAdded, StepScored
    from strategies import STRATEGIES

    scripts = ["```python\nanswer = 50 - 7 * 3\n```", "import os", "answer = 50 - 21"]
    provider = FakeProvider(lambda request, index: scripts[index % 3])
    events = list(STRATEGIES["program_of_thought"](pens, provider, arithmetic, Budget(n=3)))
    added = [e for e in events if isinstance(e, NodeAdded)]
    assert [e.answer for e in added] == ["29", None, "29"]  # the code's result, not its text
    assert "Import not supported" in [e for e in events if isinstance(e, StepScored)][1].detail
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.correct) == ("29", True)
