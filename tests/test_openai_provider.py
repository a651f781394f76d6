"""The OpenAI and OpenAI-compatible providers against a local server speaking chat completions."""

import pytest

from core.providers.api_text import CONTINUE_PROMPT
from core.providers.base import GenerationRequest, Message, Price, ProviderError, Usage
from core.providers.openai_api import OpenAICompatibleProvider, OpenAIProvider, split
from core.verifiers.model_judge import ModelJudge
from tests.fake_api_server import FakeApiServer, Reply, script

KEY = "fake-openai-key-for-tests-0123456789"
QUESTION = (Message("system", "Solve step by step."), Message("user", "What is 2 + 2?"))


def chat(n=1, *, content="Step 1: 2 + 2 = 4.", usage=None, finish="stop", **message):
    """A chat completion as the API sends it."""
    usage = usage or {
        "prompt_tokens": 50,
        "completion_tokens": 31,
        "total_tokens": 81,
        "prompt_tokens_details": {"cached_tokens": 20, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 6, "audio_tokens": 0},
    }
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": content, "refusal": None, **message},
            "logprobs": None,
            "finish_reason": finish,
        }
        for i in range(n)
    ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": choices,
        "usage": usage,
    }


def error(status, message, code=None, param=None, headers=None):
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
    return Reply(status, body, headers or {})


def openai(server, model="gpt-4o-mini", **options):
    options = {"max_retries": 0, "timeout": 5.0, **options}
    return OpenAIProvider(model, api_key=KEY, base_url=f"{server.url}/v1", **options)


def ask(provider, **fields):
    return provider.generate(GenerationRequest(messages=QUESTION, **fields))


def test_native_n_request_and_usage_mapping():
    with FakeApiServer(lambda payload, _: Reply(body=chat(payload.get("n", 1)))) as server:
        provider = openai(server)
        out = ask(provider, n=3, max_tokens=64, temperature=0.5, top_p=0.9, stop=("\n\n",), seed=5)
    (sent,) = server.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.payload
    assert body["model"] == "gpt-4o-mini" and body["n"] == 3
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.5, 0.9, 5)
    assert body["stop"] == ["\n\n"]
    assert body["messages"] == [
        {"role": "system", "content": "Solve step by step."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    assert [c.text for c in out] == ["Step 1: 2 + 2 = 4."] * 3
    # One bill for the request, shared across its choices so that the totals are exact.
    assert sum(c.usage.input_tokens for c in out) == 50
    assert sum(c.usage.output_tokens for c in out) == 31
    assert sum(c.usage.cached_tokens for c in out) == 20
    assert sum(c.usage.reasoning_tokens for c in out) == 6
    assert provider.cost(Usage(50, 31, 20)) == pytest.approx(
        (30 * 0.15 + 20 * 0.075 + 31 * 0.6) / 1e6
    )


def test_prefix_becomes_a_continuation_turn_and_extra_stops_apply_locally():
    text = "Step 2: 4 × 3 = 12.\n\nStep 3: more END"
    with FakeApiServer(
        lambda payload, _: Reply(body=chat(content=text, finish="length"))
    ) as server:
        (out,) = ask(
            openai(server),
            stop=("\n\n", "A", "B", "C", "END"),
            assistant_prefix="Step 1: 2 + 2 = 4.\n\n",
        )
    body = server.payloads[0]
    assert body["messages"][-2:] == [
        {"role": "assistant", "content": "Step 1: 2 + 2 = 4."},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    assert body["stop"] == ["\n\n", "A", "B", "C"]  # the API takes at most 4
    assert out.text == "Step 2: 4 × 3 = 12."  # cut here at a stop, so not "length"
    assert out.finish_reason == "stop"


def test_logprobs_feed_the_model_judge():
    logprobs = {
        "content": [
            {
                "token": "Yes",
                "logprob": -0.2,
                "bytes": [89, 101, 115],
                "top_logprobs": [
                    {"token": "Yes", "logprob": -0.2, "bytes": None},
                    {"token": "No", "logprob": -1.8, "bytes": None},
                ],
            }
        ],
        "refusal": None,
    }
    reply = chat(content="Yes", finish="length")
    reply["choices"][0]["logprobs"] = logprobs
    with FakeApiServer(script(Reply(body=reply))) as server:
        provider = openai(server)
        scores = ModelJudge(provider).score("What is 2 + 2?", [["2 + 2 = 4."]])
    body = server.payloads[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 10
    assert body["max_completion_tokens"] == 1
    assert scores.calls[0].logprobs == ({"Yes": -0.2, "No": -1.8},)
    assert scores.scores[0] == pytest.approx(1 / (1 + 2.718281828 ** (-1.6)), rel=1e-6)


def test_refused_n_falls_back_to_concurrent_requests():
    def respond(payload, number):
        if "n" in payload:
            return error(
                400,
                "Unsupported parameter: 'n' is not supported with this model.",
                "unsupported_parameter",
                "n",
            )
        return Reply(body=chat(content=f"sample seeded {payload['seed']}"), delay=0.2)

    with FakeApiServer(respond) as server:
        provider = openai(server)
        out = ask(provider, n=4, seed=10)
        ask(provider, n=2, seed=10)
    assert [c.text for c in out] == [f"sample seeded {10 + i}" for i in range(4)]
    assert server.most_in_flight == 4  # four requests at once, not one after another
    assert sum("n" in p for p in server.payloads) == 1  # refused once, never sent again


def test_a_server_that_ignores_n_gets_one_request_per_missing_sample():
    with FakeApiServer(lambda payload, _: Reply(body=chat(1))) as server:
        provider = OpenAICompatibleProvider("qwen", server.url + "/v1", max_retries=0)
        out = ask(provider, n=3, seed=1)
        assert len(out) == 3
        ask(provider, n=2, seed=1)
    assert [p.get("n") for p in server.payloads] == [3, None, None, None, None]
    assert sorted(p["seed"] for p in server.payloads[1:3]) == [2, 3]  # sent concurrently
    assert server.payloads[0]["max_tokens"] == 256  # compatible servers get max_tokens


def test_refused_sampling_fields_are_dropped_and_remembered():
    def respond(payload, number):
        if "temperature" in payload:
            return error(
                400,
                "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.",
                "unsupported_value",
                "temperature",
            )
        if "stop" in payload:
            return error(
                400,
                "Unsupported parameter: 'stop' is not supported with this model.",
                "unsupported_parameter",
                "stop",
            )
        return Reply(body=chat(content="one\n\ntwo"))

    with FakeApiServer(respond) as server:
        provider = openai(server)
        (out,) = ask(provider, stop=("\n\n",))
        ask(provider, stop=("\n\n",))
    assert out.text == "one"  # the refused stop applied here instead
    assert len(server.payloads) == 4  # two refusals, then one clean request each
    assert "temperature" not in server.payloads[-1] and "stop" not in server.payloads[-1]


def test_reasoning_effort_and_visible_reasoning():
    reply = chat(content="\\boxed{4}", reasoning_content="2 plus 2 is 4.")
    with FakeApiServer(script(Reply(body=reply))) as server:
        provider = openai(server, "o4-mini")
        (out,) = ask(provider, reasoning_effort="high", thinking_tokens=2000, max_tokens=3000)
    body = server.payloads[0]
    assert body["reasoning_effort"] == "high" and body["max_completion_tokens"] == 3000
    assert "temperature" not in body and "top_p" not in body
    assert out.thinking == "2 plus 2 is 4." and out.usage.reasoning_tokens == 6


def test_retry_after_is_honoured_on_429():
    busy = error(429, "Rate limit reached for requests", headers={"retry-after": "1"})
    with FakeApiServer(script(busy, Reply(body=chat()))) as server:
        (out,) = ask(openai(server, max_retries=2))
    first, second = server.received
    assert second.at - first.at >= 0.95
    assert out.text == "Step 1: 2 + 2 = 4."


def test_server_error_is_retried():
    with FakeApiServer(script(error(500, "boom"), Reply(body=chat()))) as server:
        (out,) = ask(openai(server, max_retries=1))
    assert len(server.received) == 2 and out.finish_reason == "stop"


FAULTS = {
    "garbage": (Reply(body="<html>502 Bad Gateway</html>"), "not valid JSON"),
    "truncated JSON": (Reply(body='{"id": "x", "choices": [{"index": 0, "mess'), "not valid JSON"),
    "body cut short": (Reply(body=chat(), short=40), "connection was refused, reset or cut"),
    "wrong shape": (Reply(body={"id": "x"}), "without the expected fields"),
    "timeout": (Reply(body=chat(), delay=2.0), "did not answer within 0.4 s"),
    "connection reset": (Reply(reset=True), "connection was refused, reset or cut"),
    "invalid key": (
        error(401, f"Incorrect API key provided: {KEY[:8]}****cdef.", "invalid_api_key"),
        "rejected the API key (401)",
    ),
    "unknown model": (
        error(
            404,
            "The model `gpt-9` does not exist or you do not have access to it.",
            "model_not_found",
        ),
        "does not know the model 'gpt-4o-mini' (404)",
    ),
    "context length": (
        error(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
            "context_length_exceeded",
            "messages",
        ),
        "do not fit in gpt-4o-mini's context window",
    ),
    "refusal": (
        Reply(body=chat(content=None, refusal="I can't help with that.")),
        "refused to answer: I can't help",
    ),
    "content filter": (Reply(body=chat(finish="content_filter")), "content filter"),
    "rate limit after retries": (
        error(429, "You exceeded your current quota."),
        "rate-limiting this key (429",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_become_clear_provider_errors(fault):
    reply, expected = FAULTS[fault]
    with FakeApiServer(script(reply)) as server, pytest.raises(ProviderError) as caught:
        ask(openai(server, timeout=0.3), max_tokens=1)  # 0.3 s + 1 token at 10 tokens/s
    assert expected in str(caught.value)
    assert KEY not in str(caught.value) and KEY[:8] not in str(caught.value)


def test_one_failed_sample_keeps_the_billed_others():
    def respond(payload, number):
        if payload["seed"] == 2:
            return error(400, "Invalid prompt: flagged as potentially violating our usage policy.")
        return Reply(body=chat(content=f"seed {payload['seed']}"))

    with FakeApiServer(respond) as server:
        provider = OpenAICompatibleProvider("m", server.url, max_retries=0)
        with pytest.raises(ProviderError) as caught:
            ask(provider, n=3, seed=0)
    assert "refused the request (400)" in str(caught.value)
    assert sorted(c.text for c in caught.value.partial) == ["seed 0", "seed 1"]


def test_a_failure_cancels_the_samples_not_yet_sent():
    with FakeApiServer(script(error(403, "Project does not have access to model"))) as server:
        provider = OpenAICompatibleProvider("m", server.url, max_retries=0, concurrency=1)
        provider.dropped.add("n")
        with pytest.raises(ProviderError, match="403"):
            ask(provider, n=6)
    assert len(server.received) <= 2  # one at a time, and the rest were cancelled


def test_worst_case_cost_bounds_the_bill_and_unknown_prices_stay_unknown():
    with FakeApiServer(lambda payload, _: Reply(body=chat(payload.get("n", 1)))) as server:
        provider = openai(server)
        request = GenerationRequest(
            messages=QUESTION, n=3, max_tokens=31, assistant_prefix="So far.\n\n"
        )
        prompt = "".join(m.content for m in QUESTION) + request.assistant_prefix
        worst = provider.worst_case_cost(request, provider.count_tokens(prompt))
        billed = sum(provider.cost(c.usage) for c in provider.generate(request))
        assert billed <= worst
        custom = OpenAICompatibleProvider("my-finetune", server.url)
        assert custom.price is None and custom.worst_case_cost(request, 10) is None
        assert custom.cost(Usage(10, 10)) is None
        priced = OpenAICompatibleProvider("my-finetune", server.url, price=Price(1.0, 2.0))
        assert priced.cost(Usage(1_000_000, 1_000_000)) == pytest.approx(3.0)


def test_keys_stay_with_their_own_provider(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("DELIBERATE_COMPAT_API_KEY", raising=False)
    with FakeApiServer(script(Reply(body=chat()))) as server:
        ask(OpenAICompatibleProvider("m", server.url, max_retries=0))
    # A compatible server never receives the user's OpenAI key.
    assert KEY not in str(server.received[0].headers)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ProviderError, match="no OpenAI API key"):
        OpenAIProvider("gpt-4o-mini")
    with pytest.raises(ProviderError, match="base URL"):
        OpenAICompatibleProvider("m", "localhost:8000")


def test_split_adds_up():
    assert split(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(split(31, [19, 1, 5])) == 31
    assert split(0, [3, 4]) == [0, 0]


def test_reasoning_counted_on_top_of_completion_is_counted_once_and_priced():
    # Issue 14: the totals show reasoning on top of completion_tokens (xAI's convention).
    usage = {
        "prompt_tokens": 10120,
        "completion_tokens": 1499,
        "total_tokens": 14428,
        "prompt_tokens_details": {"cached_tokens": 128},
        "completion_tokens_details": {"reasoning_tokens": 2809},
    }
    with FakeApiServer(script(Reply(200, chat(usage=usage)))) as server:
        price = Price(3.0, 15.0, cached_input_per_million=0.75)
        provider = OpenAICompatibleProvider("grok-like", server.url, price=price, max_retries=0)
        (completion,) = ask(provider)
    assert completion.usage == Usage(10120, 4308, 128, 2809)
    assert provider.cost(completion.usage) == pytest.approx(0.0947, abs=5e-5)


def test_reasoning_inside_completion_is_not_added_twice():
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 900,
        "total_tokens": 1000,
        "completion_tokens_details": {"reasoning_tokens": 600},
    }
    with FakeApiServer(script(Reply(200, chat(usage=usage)))) as server:
        (completion,) = ask(openai(server))
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (900, 600)


@pytest.mark.parametrize(
    ("model", "thinks"),
    [("gpt-4o-mini", False), ("gpt-4.1", False), ("o4-mini", True), ("gpt-5-mini", True)],
)
def test_native_thinking_only_for_reasoning_models(model, thinks):
    # Issue 14: gpt-4o-mini was offered native thinking, sent reasoning_effort and was refused.
    provider = OpenAIProvider(model, api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert provider.native_thinking is thinks
