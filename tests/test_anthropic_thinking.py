"""Anthropic native thinking per model: adaptive with an effort level on Claude 4.6 and later, the
manual budget before; a 400 about the form switches to the other one, once, and is remembered."""

import pytest

from core.providers.anthropic_api import AnthropicProvider, effort_for, takes_adaptive_thinking
from core.providers.base import GenerationRequest
from tests.fake_api_server import FakeApiServer, Reply, script
from tests.test_anthropic_provider import KEY, QUESTION, error, message


def provider(server, model):
    return AnthropicProvider(model, api_key=KEY, base_url=server.url, max_retries=0, timeout=5.0)


def think(backend):
    request = GenerationRequest(QUESTION, max_tokens=6000, thinking_tokens=4000)
    return backend.generate(request)


@pytest.mark.parametrize(
    ("model", "adaptive"),
    [
        ("claude-opus-4-7", True),
        ("claude-sonnet-4-6", True),
        ("claude-opus-4-6-20260101", True),
        ("claude-sonnet-4-5-20250929", False),
        ("claude-haiku-4-5", False),
        ("claude-opus-4-20250514", False),
        ("claude-3-7-sonnet-20250219", False),
    ],
)
def test_the_thinking_form_is_chosen_per_model(model, adaptive):
    assert takes_adaptive_thinking(model) is adaptive


def test_budgets_map_to_effort_levels():
    assert [effort_for(t) for t in (1024, 4000, 16000, 60000)] == ["low", "medium", "high", "max"]


def test_opus_4_7_thinks_adaptively_with_summarized_thinking():
    reply = message({"type": "thinking", "thinking": "4.", "signature": "s"}, "\\boxed{4}")
    with FakeApiServer(script(Reply(body=reply))) as server:
        (out,) = think(provider(server, "claude-opus-4-7"))
    body = server.payloads[0]
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "medium"}
    assert out.thinking == "4." and out.text == "\\boxed{4}"


def test_a_400_about_the_thinking_form_falls_back_once_and_is_remembered():
    refused = error(
        400,
        "invalid_request_error",
        "thinking.type.adaptive is not supported for this model; use thinking.type.enabled",
    )
    replies = script(refused, Reply(body=message("\\boxed{4}")))
    with FakeApiServer(replies) as server:
        backend = provider(server, "claude-sonnet-4-7")
        think(backend)
        think(backend)
    forms = [p["thinking"]["type"] for p in server.payloads]
    assert forms == ["adaptive", "enabled", "enabled"]
