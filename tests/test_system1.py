"""System 1 is an answer at once: no explanation on any model, and no answer is never a guess."""

import json
import re
from pathlib import Path

import pytest

from core.budget import Budget
from core.events import AnswerChosen, NodeAdded
from core.problems.catalog import load_problem_set
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from deliberate.report import format_tree
from strategies import STRATEGIES

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Issue 12: the 1.5B's old System 1 reply. It began an explanation, was cut at the token limit,
# and its list number "2" was graded as the answer.
CUT_OFF_EXPLANATION = (
    "To determine how many ounces of breads you can eat, we need to follow these steps:\n\n"
    "1. Calculate the total number of calories in the 40 ounces bag.\n2. Subtract the calories "
    "you have already consumed from your daily calorie"
)


def test_an_explanation_cut_off_at_the_limit_is_no_answer(pens, arithmetic):
    chatty = FakeProvider(script=lambda request, index: CUT_OFF_EXPLANATION)
    events = list(STRATEGIES["direct"](pens, chatty, arithmetic, Budget(n=1)))
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.correct) == (None, False)
    assert "ANSWER: no answer (unsolved" in format_tree(ReasoningTree.from_events(events))


@pytest.mark.parametrize("strategy", ["self_consistency", "best_of_n", "chain_of_thought"])
def test_a_cut_off_sample_never_votes(strategy, pens, arithmetic):
    # Ends on a step marker whose number is the reference answer of the problem below.
    reply = "She has 60 - 15 = 45 apples left.\n\nStep 4 Next we"
    cut = FakeProvider(script=lambda request, index: reply)
    problem = type(pens)(id="t", question="How many apples?", answer="4")
    # Ten words of room (the fake counts words): the reply stops at "Step 4", finish "length".
    budget = Budget(n=2, step_tokens=10, max_depth=1)
    events = list(STRATEGIES[strategy](problem, cut, arithmetic, budget))
    assert all(e.answer is None for e in events if isinstance(e, NodeAdded))
    assert next(e for e in events if isinstance(e, AnswerChosen)).correct is False


@pytest.mark.model
@pytest.mark.parametrize("model", ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
def test_direct_replies_are_answers_on_both_built_in_models(model, arithmetic):
    from core.providers.local import local_provider

    provider = local_provider(model)
    problems = load_problem_set("curated")[:5]
    solved = 0
    for problem in problems:
        events = list(STRATEGIES["direct"](problem, provider, arithmetic, Budget(n=1)))
        (node,) = [e for e in events if isinstance(e, NodeAdded)]
        # An answer in a box and nothing else: no words of explanation, no steps.
        assert re.fullmatch(r"\\boxed\{[^\n]{1,120}\}", node.text), node.text
        assert node.answer is not None
        solved += bool(next(e for e in events if isinstance(e, AnswerChosen)).correct)
    # Reported, not asserted: accuracy is the model's, not the code's.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"system1-{model}.json").write_text(
        json.dumps({"model": model, "problems": len(problems), "solved": solved})
    )
    print(f"System 1 on {model}: {solved}/{len(problems)} curated problems")
