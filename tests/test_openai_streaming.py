"""OpenAI and compatible servers stream: text as it arrives, usage from the final chunk, and a
plain call where a server refuses streaming or sends no usage (remembered)."""

from collections import defaultdict

import pytest

from core.budget import Budget
from core.events import NodeText, UsageRecorded
from core.providers.base import (
    Finished,
    GenerationRequest,
    Message,
    Price,
    ProviderError,
    Thinking,
    Usage,
)
from core.providers.openai_api import OpenAICompatibleProvider
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_openai_provider import chat, error
from tests.test_streaming import check_streaming

QUESTION = (Message("system", "Solve step by step."), Message("user", "What is 2 + 2?"))
USAGE = {
    "prompt_tokens": 50,
    "completion_tokens": 31,
    "total_tokens": 81,
    "prompt_tokens_details": {"cached_tokens": 20},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
PIECES = ["Step 1: ", "2 + 2 ", "= 4. ", "\\boxed{4}"]


def chunk(choices, usage=None):
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "tiny",
        "choices": choices,
        "usage": usage,
    }


def sse(n=1, usage=USAGE):
    """A streamed chat completion: n choices' pieces interleaved, then a usage-only chunk."""
    items = [chunk([{"index": i, "delta": {"role": "assistant", "content": ""}} for i in range(n)])]
    for text in PIECES:
        items += [chunk([{"index": i, "delta": {"content": text}}]) for i in range(n)]
    items.append(chunk([{"index": i, "delta": {}, "finish_reason": "stop"} for i in range(n)]))
    if usage is not None:
        items.append(chunk([], usage))
    return items


def streaming_server(usage=USAGE, refuse=False):
    def respond(payload, number):
        if payload.get("stream") and refuse:
            return error(400, "'stream' is not supported by this server", param="stream")
        if payload.get("stream"):
            return Reply(stream=sse(payload.get("n") or 1, usage), chunk_delay=0.01)
        return Reply(body=chat(payload.get("n") or 1, content="".join(PIECES), usage=USAGE))

    return FakeApiServer(respond)


def provider(server):
    return OpenAICompatibleProvider("tiny", server.url, price=Price(1.0, 2.0), max_retries=0)


def test_text_arrives_in_pieces_and_usage_equals_the_plain_calls():
    request = GenerationRequest(QUESTION, n=2, max_tokens=50)
    with streaming_server() as server:
        pieces = defaultdict(list)
        (streamed,) = provider(server).generate_many(
            [request], lambda r, i, text: pieces[(r, i)].append(text)
        )
        (plain,) = provider(server).generate_many([request])
    assert server.payloads[0]["stream"] is True
    assert server.payloads[0]["stream_options"] == {"include_usage": True}
    for i in (0, 1):  # each choice's pieces, then its end
        assert pieces[(0, i)][:-1] == PIECES and isinstance(pieces[(0, i)][-1], Finished)
    assert [c.text for c in streamed] == [c.text for c in plain] == ["".join(PIECES)] * 2
    assert [c.usage for c in streamed] == [c.usage for c in plain]
    assert sum(c.usage.output_tokens for c in streamed) == 31


def test_a_server_that_sends_no_usage_is_counted_from_the_text_then_called_plainly():
    request = GenerationRequest(QUESTION, max_tokens=50)
    with streaming_server(usage=None) as server:
        backend = provider(server)
        (first,) = backend.generate_many([request], lambda r, i, text: None)[0]
        (second,) = backend.generate_many([request], lambda r, i, text: None)[0]
    assert first.usage.output_tokens >= len("".join(PIECES)) // 4  # never an undercount
    assert "stream" not in server.payloads[1]  # remembered: plain from now on
    assert second.usage == Usage(50, 31, 20, 0)


def test_a_server_that_refuses_streaming_gets_a_plain_call():
    request = GenerationRequest(QUESTION, max_tokens=50)
    with streaming_server(refuse=True) as server:
        backend = provider(server)
        (completion,) = backend.generate_many([request], lambda r, i, text: None)[0]
    assert completion.text == "".join(PIECES)
    assert [("stream" in p) for p in server.payloads] == [True, False]
    assert "stream" in backend.dropped


def test_a_run_over_a_streaming_server_streams_its_nodes(pens, arithmetic):
    with streaming_server() as server:
        events = list(STRATEGIES["best_of_n"](pens, provider(server), arithmetic, Budget(n=2)))
    texts = [e for e in events if isinstance(e, NodeText)]
    assert texts and events[-1].reason == "complete"
    check_streaming(events)  # each node marked written as its choice finished
    usage = [e for e in events if isinstance(e, UsageRecorded) and e.role == "generate"]
    assert sum(u.output_tokens for u in usage) == 31


def test_a_server_that_ignores_stream_is_read_in_one_piece():
    request = GenerationRequest(QUESTION, max_tokens=50)
    with FakeApiServer(lambda payload, number: Reply(body=chat(content="4"))) as server:
        backend = provider(server)
        (completion,) = backend.generate_many([request], lambda r, i, text: None)[0]
    assert (completion.text, completion.usage.output_tokens) == ("4", 31)
    assert "stream" in backend.dropped


def test_a_stream_cut_short_is_not_taken_for_a_whole_reply():
    request = GenerationRequest(QUESTION, max_tokens=50)
    with (
        FakeApiServer(lambda payload, number: Reply(stream=sse()[:3])) as server,
        pytest.raises(ProviderError, match="ended before the reply was complete"),
    ):
        provider(server).generate_many([request], lambda r, i, text: None)


def test_a_reasoning_server_gets_the_thinking_budget_and_a_refused_field_is_dropped():
    def respond(payload, number):
        if "thinking_token_budget" in payload:
            return error(400, "Unrecognized request argument: 'thinking_token_budget'")
        return Reply(body=chat(content="4", reasoning_content="two and two"))

    request = GenerationRequest(
        QUESTION, max_tokens=900, thinking_tokens=600, reasoning_effort="low"
    )
    with FakeApiServer(respond) as server:
        backend = OpenAICompatibleProvider("qwq", server.url, reasoning=True, max_retries=0)
        (completion,) = backend.generate(request)
    assert server.payloads[0]["thinking_budget_tokens"] == 600
    assert "thinking_token_budget" not in server.payloads[1]
    assert server.payloads[1]["thinking_budget_tokens"] == 600
    assert completion.thinking == "two and two"


def test_a_reasoning_servers_thinking_streams_as_thinking_before_its_answer():
    """reasoning_content deltas (llama.cpp, vLLM, DeepSeek) are the thinking, not the answer."""
    reasoning = ["Two and ", "two make four."]
    items = sse()
    items[1:1] = [chunk([{"index": 0, "delta": {"reasoning_content": r}}]) for r in reasoning]
    pieces = []
    with FakeApiServer(lambda p, n: Reply(stream=items, chunk_delay=0.01)) as server:
        (streamed,) = provider(server).generate_many(
            [GenerationRequest(QUESTION, max_tokens=64)], lambda r, i, text: pieces.append(text)
        )
    assert pieces[:2] == reasoning and all(isinstance(p, Thinking) for p in pieces[:2])
    assert not any(isinstance(p, Thinking) for p in pieces[2:])
    assert "".join(pieces[2:]) == streamed[0].text == "".join(PIECES)
    assert streamed[0].thinking == "".join(reasoning)


def test_a_server_that_fills_both_reasoning_fields_shows_the_thinking_once():
    items = sse()
    both = {"reasoning_content": "Two and two.", "reasoning": "Two and two."}
    items[1:1] = [chunk([{"index": 0, "delta": both}])]
    pieces = []
    with FakeApiServer(lambda p, n: Reply(stream=items, chunk_delay=0.01)) as server:
        (streamed,) = provider(server).generate_many(
            [GenerationRequest(QUESTION, max_tokens=64)], lambda r, i, text: pieces.append(text)
        )
    assert [p for p in pieces if isinstance(p, Thinking)] == ["Two and two."]
    assert streamed[0].thinking == "Two and two."
