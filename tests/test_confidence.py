"""The confidence verifier: DeepConf token confidence from top logprobs, as providers report it,
carried on the nodes, scored, voted on, and unavailable (with the reason) where a provider has
none."""

import json
import math

import numpy as np
import pytest

from core.budget import Budget
from core.confidence import (
    TokenConfidence,
    certainty,
    group_confidences,
    logits_confidence,
    token_confidence,
)
from core.events import (
    AnswerChosen,
    DifficultyJudged,
    NodeAdded,
    NodePruned,
    RunFinished,
    StepScored,
    event_from_dict,
    to_json_lines,
)
from core.problems.base import Problem
from core.providers.anthropic_api import AnthropicProvider
from core.providers.base import GenerationRequest, Message
from core.providers.fake import FakeProvider
from core.providers.openai_api import OpenAICompatibleProvider, OpenAIProvider
from core.verifiers import make_verifier
from core.verifiers.arithmetic import ArithmeticChecker
from deliberate.recordings import parse_run
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply, script
from tests.test_anthropic_provider import message
from tests.test_openai_provider import chat

KEY = "fake-key-for-confidence-tests-0123456789"
QUESTION = (Message("user", "What is 2 + 2?"),)
PROBLEM = Problem(id="t-sum", question="What is 2 + 2?", answer="4")
LN20 = math.log(20)


def test_token_and_group_confidence_by_hand():
    assert token_confidence([-0.1, -2.0, -3.0]) == pytest.approx(1.7)
    assert group_confidences([1.0, 2.0, 3.0, 4.0], window=2) == pytest.approx([1.5, 2.5, 3.5])
    assert group_confidences([1.0, 2.0], window=32) == [1.5]  # shorter than a window: one group
    assert certainty(1.5, 2) == pytest.approx(1 - math.log(2) / 1.5)
    assert certainty(math.log(20), 20) == 0.0  # the flattest the top 20 can be
    assert certainty(0.1, 20) == 0.0  # rounded logprobs below the floor: clipped
    # Groups [2, 1, 2]: the least sure stretch decides.
    measured = TokenConfidence((3.0, 1.0, 1.0, 3.0), k=2)
    assert measured.certainty(window=2) == pytest.approx(1 - math.log(2))
    assert TokenConfidence((), k=20).certainty() is None
    assert TokenConfidence((5.0,), k=1).certainty() is None


def test_confidence_from_raw_logits_equals_the_log_softmax_definition():
    logits = np.array([2.0, 1.0, 0.5, -1.0, -3.0], dtype=np.float32)
    logprobs = logits.astype(np.float64) - np.log(np.exp(logits.astype(np.float64)).sum())
    expected = token_confidence(sorted(logprobs)[-3:])
    assert logits_confidence(logits, 3) == pytest.approx(expected, rel=1e-6)


def openai_reply(top_logprobs):
    """A chat completion whose tokens have these top logprobs (one list per token)."""
    reply = chat(content="2 + 2 = 4")
    reply["choices"][0]["logprobs"] = {
        "content": [
            {
                "token": f"t{i}",
                "logprob": tops[0],
                "bytes": None,
                "top_logprobs": [
                    {"token": f"a{j}", "logprob": lp, "bytes": None} for j, lp in enumerate(tops)
                ],
            }
            for i, tops in enumerate(top_logprobs)
        ],
        "refusal": None,
    }
    return reply


def test_openai_top_logprobs_give_exact_token_confidence():
    reply = openai_reply([[-0.05, -3.0], [-0.5, -1.0]])
    with FakeApiServer(script(Reply(body=reply))) as server:
        provider = OpenAIProvider(
            "gpt-4o-mini", api_key=KEY, base_url=f"{server.url}/v1", max_retries=0
        )
        (out,) = provider.generate(GenerationRequest(QUESTION, confidence_k=20))
    body = server.payloads[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 20
    assert out.confidence == TokenConfidence((1.525, 0.75), k=2)
    assert out.confidence.certainty() == pytest.approx(1 - math.log(2) / 1.1375)


def test_a_server_without_logprobs_gives_none_and_says_why():
    with FakeApiServer(lambda payload, _: Reply(body=chat(content="4"))) as server:
        provider = OpenAICompatibleProvider(
            "my-model", f"{server.url}/v1", api_key=KEY, max_retries=0
        )
        (out,) = provider.generate(GenerationRequest(QUESTION, confidence_k=20))
        assert out.confidence is None
        port = server.url.rsplit(":", 1)[1]
        assert provider.no_confidence_reason() == (
            f"the server at 127.0.0.1:{port} returned no top logprobs for this call"
        )
    reasoning = OpenAIProvider("o4-mini", api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert reasoning.no_confidence_reason() == (
        "o4-mini is a reasoning model, and reasoning models return no logprobs"
    )


def test_the_unasked_request_sends_no_logprobs():
    with FakeApiServer(lambda payload, _: Reply(body=chat(content="4"))) as server:
        provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{server.url}/v1")
        (out,) = provider.generate(GenerationRequest(QUESTION))
    assert "logprobs" not in server.payloads[0] and out.confidence is None


def run(provider, verifier="confidence", **budget):
    budget = Budget(**{"n": 2, "max_total_tokens": 2000, "seed": 3, **budget})
    return list(
        STRATEGIES["best_of_n"](PROBLEM, provider, make_verifier(verifier, provider), budget)
    )


def test_anthropic_runs_show_confidence_unavailable_with_the_reason():
    reply = message("2 + 2 = 4. The answer is \\boxed{4}.")
    with FakeApiServer(lambda payload, _: Reply(body=reply)) as server:
        provider = AnthropicProvider(
            "claude-haiku-4-5", api_key=KEY, base_url=server.url, max_retries=0
        )
        events = run(provider)
    scored = [e for e in events if isinstance(e, StepScored)]
    assert len(scored) == 2
    assert all(e.score is None for e in scored)
    assert scored[0].detail == (
        "step 1: confidence unavailable: Anthropic's Messages API returns no token logprobs"
    )
    added = [e for e in events if isinstance(e, NodeAdded)]
    assert [e.confidence for e in added] == [None, None]
    assert "confidence_k" not in json.dumps(server.payloads)  # nothing sent for it


SURE = {0: 4.0, 1: 6.0, 2: 5.0}  # C_i of every token, per sample index


def answers(request, index):
    return {
        0: "2 + 2 = 5. The answer is \\boxed{5}.",
        1: "2 + 2 = 4.\n\nThe answer is \\boxed{4}.",
    }.get(index, "2 + 2 = 5, so \\boxed{5}.")


def confidences(request, index, text):
    return TokenConfidence((SURE[index],) * len(text.split()), k=20)


def test_best_of_n_picks_the_most_confident_sample():
    provider = FakeProvider(answers, confidence=confidences)
    events = run(provider)
    assert provider.requests[0].confidence_k == 20
    added = [e for e in events if isinstance(e, NodeAdded)]
    assert [e.confidence for e in added] == pytest.approx([1 - LN20 / 4, 1 - LN20 / 6])
    scored = {e.node_id: e for e in events if isinstance(e, StepScored)}
    sure = scored[added[1].node_id]
    # Two steps, one call: the call's confidence is scored at its last step.
    assert sure.step_scores == (None, pytest.approx(1 - LN20 / 6))
    assert sure.score == pytest.approx(1 - LN20 / 6)
    assert sure.detail.startswith(
        "step 1: confidence unavailable: confidence is measured per model call"
    )
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.correct) == ("4", True)
    # The JSONL codec keeps it; a file written before the field reads as None.
    again = parse_run(to_json_lines(events).encode())
    assert [e.confidence for e in again if isinstance(e, NodeAdded)] == [
        e.confidence for e in added
    ]
    old = added[0].to_dict()
    del old["confidence"]
    assert event_from_dict(old).confidence is None


def test_filtered_vote_keeps_the_most_confident_half():
    # Confidences 4, 6, 5 and 4: the top half (6 and 5) vote 4 against 5, weighted 0.50 vs 0.40;
    # a vote of all four would go to 5 (0.25 + 0.40 + 0.25 against 0.50).
    SURE[3] = 4.0
    try:
        provider = FakeProvider(answers, confidence=confidences)
        events = run(provider, n=4, selection="filtered_vote")
        weighted = run(
            FakeProvider(answers, confidence=confidences), n=4, selection="weighted_vote"
        )
    finally:
        del SURE[3]
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.method) == (
        "4",
        "the top half's PRM-weighted majority vote (1 of 2 samples)",
    )
    assert next(e for e in weighted if isinstance(e, AnswerChosen)).answer == "5"


def test_best_of_n_votes_by_default_and_cuts_only_the_outvoted():
    """The default selection is the PRM-weighted vote (measured: benchmarks/verifiers.py); the
    samples that agree with the chosen answer voted for it and stay on the tree."""
    SURE[3] = 4.0
    try:
        events = run(FakeProvider(answers, confidence=confidences), n=4)
    finally:
        del SURE[3]
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.method) == ("5", "PRM-weighted majority vote (3 of 4 samples)")
    (cut,) = [e for e in events if isinstance(e, NodePruned)]
    added = {e.node_id: e for e in events if isinstance(e, NodeAdded)}
    assert added[cut.node_id].answer == "4" and cut.reason == "outvoted"


def test_a_provider_without_confidence_leaves_every_score_unavailable():
    events = run(FakeProvider(answers))
    scored = [e for e in events if isinstance(e, StepScored)]
    assert [e.score for e in scored] == [None, None]
    assert scored[0].detail == (
        "step 1: confidence unavailable: the fake provider returns no token logprobs"
    )


def test_combined_with_a_checker_it_asks_for_confidence_and_passes_it_on():
    provider = FakeProvider(answers, confidence=confidences)
    verifier = make_verifier("confidence>arithmetic", provider)
    assert verifier.confidence_k == 20
    events = run(provider, verifier="confidence>arithmetic")
    scored = [e for e in events if isinstance(e, StepScored)]
    # Step 1 has no confidence of its own, so the checker alone scores it; at step 2 the
    # confidence decides and the checker only breaks ties. The sample's score is their min.
    steps = ["2 + 2 = 4.", "The answer is \\boxed{4}."]
    checked = ArithmeticChecker().score(PROBLEM.question, [steps[:1], steps]).scores
    assert scored[1].step_scores == pytest.approx(
        (checked[0], 0.999 * (1 - LN20 / 6) + 0.001 * checked[1])
    )
    assert scored[1].score == pytest.approx(min(scored[1].step_scores))
    assert make_verifier("arithmetic", provider).confidence_k == 0


def test_audit_rescores_stored_runs_by_their_recorded_confidence():
    from deliberate.audit import candidates

    recorded = run(FakeProvider(answers, confidence=confidences))
    found = candidates(recorded, make_verifier("confidence", FakeProvider()))
    assert [(c.answer, c.correct) for c in found] == [("5", False), ("4", True)]
    assert [c.score for c in found] == pytest.approx([1 - LN20 / 4, 1 - LN20 / 6])
    # A run made with another verifier recorded none: nothing to rank by.
    plain = run(FakeProvider(answers, confidence=confidences), verifier="arithmetic")
    assert [c.score for c in candidates(plain, make_verifier("confidence", FakeProvider()))] == [
        0.0,
        0.0,
    ]


def minority_first(request, index):
    """Sample 0 answers 4; every later sample answers 5."""
    return "2 + 2 = 4. \\boxed{4}." if index == 0 else "2 + 2 = 5, so \\boxed{5}."


def test_with_every_score_unavailable_the_vote_is_the_plain_majority():
    events = run(FakeProvider(minority_first), n=3)  # no confidence: every score None
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.method) == ("5", "PRM-weighted majority vote (2 of 3 samples)")


def test_compute_optimal_runs_on_probe_samples_the_verifier_could_not_score():
    """An agreeing probe with no scores is "medium": best-of-N continues from its samples."""
    budget = Budget(n=4, max_total_tokens=2000, seed=3)
    provider = FakeProvider(lambda request, index: minority_first(request, 1 - index // 2))
    events = list(
        STRATEGIES["compute_optimal"](
            PROBLEM, provider, make_verifier("confidence", provider), budget
        )
    )
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert (judged.bin, judged.strategy) == ("medium", "best_of_n")
    assert next(e for e in events if isinstance(e, AnswerChosen)).answer == "5"
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "complete"
