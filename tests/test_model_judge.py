"""Model-as-PRM: verdicts read from top logprobs as tokenizers write them, and reasoning judges."""

import pytest

from core.providers.base import Completion, GenerationRequest, ProviderError, Usage
from core.providers.fake import FakeProvider
from core.verifiers.model_judge import ModelJudge, judge_score


def one_token(alternatives: dict[str, float]) -> Completion:
    return Completion("Yes", "length", Usage(50, 1), 0.01, (alternatives,))


def test_piece_markers_and_duplicates_merge_into_one_verdict():
    # Issue 13: "Yes" and "ĠYes" are one outcome (log-sum-exp), "ĠNo" is No: P(yes) ≈ 0.61.
    value, detail = judge_score(one_token({"Yes": -0.7, "ĠNo": -0.9, "ĠYes": -2.0}))
    assert value == pytest.approx(0.6085, abs=1e-3)
    assert "0.61" in detail


def test_sentencepiece_marker_reads_as_the_word():
    value, _ = judge_score(one_token({"▁No": -0.1, "▁Yes": -2.5}))
    assert value < 0.1


class ThinkingJudge(FakeProvider):
    """A reasoning model: with room it answers, with one token it only thinks."""

    def __init__(self, answers_with_room: bool) -> None:
        super().__init__()
        self.answers_with_room = answers_with_room

    def generate(self, request: GenerationRequest) -> list[Completion]:
        self.requests.append(request)
        if request.max_tokens > 1 and self.answers_with_room:
            return [Completion("Yes", "stop", Usage(80, 300, reasoning_tokens=299), 0.5)]
        limit = request.max_tokens
        return [Completion("", "length", Usage(80, limit, reasoning_tokens=limit), 0.1)]


def test_a_reasoning_judge_gets_room_instead_of_a_neutral_score():
    judge = ModelJudge(ThinkingJudge(answers_with_room=True))
    scored = judge.score("q", [["48 / 2 = 24"]])
    assert scored.scores == [1.0]
    assert len(scored.calls) == 2  # the wasted one-token call is billed too
    assert judge.provider.requests[1].max_tokens > 1


def test_a_judge_that_never_answers_stops_with_a_clear_message():
    judge = ModelJudge(ThinkingJudge(answers_with_room=False))
    with pytest.raises(ProviderError, match="non-reasoning judge") as raised:
        judge.score("q", [["48 / 2 = 24"]])
    assert len(raised.value.partial) == 2  # both calls were billed: the ledger keeps them
