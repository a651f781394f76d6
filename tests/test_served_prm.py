"""Served PRMs against fake servers speaking vLLM's pooling API and the completions API."""

import math

import pytest

from core.providers.base import Price
from core.verifiers.prm_pooling import PoolingPrm, pooling_messages
from core.verifiers.prm_shepherd import ShepherdPrm, shepherd_prompt
from core.verifiers.served import KEY_VARIABLE, MAX_FAILURES, PrmServer
from tests.fake_api_server import FakeApiServer, Reply, script

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many in all?"
STEPS = ["In May she sold 48 / 2 = 24 clips.", "In all 48 + 24 = 72. The answer is 72."]


def pooling_reply(pairs: list[list[float]], prompt_tokens: int = 212) -> Reply:
    """vLLM's PoolingResponse for one input (entrypoints/pooling/pooling/protocol.py)."""
    return Reply(
        body={
            "id": "pool-1",
            "object": "list",
            "created": 1,
            "model": "Qwen/Qwen2.5-Math-PRM-7B",
            "data": [{"index": 0, "object": "pooling", "data": pairs}],
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }
    )


def completion_reply(logprobs: object, prompt_tokens: int = 150) -> Reply:
    """A /v1/completions reply with one generated token and its logprobs."""
    return Reply(
        body={
            "id": "cmpl-1",
            "object": "text_completion",
            "model": "math-shepherd",
            "choices": [{"index": 0, "text": "+", "logprobs": logprobs, "finish_reason": "length"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1, "total_tokens": 151},
        }
    )


def legacy(top: dict[str, float]) -> dict:
    """The legacy completions logprobs shape (vLLM, llama-cpp-python)."""
    first = next(iter(top))
    return {"tokens": [first], "token_logprobs": [top[first]], "top_logprobs": [top], "text_offset": [0]}  # fmt: skip


def server(url: str, **kwargs) -> PrmServer:
    return PrmServer(url, "Qwen/Qwen2.5-Math-PRM-7B", **kwargs)


def test_pooling_request_is_the_chat_with_a_separator_after_every_step():
    with FakeApiServer(script(pooling_reply([[0.03, 0.97], [0.41, 0.59]]))) as fake:
        scored = PoolingPrm(server(fake.url + "/v1")).score(QUESTION, [STEPS])
    (received,) = fake.received
    assert received.path == "/pooling"  # at the server's root, though the URL ended in /v1
    assert received.payload == {
        "model": "Qwen/Qwen2.5-Math-PRM-7B",
        "messages": [
            {
                "role": "system",
                "content": "Please reason step by step, and put your final answer within \\boxed{}.",
            },
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": f"{STEPS[0]}<extra_0>{STEPS[1]}<extra_0>"},
        ],
    }
    assert scored.scores == [0.59]  # the last step's P(right)
    assert scored.details == ["Qwen/Qwen2.5-Math-PRM-7B: P(step right) = 0.59"]
    assert [c.usage.input_tokens for c in scored.calls] == [212]
    assert [c.usage.output_tokens for c in scored.calls] == [0]


def test_one_pooling_call_scores_every_prefix_of_a_path():
    with FakeApiServer(script(pooling_reply([[0.03, 0.97], [0.41, 0.59]]))) as fake:
        scored = PoolingPrm(server(fake.url)).score(QUESTION, [STEPS[:1], STEPS])
    assert scored.scores == [0.97, 0.59]
    assert len(fake.received) == 1 and len(scored.calls) == 1


def test_separators_inside_model_text_are_removed_so_rewards_line_up():
    messages = pooling_messages("Q<extra_0>", ["a <extra_0>b", "c"])
    assert [m["content"] for m in messages][1:] == ["Q", "a b<extra_0>c<extra_0>"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (pooling_reply([]), "the PRM found no <extra_0> separator"),
        (pooling_reply([[0.1, 0.9]]), "the PRM returned 1 step rewards for 2 steps"),
        (
            pooling_reply([[0.1, 0.9], [2.5, -1.0]]),
            "a step reward is not a [P(wrong), P(right)] probability",
        ),
        (
            pooling_reply([[0.1, 0.9], ["x", 0.2]]),
            "a step reward is not a [P(wrong), P(right)] probability",
        ),
    ],
)
def test_a_reply_that_is_not_one_probability_pair_per_step_leaves_the_step_unscored(reply, reason):
    with FakeApiServer(script(reply)) as fake:
        scored = PoolingPrm(server(fake.url)).score(QUESTION, [STEPS])
    assert scored.scores == [None]
    assert scored.details[0].startswith(f"score unavailable: {reason}")
    assert [c.usage.input_tokens for c in scored.calls] == [212]  # answered, so billed


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            Reply(status=400, body={"error": {"message": "maximum context length is 4096"}}),
            "HTTP 400 from {url}/pooling: maximum context length is 4096",
        ),
        (Reply(status=503, body="upstream down"), "HTTP 503 from {url}/pooling: upstream down"),
        (Reply(body="<html>hello</html>"), "the reply from {url}/pooling is not a JSON object"),
        (Reply(body=[1, 2]), "the reply from {url}/pooling is not a JSON object"),
        (Reply(delay=0.5), "no reply from {url}/pooling within 0.2 s"),
    ],
)
def test_http_errors_timeouts_and_garbage_leave_the_step_unscored_with_the_reason(reply, reason):
    with FakeApiServer(script(reply)) as fake:
        scored = PoolingPrm(server(fake.url, timeout=0.2)).score(QUESTION, [STEPS])
    assert scored.scores == [None]
    assert scored.details[0].startswith("score unavailable: " + reason.format(url=fake.url))
    assert scored.calls == []  # nothing usable came back: nothing to ledger


def test_a_server_that_keeps_failing_is_no_longer_called():
    paths = [[f"step {i}"] for i in range(MAX_FAILURES + 2)]
    with FakeApiServer(script(Reply(status=500, body={"error": "boom"}))) as fake:
        scored = PoolingPrm(server(fake.url)).score(QUESTION, paths)
    assert len(fake.received) == MAX_FAILURES
    assert scored.scores == [None] * len(paths)
    assert "failed 3 times in a row and is no longer called (last: HTTP 500" in scored.details[-1]


def test_an_unreachable_server_is_a_reason_not_a_crash():
    scored = PoolingPrm(server("http://127.0.0.1:9")).score(QUESTION, [STEPS])
    assert scored.scores == [None]
    assert scored.details[0].startswith(
        "score unavailable: cannot reach http://127.0.0.1:9/pooling"
    )


def test_the_key_comes_from_the_environment_and_never_shows_in_a_reason(monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, "sk-prm-secret-123456")
    reply = Reply(status=401, body={"error": {"message": "bad key sk-prm-secret-123456"}})
    with FakeApiServer(script(reply)) as fake:
        prm = PrmServer.from_env(fake.url, "prm")
        scored = PoolingPrm(prm).score(QUESTION, [STEPS])
    assert fake.received[0].headers["authorization"] == "Bearer sk-prm-secret-123456"
    assert "sk-prm-secret" not in scored.details[0]
    assert "[redacted]" in scored.details[0]
    assert "sk-prm" not in repr(prm)


def test_cost_is_the_prompt_tokens_at_the_prm_price():
    price = Price(0.5, 1.0)
    with FakeApiServer(script(pooling_reply([[0.2, 0.8]], prompt_tokens=1000))) as fake:
        prm = PoolingPrm(server(fake.url, price=price))
        (call,) = prm.score(QUESTION, [STEPS[:1]]).calls
    assert prm.cost(call) == pytest.approx(0.0005)
    assert PoolingPrm(server(fake.url)).cost(call) is None  # no price given: unknown, never $0


@pytest.mark.parametrize("url", ["localhost:8000", "", "ftp://x"])
def test_a_server_url_that_is_not_http_is_refused_plainly(url):
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        PrmServer(url, "m")


def test_shepherd_prompt_tags_every_step():
    assert shepherd_prompt("Q?", ["a ки", " b"]) == "Q? a ки\nb ки"


def test_shepherd_reward_is_p_plus_over_p_plus_and_minus_from_legacy_logprobs():
    top = {"+": math.log(0.6), "-": math.log(0.3), "ки": math.log(0.05)}
    with FakeApiServer(script(completion_reply(legacy(top)))) as fake:
        scored = ShepherdPrm(server(fake.url)).score(QUESTION, [STEPS])
    (received,) = fake.received
    assert received.path == "/v1/completions"
    assert received.payload == {
        "model": "Qwen/Qwen2.5-Math-PRM-7B",
        "prompt": f"{QUESTION} {STEPS[0]} ки\n{STEPS[1]} ки",
        "max_tokens": 1,
        "temperature": 0.0,
        "logprobs": 5,
    }
    assert scored.scores == [pytest.approx(0.6 / 0.9)]
    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in scored.calls] == [(150, 1)]


def test_shepherd_reads_llama_cpp_content_logprobs_and_merges_spellings():
    entries = [("+", 0.3), ("▁+", 0.3), ("-", 0.2), ("Ġ-", 0.0)]
    top = [{"token": t, "logprob": math.log(p) if p else -1e9} for t, p in entries]
    logprobs = {"content": [{"token": "+", "logprob": math.log(0.3), "top_logprobs": top}]}
    with FakeApiServer(script(completion_reply(logprobs))) as fake:
        scored = ShepherdPrm(server(fake.url + "/v1/")).score(QUESTION, [STEPS])
    assert fake.received[0].path == "/v1/completions"
    assert scored.scores == [pytest.approx(0.6 / 0.8)]


@pytest.mark.parametrize(
    ("logprobs", "reason"),
    [
        (None, "the server returned no logprobs"),
        (legacy({"The": -0.1, "So": -2.0}), 'neither "+" nor "-" is among the top 5 tokens'),
        ({"top_logprobs": [{"+": "high"}]}, "the top logprobs are not token → logprob"),
    ],
)
def test_shepherd_without_usable_logprobs_leaves_the_step_unscored(logprobs, reason):
    with FakeApiServer(script(completion_reply(logprobs))) as fake:
        scored = ShepherdPrm(server(fake.url)).score(QUESTION, [STEPS])
    assert scored.scores == [None]
    assert scored.details[0].startswith(f"score unavailable: {reason}")
    assert [c.usage.input_tokens for c in scored.calls] == [150]
