"""Every strategy on the real 0.5B model with tiny budgets and fixed seeds."""

import pytest

from core.budget import Budget
from core.events import (
    AnswerChosen,
    NodeAdded,
    RunFinished,
    RunStarted,
    Status,
    UsageRecorded,
    from_json_lines,
    to_json_line,
)
from core.ledger import Ledger
from core.providers.base import GenerationRequest, Message, ProviderError
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from strategies import NEEDS_NATIVE_THINKING, STRATEGIES, describe, strategies_for

TINY = Budget(n=2, width=2, max_depth=3, step_tokens=40, max_total_tokens=600, seed=7)


def run(strategy, problem, provider, verifier, budget=TINY):
    return list(STRATEGIES[strategy](problem, provider, verifier, budget))


def check_stream(events, budget):
    """The invariants every run must keep, whatever the strategy."""
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, AnswerChosen) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    tree = ReasoningTree.from_events(events)  # raises if an event names a missing node
    assert len(tree) > 1
    usages = [e for e in events if isinstance(e, UsageRecorded)]
    ledger = Ledger.from_events(events)
    assert ledger.total.output_tokens == sum(u.output_tokens for u in usages)
    assert ledger.total.input_tokens == sum(u.input_tokens for u in usages)
    assert ledger.total.calls == len(usages)
    generated = sum(u.output_tokens for u in usages if u.role == "generate")
    assert generated <= budget.max_total_tokens
    nodes = [e for e in events if isinstance(e, NodeAdded)]
    assert all(any(u.node_id == n.node_id for u in usages) for n in nodes), "a node without a call"
    replayed = ReasoningTree.from_events(from_json_lines(to_json_line(e) for e in events))
    assert replayed.signature() == tree.signature()
    assert replayed.chosen == tree.chosen
    return tree


@pytest.mark.model
@pytest.mark.parametrize("strategy", sorted(set(STRATEGIES) - NEEDS_NATIVE_THINKING))
def test_strategy_on_real_model(strategy, pens, local, arithmetic):
    events = run(strategy, pens, local, arithmetic)
    tree = check_stream(events, TINY)
    assert tree.chosen.correct in (True, False)  # the problem has a reference answer
    assert describe(strategy)


@pytest.mark.model
def test_beam_search_keeps_at_most_n_live_beams(pens, local, arithmetic):
    budget = Budget(n=4, width=2, max_depth=3, step_tokens=32, max_total_tokens=800, seed=3)
    events = run("beam_search", pens, local, arithmetic, budget)
    tree = ReasoningTree()
    for event in events:
        tree.apply(event)
        if isinstance(event, Status):  # a new depth starts: count what is still alive
            g = tree.graph
            live = [
                n
                for n in tree.leaves()
                if not g.nodes[n]["pruned"] and g.nodes[n]["answer"] is None and g.nodes[n]["text"]
            ]
            assert len(live) <= budget.n
    check_stream(events, budget)


@pytest.mark.model
def test_token_cap_stops_cleanly_with_an_answer(pens, local, arithmetic):
    budget = Budget(n=4, width=2, max_depth=6, step_tokens=64, max_total_tokens=100, seed=1)
    events = run("beam_search", pens, local, arithmetic, budget)
    check_stream(events, budget)
    assert events[-1].reason == "token_cap"
    assert "token cap" in events[-1].message


@pytest.mark.model
def test_model_judge_costs_are_verification(pens, local):
    from core.verifiers import make_verifier

    judge = make_verifier("model_judge", local)
    events = run("beam_search", pens, local, judge)
    check_stream(events, TINY)
    ledger = Ledger.from_events(events)
    assert ledger.role("verify").calls > 0
    assert ledger.role("verify").output_tokens == ledger.role("verify").calls  # one token each
    scored = [e for e in events if e.kind == "step_scored"]
    assert scored and all(0.0 <= e.score <= 1.0 for e in scored)


@pytest.mark.parametrize("strategy", sorted(set(STRATEGIES) - NEEDS_NATIVE_THINKING))
def test_fake_provider_streams_keep_invariants(strategy, pens, fake, arithmetic):
    budget = Budget(n=4, width=2, max_depth=4, step_tokens=16, max_total_tokens=2_000, seed=2)
    check_stream(run(strategy, pens, fake, arithmetic, budget), budget)


def test_same_seed_same_run(pens, fake, arithmetic):
    first = run("mcts", pens, fake, arithmetic)
    second = run("mcts", pens, fake, arithmetic)
    assert (
        ReasoningTree.from_events(first).signature()
        == ReasoningTree.from_events(second).signature()
    )


def test_provider_failure_keeps_the_partial_tree(pens, arithmetic):
    from core.providers.base import ProviderError
    from core.providers.fake import FakeProvider, arithmetic_script

    calls = {"n": 0}

    def flaky(request, index):
        calls["n"] += 1
        if calls["n"] > 3:
            raise ProviderError("the server answered 500 three times")
        return arithmetic_script(request, index)

    events = run("beam_search", pens, FakeProvider(flaky), arithmetic)
    tree = check_stream(events, TINY)
    assert events[-1].reason == "error"
    assert "500" in events[-1].message
    assert len(tree) >= 3  # what was computed before the failure is still there


def test_calls_billed_before_a_failure_stay_in_the_ledger(pens, arithmetic):
    from core.providers.base import Completion, ProviderError, Usage
    from core.providers.fake import FakeProvider

    billed = Completion("Step 1: 7 × 3 = 21.", "stop", Usage(40, 9), 0.1)

    class HalfFailing(FakeProvider):
        def generate(self, request):
            raise ProviderError("3 of 4 samples failed: 429 rate limit", partial=[billed])

    events = run("best_of_n", pens, HalfFailing(), arithmetic)
    assert events[-1].reason == "error"
    assert Ledger.from_events(events).total.output_tokens == 9


def test_native_thinking_is_refused_clearly_without_hidden_reasoning(pens, fake, arithmetic):
    assert "native_thinking" not in strategies_for(fake)
    events = run("native_thinking", pens, fake, arithmetic)
    assert events[-1].reason == "error"
    assert "no native thinking" in events[-1].message
    assert sum(isinstance(e, AnswerChosen) for e in events) == 1


def test_spending_cap_is_never_exceeded(pens, arithmetic):
    from core.providers.base import Price
    from core.providers.fake import FakeProvider

    priced = FakeProvider()
    priced.price = Price(input_per_million=100.0, output_per_million=200.0)
    budget = Budget(n=4, width=2, max_depth=4, step_tokens=16, max_dollars=0.05)
    events = run("beam_search", pens, priced, arithmetic, budget)
    check_stream(events, budget)
    assert events[-1].reason == "spend_cap"
    assert 0 < Ledger.from_events(events).total.cost_usd <= 0.05


def test_a_cap_with_an_unknown_price_refuses_to_guess(pens, fake, arithmetic):
    events = run("best_of_n", pens, fake, arithmetic, Budget(n=2, max_dollars=1.0))
    assert events[-1].reason == "spend_cap"
    assert "price is unknown" in events[-1].message


def test_a_failing_judge_stops_the_run_and_keeps_the_tree(pens, fake):
    from core.providers.base import ProviderError
    from core.providers.fake import FakeProvider
    from core.verifiers.model_judge import ModelJudge

    def broken(request, index):
        raise ProviderError("judge server timed out after 60 s")

    events = run("beam_search", pens, fake, ModelJudge(FakeProvider(broken)))
    tree = check_stream(events, TINY)
    assert events[-1].reason == "error"
    assert "verifier failed: judge server timed out" in events[-1].message
    assert len(tree) > 1


def test_judge_reads_p_yes_from_logprobs_and_falls_back_to_text():
    from core.providers.base import Completion, Usage
    from core.verifiers.model_judge import judge_score

    def call(text, logprobs=None):
        return Completion(text, "length", Usage(10, 1), 0.0, logprobs)

    value, _ = judge_score(call("Yes", ({"Yes": -0.1, " No": -2.4, "The": -5.0},)))
    assert value == pytest.approx(1 / (1 + 2.718281828 ** (-2.4 + 0.1)), rel=1e-6)
    assert judge_score(call("No, step 2 is wrong"))[0] == 0.0
    assert judge_score(call("I rate it 7/10"))[0] == pytest.approx(0.7)
    assert judge_score(call("hmm"))[0] == 0.5


class Recording(FakeProvider):
    """Records how many requests each provider call carried."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def generate_many(self, requests, on_text=None):
        self.batches.append(len(requests))
        return super().generate_many(requests, on_text)


@pytest.mark.parametrize(("strategy", "first"), [("beam_search", 1), ("dvts", 4)])
def test_tree_search_sends_a_whole_level_in_one_call(strategy, first, pens, arithmetic):
    """Every beam (or DVTS subtree) of a level goes out together, so the local engine decodes
    them in one batch: 8 beams of width 2 keep 4, which expand in one call of 4 requests."""
    provider = Recording()
    budget = Budget(n=8, width=2, max_depth=4, step_tokens=16, seed=2)
    check_stream(run(strategy, pens, provider, arithmetic, budget), budget)
    assert provider.batches[0] == first
    assert max(provider.batches) == 4


def test_a_level_over_the_token_cap_sends_what_fits_and_keeps_it(pens, arithmetic):
    provider = Recording()
    # The root's 8 steps use about 60 tokens; the next level's 4 requests of 2 x 16 would need
    # 128, so the run sends those that fit, then stops at the cap with every step paid for.
    budget = Budget(n=8, width=2, max_depth=4, step_tokens=16, max_total_tokens=150, seed=2)
    events = run("beam_search", pens, provider, arithmetic, budget)
    tree = check_stream(events, budget)
    assert events[-1].reason == "token_cap"
    assert provider.batches[1] < 4 and len(provider.batches) > 2
    assert len(tree) > 9  # the root's 8 steps and some of the next level's


def test_default_generate_many_keeps_what_was_billed_before_a_failure():
    calls = {"n": 0}

    def second_fails(request, index):
        calls["n"] += 1
        if calls["n"] > 2:
            raise ProviderError("the server answered 500")
        return "Step 1: 2 × 3 = 6."

    request = GenerationRequest((Message("user", "2 × 3?"),), n=2)
    with pytest.raises(ProviderError, match="500") as failure:
        FakeProvider(second_fails).generate_many([request, request])
    assert len(failure.value.partial) == 2
