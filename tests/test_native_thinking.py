"""Native thinking as a strategy: effort and thinking budget from the Budget, costed like the rest."""

import pytest

from core.budget import Budget
from core.events import NodeAdded, RunFinished, Status, UsageRecorded
from core.providers.anthropic_api import AnthropicProvider
from core.providers.base import Usage
from core.providers.openai_api import OpenAIProvider
from strategies.native_thinking import native_thinking, thinking_plan
from strategies.runner import run_strategy
from tests.fake_api_server import FakeApiServer, Reply, script
from tests.test_anthropic_provider import message
from tests.test_openai_provider import chat

ANSWER = "Tom pays 7 × 3 = 21, so his change is 50 − 21 = 29. \\boxed{29}"
BUDGET = Budget(n=4, max_depth=4, step_tokens=64)  # a sample is 256 tokens


def run(provider, problem, verifier, budget=BUDGET):
    return list(
        run_strategy("native_thinking", native_thinking, problem, provider, verifier, budget)
    )


@pytest.mark.parametrize(
    ("n", "effort", "tokens"),
    [
        (1, "low", 1024),
        (2, "low", 1024),
        (3, "medium", 1024),
        (8, "medium", 2048),
        (9, "high", 2304),
    ],
)
def test_effort_and_thinking_tokens_follow_the_budget(n, effort, tokens):
    assert thinking_plan(Budget(n=n, max_depth=4, step_tokens=64)) == (effort, tokens)


def test_openai_reasoning_effort_run(pens, arithmetic):
    reply = chat(content=ANSWER, reasoning_content="Seven pens at three dollars...")
    reply["usage"]["completion_tokens"] = 900
    reply["usage"]["completion_tokens_details"]["reasoning_tokens"] = 850
    with FakeApiServer(script(Reply(body=reply))) as server:
        provider = OpenAIProvider("o4-mini", api_key="sk-test-123456789", base_url=server.url)
        events = run(provider, pens, arithmetic)
    (body,) = server.payloads
    assert body["reasoning_effort"] == "medium"  # n = 4
    assert body["max_completion_tokens"] == 1024 + 256  # thinking, then one sample's answer
    (node,) = [e for e in events if isinstance(e, NodeAdded)]
    assert node.role == "answer" and node.answer == "29"
    (usage,) = [e for e in events if isinstance(e, UsageRecorded) and e.role == "generate"]
    assert usage.reasoning_tokens == 850 and usage.output_tokens == 900
    billed = Usage(
        usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.reasoning_tokens
    )
    assert usage.cost_usd == pytest.approx(provider.cost(billed)) and usage.cost_usd > 0
    assert node.thinking == "Seven pens at three dollars..."
    assert any("850 hidden tokens" in e.text for e in events if isinstance(e, Status))
    assert events[-1].reason == "complete" and events[-2].correct is True


def test_anthropic_extended_thinking_run(pens, arithmetic):  # a model that takes a budget
    thinking = {"type": "thinking", "thinking": "Change is 50 minus cost.", "signature": "c2ln"}
    with FakeApiServer(script(Reply(body=message(thinking, ANSWER)))) as server:
        provider = AnthropicProvider(
            "claude-haiku-4-5", api_key="sk-ant-test-123456", base_url=server.url
        )
        events = run(provider, pens, arithmetic, Budget(n=9, max_depth=4, step_tokens=64))
    (body,) = server.payloads
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 9 * 256}
    assert body["max_tokens"] == 9 * 256 + 256
    assert events[-2].correct is True


def test_a_provider_without_native_thinking_stops_with_a_reason(pens, fake, arithmetic):
    events = run(fake, pens, arithmetic)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.reason == "error"
    assert "has no native thinking" in finished.message


def test_the_spending_cap_stops_before_the_call(pens, arithmetic):
    with FakeApiServer(script(Reply(body=chat(content=ANSWER)))) as server:
        provider = OpenAIProvider("o3", api_key="sk-test-123456789", base_url=server.url)
        budget = Budget(n=4, max_depth=4, step_tokens=64, max_dollars=0.001)
        events = run(provider, pens, arithmetic, budget)
    assert server.received == []  # o3 writing 1,280 tokens could cost more than $0.001
    assert events[-1].reason == "spend_cap"


def test_the_answer_streams_into_a_node_drawn_when_the_call_goes_out(pens, arithmetic):
    from core.events import NodeStarted, NodeText
    from core.providers.fake import FakeProvider
    from tests.test_streaming import check_streaming

    class Thinking(FakeProvider):
        native_thinking = True

    events = run(Thinking(lambda request, index: ANSWER), pens, arithmetic)
    kinds = [type(e) for e in events if isinstance(e, (NodeStarted, NodeText, NodeAdded))]
    assert kinds[0] is NodeStarted and NodeText in kinds and kinds[-1] is NodeAdded
    (node,) = [e for e in events if isinstance(e, NodeAdded)]
    assert check_streaming(events) == {node.node_id: ANSWER} and node.answer == "29"
