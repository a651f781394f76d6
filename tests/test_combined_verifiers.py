"""Verifiers combined into one: tie-breaking and mean, unavailable parts, names, costs."""

import pytest

from core.providers.base import Completion, Usage
from core.providers.fake import FakeProvider
from core.verifiers import make_verifier, verifier_parts
from core.verifiers.base import StepScores, Verifier
from core.verifiers.combined import Combination, tiebreak


class Fixed(Verifier):
    """Scores given in advance; one priced call per score() when `model` is set."""

    def __init__(self, name, scores, model="rules", dollars=0.0):
        self.name, self.scores, self.model, self.dollars = name, scores, model, dollars

    def cost(self, call):
        return self.dollars

    def score(self, question, paths):
        calls = [Completion("", "stop", Usage(10), 0.1)] if self.model != "rules" else []
        details = [f"{self.name} says {s}" for s in self.scores]
        return StepScores(list(self.scores), details, calls)


PATHS = [["a"], ["b"], ["c"]]


def test_the_first_verifier_decides_and_the_next_only_breaks_its_ties():
    first = Fixed("program", [0.95, 0.95, 0.05])
    second = Fixed("arithmetic", [0.2, 0.9, 1.0])
    scored = Combination([first, second], "tiebreak").score("q", PATHS)
    assert scored.scores == pytest.approx([0.94925, 0.94995, 0.05095])
    ranked = sorted(range(3), key=lambda i: scored.scores[i], reverse=True)
    assert ranked == [1, 0, 2]  # the tie at 0.95 broken by arithmetic; 0.05 stays last
    assert scored.details[0] == "program: program says 0.95; arithmetic: arithmetic says 0.2"


def test_tiebreak_weights_sum_to_one():
    assert tiebreak([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert tiebreak([0.5]) == 0.5


def test_mean_of_the_scores_and_an_unavailable_part_left_out():
    first = Fixed("served_prm", [0.8, None, None])
    second = Fixed("arithmetic", [0.4, 0.6, None])
    scored = Combination([first, second], "mean").score("q", PATHS)
    assert scored.scores == [pytest.approx(0.6), 0.6, None]  # None only where every part is


def test_each_call_is_costed_and_named_by_the_part_that_made_it():
    judge = Fixed("model_judge", [0.5] * 3, model="judge-model", dollars=0.25)
    prm = Fixed("served_prm", [0.5] * 3, model="prm-model", dollars=None)
    combined = Combination([judge, prm], "tiebreak")
    scored = combined.score("q", PATHS)
    assert [combined.cost(c) for c in scored.calls] == [0.25, None]
    assert [combined.call_model(c) for c in scored.calls] == ["judge-model", "prm-model"]
    assert combined.model == "judge-model, prm-model"


def test_combinations_by_name():
    verifier = make_verifier("program>arithmetic", FakeProvider())
    assert isinstance(verifier, Combination)
    assert (verifier.name, verifier.how) == ("program>arithmetic", "tiebreak")
    nested = make_verifier("arithmetic+model_judge>program", FakeProvider())
    assert nested.how == "tiebreak" and [p.name for p in nested.parts] == [
        "arithmetic+model_judge",
        "program",
    ]
    assert verifier_parts("arithmetic+model_judge>program") == [
        "arithmetic",
        "model_judge",
        "program",
    ]


@pytest.mark.parametrize(
    "name", ["oracle", "program>", "program>>arithmetic", "program>arithmetic>x"]
)
def test_unknown_or_empty_parts_are_refused(name):
    with pytest.raises(ValueError, match="unknown verifier"):
        make_verifier(name, FakeProvider())
