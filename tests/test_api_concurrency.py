"""A tree level's requests and a judge's paths go out concurrently over APIs: results in request
order whatever order they finish in, the run's events and ledger those of one request at a time,
streamed text handed over safely from several threads, failures as clear as sequential ones."""

import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import replace

import pytest

from core.budget import Budget
from core.events import (
    NodeAdded,
    NodeStarted,
    NodeText,
    RunFinished,
    RunStarted,
    Status,
    UsageRecorded,
)
from core.problems.base import Problem
from core.providers.anthropic_api import AnthropicProvider
from core.providers.base import GenerationRequest, Message, Price, ProviderError
from core.providers.openai_api import OpenAICompatibleProvider
from core.verifiers.model_judge import ModelJudge
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_anthropic_provider import message
from tests.test_openai_provider import chat, error

PENS = Problem(
    id="pens",
    question="Pens cost $3 each. Tom buys 7 and pays with $50. What is his change?",
    answer="29",
)


def digest(*parts: object) -> int:
    return int(hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12], 16)


def step_text(payload: dict, choice: int) -> str:
    """A step that depends only on what was asked: the path so far, the seed and the choice."""
    h = digest(payload["messages"], payload.get("seed"), choice)
    a, b = 2 + h % 8, 2 + h // 8 % 8
    prefix = " ".join(m["content"] for m in payload["messages"] if m["role"] == "assistant")
    depth = prefix.count("Step ")
    text = f"Step {depth + 1}: {a} × {b} = {a * b}."
    return text + (" The change is \\boxed{29}." if depth >= 1 else "")


def usage(payload: dict, text: str) -> dict:
    prompt = len(json.dumps(payload["messages"])) // 4
    output = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}


def verdict(payload: dict) -> dict:
    """A one-token judge reply whose P(yes) depends only on the step judged."""
    h = digest(payload["messages"])
    reply = chat(content="Yes", finish="length", usage=usage(payload, "Yes"))
    top = [
        {"token": "Yes", "logprob": -(h % 7) / 3, "bytes": None},
        {"token": "No", "logprob": -(h // 7 % 7) / 3, "bytes": None},
    ]
    reply["choices"][0]["logprobs"] = {
        "content": [{"token": "Yes", "logprob": top[0]["logprob"], "top_logprobs": top}]
    }
    return reply


def streamed(payload: dict, texts: list[str]) -> list[dict]:
    """The chat completion chunks of `texts` (one per choice), word by word, then usage."""

    def chunk(choices: list, used: dict | None = None) -> dict:
        head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny"}
        return {**head, "choices": choices, "usage": used}

    items = []
    for i, text in enumerate(texts):
        for k, word in enumerate(text.split(" ")):
            items.append(chunk([{"index": i, "delta": {"content": " " * (k > 0) + word}}]))
        items.append(chunk([{"index": i, "delta": {}, "finish_reason": "stop"}]))
    totals = [usage(payload, t) for t in texts]
    items.append(chunk([], {k: sum(u[k] for u in totals) for k in totals[0]}))
    return items


def level_server(delay=lambda payload: 0.0) -> FakeApiServer:
    """Chat completions for tree search: steps (streamed when asked) and judge verdicts, each
    reply a function of its request alone, after `delay(payload)` seconds."""

    def respond(payload: dict, number: int) -> Reply:
        if payload.get("logprobs"):
            return Reply(body=verdict(payload), delay=delay(payload))
        texts = [step_text(payload, i) for i in range(payload.get("n") or 1)]
        if payload.get("stream"):
            return Reply(stream=streamed(payload, texts), chunk_delay=0.005, delay=delay(payload))
        reply = chat(len(texts), content="", usage=usage(payload, " ".join(texts)))
        for choice, text in zip(reply["choices"], texts, strict=True):
            choice["message"]["content"] = text
        return Reply(body=reply, delay=delay(payload))

    return FakeApiServer(respond)


def random_delay(payload: dict) -> float:
    return digest(payload["messages"], payload.get("seed")) % 100 / 500  # 0 to 0.2 s


def provider(server: FakeApiServer, concurrency: int = 16) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        "tiny", server.url, price=Price(1.0, 2.0), max_retries=0, concurrency=concurrency
    )


def numbered(count: int, n: int = 1) -> list[GenerationRequest]:
    return [
        GenerationRequest((Message("user", f"question {r}"),), n=n, max_tokens=16)
        for r in range(count)
    ]


def echo(delays: list[float], failing: dict[int, Reply] | None = None) -> FakeApiServer:
    """Answers "answer r" to "question r" after delays[r] seconds; `failing[r]` instead."""

    def respond(payload: dict, number: int) -> Reply:
        r = int(payload["messages"][-1]["content"].split()[-1])
        if failing and r in failing:
            return replace(failing[r], delay=delays[r])
        return Reply(body=chat(content=f"answer {r}"), delay=delays[r])

    return FakeApiServer(respond)


@pytest.mark.parametrize("delays", [[0.5, 0.4, 0.3, 0.2, 0.1], [0.27, 0.12, 0.41, 0.18, 0.35]])
def test_a_level_comes_back_in_request_order_whatever_order_it_finishes_in(delays):
    with echo(delays) as server:
        answers = provider(server).generate_many(numbered(5))
    assert [[c.text for c in completions] for completions in answers] == [
        ["answer 0"],
        ["answer 1"],
        ["answer 2"],
        ["answer 3"],
        ["answer 4"],
    ]
    assert server.most_in_flight == 5  # all at once, so they finished in the delays' order


def test_at_most_concurrency_calls_are_in_flight_samples_included():
    """Anthropic has no native n: 3 requests of n=4 are 12 calls, never more than 5 at once."""
    with FakeApiServer(lambda payload, number: Reply(body=message("Yes"), delay=0.1)) as server:
        claude = AnthropicProvider(
            "claude-haiku-4-5", api_key="sk-ant-test-0000", base_url=server.url, concurrency=5
        )
        answers = claude.generate_many(numbered(3, n=4))
    assert [len(completions) for completions in answers] == [4, 4, 4]
    assert len(server.received) == 12
    assert server.most_in_flight == 5


def test_streamed_pieces_come_from_several_threads_and_join_into_each_text():
    pieces: dict[tuple[int, int], list[str]] = defaultdict(list)
    threads = set()

    def on_text(r: int, i: int, text: str) -> None:
        threads.add(threading.get_ident())
        pieces[(r, i)].append(text)

    requests = [replace(r, messages=(*r.messages, Message("assistant", "x"))) for r in numbered(4)]
    with level_server(delay=lambda payload: 0.05) as server:
        answers = provider(server).generate_many(requests, on_text)
    assert all(payload["stream"] for payload in server.payloads)
    assert len(threads) == 4
    for r, completions in enumerate(answers):
        assert "".join(pieces[(r, 0)]) == completions[0].text
        assert completions[0].text.startswith("Step 1: ")


def run(server: FakeApiServer, concurrency: int, should_stop=None) -> list:
    api = provider(server, concurrency)
    budget = Budget(n=4, width=2, max_depth=3, step_tokens=32, seed=3)
    strategy = STRATEGIES["beam_search"]
    return list(strategy(PENS, api, ModelJudge(api), budget, should_stop=should_stop))


def comparable(events: list) -> list:
    """The events with what depends on timing left out: streamed pieces, seconds, run ids."""
    kept = []
    for event in events:
        if isinstance(event, NodeText | RunStarted | RunFinished | Status):
            continue
        kept.append(replace(event, seconds=0.0) if isinstance(event, UsageRecorded) else event)
    return kept


def test_one_call_at_a_time_is_never_counted_twice_in_flight():
    """The SDK is done at [DONE] and sends the next request at once: the fake server must have
    counted the last one out by then (a trailing chunk pause once made sequential runs look
    concurrent, the flake of the next test)."""

    def respond(payload: dict, number: int) -> Reply:
        return Reply(stream=streamed(payload, [f"Step 1: {number}."]), chunk_delay=0.05)

    requests = [replace(r, messages=(*r.messages, Message("assistant", "x"))) for r in numbered(3)]
    with FakeApiServer(respond) as server:
        provider(server, concurrency=1).generate_many(requests, lambda r, i, text: None)
    assert (len(server.payloads), server.most_in_flight) == (3, 1)


def test_a_concurrent_run_has_the_events_and_ledger_of_a_sequential_one():
    with level_server(random_delay) as server:
        sequential = run(server, concurrency=1)
        sequential_most = server.most_in_flight
        concurrent = run(server, concurrency=16)
    assert sequential_most == 1 and server.most_in_flight > 1
    assert sequential[-1].reason == concurrent[-1].reason == "complete"
    assert comparable(concurrent) == comparable(sequential)
    ledger = [e for e in concurrent if isinstance(e, UsageRecorded)]
    assert {e.role for e in ledger} == {"generate", "verify"}
    assert sum(e.cost_usd for e in ledger) == sum(
        e.cost_usd for e in sequential if isinstance(e, UsageRecorded)
    )


def test_text_streams_only_while_a_node_is_written_and_joins_into_its_text():
    with level_server(random_delay) as server:
        events = run(server, concurrency=16)
    writing, shown, added = set(), defaultdict(str), {}
    for event in events:
        if isinstance(event, NodeStarted):
            writing.add(event.node_id)
        elif isinstance(event, NodeText):
            assert event.node_id in writing
            shown[event.node_id] += event.text
        elif isinstance(event, NodeAdded):
            writing.discard(event.node_id)
            added[event.node_id] = event.text
    assert len(shown) == len(added) > 4  # every node streamed, over more than one level
    assert all(shown[node_id] == text for node_id, text in added.items())


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (error(429, "Rate limit reached", headers={"retry-after": "7"}), "rate-limiting"),
        (error(500, "The server had an error"), "failed with error 500"),
        (Reply(body=chat(content="late")), "did not answer within"),
    ],
)
def test_one_failing_request_fails_the_level_and_keeps_what_came_back(failure, said):
    delays = [0.3, 0.0, 0.3, 0.3]
    if failure.status == 200:  # the timeout: the reply comes after the client gave up
        delays[1] = 3.0
    with echo(delays, {1: failure}) as server:
        api = OpenAICompatibleProvider("tiny", server.url, max_retries=0, timeout=0.5)
        with pytest.raises(ProviderError, match=said) as raised:
            api.generate_many([replace(r, max_tokens=1) for r in numbered(4)])
    # The three that were under way finished and were billed: they stay on record.
    assert sorted(c.text for c in raised.value.partial) == ["answer 0", "answer 2", "answer 3"]


def test_the_first_failure_in_request_order_is_the_one_reported():
    failing = {1: error(500, "first"), 3: error(503, "second")}
    with (
        echo([0.0, 0.3, 0.0, 0.0], failing) as server,
        pytest.raises(ProviderError, match="error 500") as raised,
    ):
        provider(server).generate_many(numbered(4))
    assert sorted(c.text for c in raised.value.partial) == ["answer 0", "answer 2"]


def test_a_run_whose_judge_fails_ends_with_the_message_and_its_calls_on_record():
    steps, judged, lock = level_server(), [], threading.Lock()
    all_sent = threading.Event()

    def respond(payload: dict, number: int) -> Reply:
        if not payload.get("logprobs"):
            return steps.respond(payload, number)
        with lock:
            judged.append(payload)
            first = len(judged) == 1
            if len(judged) == 4:
                all_sent.set()
        if first:  # fails once all four are out (a sequential judge never sends the rest)
            all_sent.wait(5)
            return error(500, "judge down")
        return replace(steps.respond(payload, number), delay=0.2)

    with FakeApiServer(respond) as server:
        events = run(server, concurrency=16)
    finished = events[-1]
    assert finished.reason == "error"
    assert "the verifier failed" in finished.message and "error 500" in finished.message
    assert len(judged) == 4  # the root's four candidates, judged at once
    verdicts = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert len(verdicts) == 3  # the three that answered are billed, as the judge's calls
    assert [e.output_tokens for e in verdicts] == [1, 1, 1]


def test_a_stop_before_scoring_sends_no_judge_call():
    stop = threading.Event()

    def stop_after_first_node(events):
        for event in events:
            if isinstance(event, NodeAdded):
                stop.set()
            yield event

    with level_server() as server:
        api = provider(server)
        budget = Budget(n=4, width=2, max_depth=3, step_tokens=32, seed=3)
        body = STRATEGIES["beam_search"](
            PENS, api, ModelJudge(api), budget, should_stop=stop.is_set
        )
        events = list(stop_after_first_node(body))
    assert events[-1].reason == "stopped"
    assert not any(p.get("logprobs") for p in server.payloads)
    assert len(server.payloads) == 1  # the root's one request of n=4


def test_judge_paths_go_out_together_and_come_back_in_path_order():
    paths = [[f"{k} + {k} = {2 * k}."] for k in range(6)]

    def last_first(payload: dict) -> float:
        return 0.05 * (6 - int(payload["messages"][-1]["content"].split("Last step:\n")[1][0]))

    with level_server(last_first) as server:
        concurrent = ModelJudge(provider(server)).score("q", paths)
        together = server.most_in_flight
        sequential = ModelJudge(provider(server, concurrency=1)).score("q", paths)
    assert together == 6
    assert concurrent.scores == sequential.scores
    assert [c.usage for c in concurrent.calls] == [c.usage for c in sequential.calls]


def test_a_reasoning_judge_retries_only_its_thinking_paths_and_bills_in_path_order():
    def respond(payload: dict, number: int) -> Reply:
        path = int(payload["messages"][-1]["content"].split("Last step:\n")[1][0])
        limit = payload.get("max_tokens") or payload["max_completion_tokens"]
        if path % 2 == 0 and limit == 1:  # even paths think through their one token
            thinking = {"prompt_tokens": 80, "completion_tokens": 1, "total_tokens": 81}
            thinking["completion_tokens_details"] = {"reasoning_tokens": 1}
            return Reply(body=chat(content="", finish="length", usage=thinking), delay=0.1 * path)
        return Reply(body=chat(content="No" if path == 2 else "Yes"), delay=0.1 * (4 - path))

    with FakeApiServer(respond) as server:
        api = OpenAICompatibleProvider("tiny", server.url, max_retries=0, reasoning=True)
        scored = ModelJudge(api).score("q", [[f"{k} apples"] for k in range(4)])
    assert scored.scores == [1.0, 1.0, 0.0, 1.0]
    assert [(c.text, c.finish_reason) for c in scored.calls] == [
        ("", "length"),
        ("Yes", "stop"),
        ("Yes", "stop"),
        ("", "length"),
        ("No", "stop"),
        ("Yes", "stop"),
    ]
    assert len(server.payloads) == 6
