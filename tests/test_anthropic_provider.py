"""The Anthropic provider against a local server speaking the Messages API."""

import pytest

from core.providers.anthropic_api import AnthropicProvider
from core.providers.api_text import CONTINUE_PROMPT
from core.providers.base import GenerationRequest, Message, ProviderError, Usage
from core.verifiers.model_judge import ModelJudge
from tests.fake_api_server import FakeApiServer, Reply, script

KEY = "fake-anthropic-key-for-tests-0123456789"
QUESTION = (Message("system", "Solve step by step."), Message("user", "What is 2 + 2?"))
USAGE = {
    "input_tokens": 20,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 30,
    "output_tokens": 40,
    "output_tokens_details": {"thinking_tokens": 25},
}


def message(*blocks, stop_reason="end_turn", usage=None, **extra):
    """A Messages API reply; `blocks` are text strings or ready content blocks."""
    content = [{"type": "text", "text": b} if isinstance(b, str) else b for b in blocks]
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or USAGE,
        **extra,
    }


def error(status, kind, text, headers=None):
    return Reply(status, {"type": "error", "error": {"type": kind, "message": text}}, headers or {})


def claude(server, **options):
    options = {"max_retries": 0, "timeout": 5.0, **options}
    return AnthropicProvider("claude-haiku-4-5", api_key=KEY, base_url=server.url, **options)


def ask(provider, **fields):
    return provider.generate(GenerationRequest(messages=QUESTION, **fields))


def test_prefill_stop_and_usage_mapping():
    reply = message("\n\nStep 2: 4 × 3 = 12.\n\nStep 3: done.", stop_reason="max_tokens")
    with FakeApiServer(script(Reply(body=reply))) as server:
        (out,) = ask(
            claude(server), max_tokens=96, stop=("\n\n",), assistant_prefix="Step 1: 2 + 2 = 4.\n\n"
        )
    (sent,) = server.received
    assert sent.path == "/v1/messages"
    assert (
        sent.headers["authorization"] == f"Bearer {KEY}"
    )  # this SDK sends the key as a bearer token
    body = sent.payload
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 96
    assert body["system"] == "Solve step by step."
    assert body["messages"] == [
        {"role": "user", "content": "What is 2 + 2?"},
        # Prefill without the trailing blank line, which the API refuses.
        {"role": "assistant", "content": "Step 1: 2 + 2 = 4."},
    ]
    assert "stop_sequences" not in body  # a whitespace-only stop is refused, so it applies here
    assert not {"temperature", "top_p", "seed", "thinking"} & set(body)
    assert out.text == "Step 2: 4 × 3 = 12." and out.finish_reason == "stop"
    assert out.usage == Usage(
        input_tokens=50, output_tokens=40, cached_tokens=30, reasoning_tokens=25
    )
    assert out.logprobs is None


def test_n_samples_are_concurrent_requests():
    with FakeApiServer(script(Reply(body=message("Step 1."), delay=0.3))) as server:
        out = ask(claude(server), n=4, stop=("\n\n", "Human:"))
        starts = sorted(r.at for r in server.received)
    assert len(out) == 4 and len(server.received) == 4
    assert starts[-1] - starts[0] < 0.25  # all four sent before the first answered
    assert all(p["stop_sequences"] == ["Human:"] for p in server.payloads)


def test_extended_thinking():
    thinking = {"type": "thinking", "thinking": "Two and two make four.", "signature": "c2ln"}
    redacted = {"type": "redacted_thinking", "data": "ZW5j"}
    reply = message(thinking, redacted, "The answer is \\boxed{4}.")
    with FakeApiServer(script(Reply(body=reply))) as server:
        provider = claude(server)
        (out,) = ask(provider, max_tokens=3000, thinking_tokens=2000, reasoning_effort="medium")
        with pytest.raises(ProviderError, match="at least 1,024 thinking tokens"):
            ask(provider, max_tokens=900, thinking_tokens=2000)
    assert server.payloads[0]["thinking"] == {"type": "enabled", "budget_tokens": 2000}
    assert out.thinking == "Two and two make four.\n\n[redacted thinking]"
    assert out.text == "The answer is \\boxed{4}."
    assert out.usage.reasoning_tokens == 25
    assert len(server.received) == 1  # the impossible budget never reached the API


def test_a_model_without_prefill_gets_a_continuation_turn():
    def respond(payload, number):
        if payload["messages"][-1]["role"] == "assistant":
            return error(
                400,
                "invalid_request_error",
                "This model does not support assistant message prefill.",
            )
        return Reply(body=message("Step 2: 12."))

    with FakeApiServer(respond) as server:
        provider = claude(server)
        (out,) = ask(provider, assistant_prefix="Step 1: 4.\n\n")
        ask(provider, assistant_prefix="Step 1: 4.\n\n")
    assert out.text == "Step 2: 12."
    assert server.payloads[1]["messages"][-2:] == [
        {"role": "assistant", "content": "Step 1: 4."},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    assert len(server.received) == 3  # refused once, then remembered


def test_the_judge_reads_a_rating_from_text():
    with FakeApiServer(script(Reply(body=message("Yes")))) as server:
        scores = ModelJudge(claude(server)).score("What is 2 + 2?", [["2 + 2 = 4."]])
    assert server.payloads[0]["max_tokens"] == 1
    assert scores.scores == [1.0] and scores.details == ["judge said yes"]


def test_retry_after_is_honoured_on_429():
    busy = error(429, "rate_limit_error", "Number of requests exceeded", {"retry-after": "1"})
    with FakeApiServer(script(busy, Reply(body=message("ok")))) as server:
        (out,) = ask(claude(server, max_retries=2))
    first, second = server.received
    assert second.at - first.at >= 0.95 and out.text == "ok"


def test_overloaded_is_retried():
    with FakeApiServer(
        script(error(529, "overloaded_error", "Overloaded"), Reply(body=message("ok")))
    ) as server:
        (out,) = ask(claude(server, max_retries=1))
    assert len(server.received) == 2 and out.text == "ok"


FAULTS = {
    "garbage": (Reply(body="upstream connect error"), "not valid JSON"),
    "truncated JSON": (Reply(body='{"id": "msg_01", "content": [{"type": "te'), "not valid JSON"),
    "body cut short": (Reply(body=message("ok"), short=30), "connection was refused, reset or cut"),
    "timeout": (Reply(body=message("ok"), delay=2.0), "did not answer within 0.4 s"),
    "connection reset": (Reply(reset=True), "connection was refused, reset or cut"),
    "invalid key": (
        error(401, "authentication_error", f"invalid x-api-key {KEY}"),
        "rejected the API key (401)",
    ),
    "unknown model": (
        error(404, "not_found_error", "model: claude-haiku-4-5"),
        "does not know the model 'claude-haiku-4-5' (404)",
    ),
    "context length": (
        error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
        "do not fit in claude-haiku-4-5's context window",
    ),
    "refusal": (
        Reply(
            body=message(
                "",
                stop_reason="refusal",
                stop_details={"type": "refusal", "category": "cyber", "explanation": "Policy."},
            )
        ),
        "declined to answer (Policy.)",
    ),
    "server error after retries": (
        error(500, "api_error", "Internal server error"),
        "failed with error 500",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_become_clear_provider_errors(fault):
    reply, expected = FAULTS[fault]
    with FakeApiServer(script(reply)) as server, pytest.raises(ProviderError) as caught:
        ask(claude(server, timeout=0.3), max_tokens=1)  # 0.3 s + 1 token at 10 tokens/s
    assert expected in str(caught.value)
    assert KEY not in str(caught.value)


def test_worst_case_cost_bounds_the_bill():
    with FakeApiServer(script(Reply(body=message("x" * 10)))) as server:
        provider = claude(server)
        request = GenerationRequest(messages=QUESTION, n=2, max_tokens=40)
        prompt = "".join(m.content for m in QUESTION)
        worst = provider.worst_case_cost(request, provider.count_tokens(prompt))
        billed = sum(provider.cost(c.usage) for c in provider.generate(request))
    assert provider.price is not None and billed <= worst
    assert "genai-prices" in provider.price_source


def test_no_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ProviderError, match="no Anthropic API key: set ANTHROPIC_API_KEY"):
        AnthropicProvider("claude-haiku-4-5")
