"""DeepConf online: the warm-up's bar, traces cut while written (their tokens still counted),
a stop at consensus, and adaptive self-consistency where the provider gives no confidence."""

import pytest

from core.budget import Budget
from core.confidence import ConfidenceStop, TokenConfidence, lowest_full_group
from core.events import AnswerChosen, NodeAdded, NodePruned, NodeSelected, Status, UsageRecorded
from core.ledger import Ledger
from core.problems.base import Problem
from core.providers.base import GenerationRequest, Message
from core.providers.fake import FakeProvider
from core.verifiers.arithmetic import ArithmeticChecker
from strategies import STRATEGIES, describe
from strategies.deepconf import threshold, warmup_size

WORDS = 80  # every fake trace is 80 words, 80 tokens to the fake provider
DROP_AT = 40  # a dropping trace is sure (C = 5) for 40 tokens, then unsure (C = 0.5)


def trace(answer: int) -> str:
    return " ".join(["so"] * (WORDS - 4) + ["The", "answer", "is", f"\\boxed{{{answer}}}."])


def flat(value: float) -> TokenConfidence:
    return TokenConfidence((value,) * WORDS, k=20)


def dropping() -> TokenConfidence:
    return TokenConfidence((5.0,) * DROP_AT + (0.5,) * (WORDS - DROP_AT), k=20)


def run(script, confidence, budget):
    pens = Problem(id="t-pens", question="7 pens at $3 from $50?", answer="29")
    provider = FakeProvider(lambda r, i: trace(script(r, i)), confidence=confidence)
    events = list(STRATEGIES["deepconf_online"](pens, provider, ArithmeticChecker(), budget))
    return events, provider


def statuses(events):
    return [e.text for e in events if isinstance(e, Status)]


def test_warmup_size_and_the_bar_are_the_percentiles_by_hand():
    assert [warmup_size(n) for n in (1, 2, 4, 8, 16, 32, 64)] == [1, 2, 3, 3, 4, 8, 16]
    # Linear interpolation: the 10th percentile of 1..4 sits 0.3 of the way from 1 to 2.
    assert threshold([4.0, 1.0, 3.0, 2.0], "high") == pytest.approx(1.3)
    assert threshold([4.0, 1.0, 3.0, 2.0], "low") == pytest.approx(3.7)
    with pytest.raises(KeyError):
        threshold([1.0], "medium")
    assert describe("deepconf_online").startswith("DeepConf online: traces cut once unsure")


@pytest.mark.parametrize(("variant", "bar"), [("high", 1.3), ("low", 3.7)])
def test_the_warmup_sets_the_bar_from_its_traces_lowest_group_confidence(variant, bar):
    def confidence(request, index, text):
        if request.stop_below_confidence is None:  # warm-up trace i: C_i = i + 1 throughout
            return flat(index + 1.0)
        assert request.stop_below_confidence == ConfidenceStop(pytest.approx(bar), 32)
        return flat(10.0)

    events, provider = run(lambda r, i: [29, 30][i % 2], confidence, Budget(n=16, deepconf=variant))
    assert provider.requests[0].n == 4 and provider.requests[0].confidence_k == 20
    assert f"confidence bar {bar:.3f} (DeepConf-{variant}, from 4 warm-up traces)" in "".join(
        statuses(events)
    )
    assert all(r.stop_below_confidence is not None for r in provider.requests[1:])


def test_a_trace_whose_confidence_drops_is_cut_and_its_tokens_are_in_the_ledger():
    # Warm-up: 29, 30, 29, 30 at C = 1, 2, 3, 4 (30 leads with 6 of 10); bar (high) 1.3.
    # Online: sample 0 of each pair drops below the bar, sample 1 says 29, sure (C = 5).
    def confidence(request, index, text):
        if request.stop_below_confidence is None:
            return flat(index + 1.0)
        return dropping() if index == 0 else flat(5.0)

    events, _ = run(lambda r, i: [29, 30][i % 2] if r.n == 4 else 29, confidence, Budget(n=16))
    # The mean of the last 32 tokens at token t is (5 (72 - t) + 0.5 (t - 40)) / 32 for
    # t in 41..72: it first falls below 1.3 at t = 67.
    assert ConfidenceStop(1.3).cut_at(dropping().values) == 67
    cut = {e.node_id: e.reason for e in events if isinstance(e, NodePruned)}
    assert len(cut) == 6  # 12 online traces in pairs: the first of each pair is cut
    assert all(reason.startswith("cut after 67 tokens") for reason in cut.values())
    added = {e.node_id: e for e in events if isinstance(e, NodeAdded)}
    assert all(added[x].output_tokens == 67 and added[x].answer is None for x in cut)
    assert all(not added[x].text.endswith("\\boxed{29}.") for x in cut)
    usage = [e for e in events if isinstance(e, UsageRecorded) and e.node_id in cut]
    assert [e.output_tokens for e in usage] == [67] * 6
    assert Ledger.from_events(events).total.output_tokens == 10 * WORDS + 6 * 67
    # 29 holds 4 + 6 x 5 = 34 of 40: 85%, short of 95%, so all 16 traces were drawn.
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.correct) == ("29", True)
    # Saved: the 6 cut traces' unwritten 13 tokens each, nothing else (all 16 drawn).
    note = f"used all 16 traces without a 95% consensus, 6 cut early, saved about {6 * 13} tokens"
    assert statuses(events)[-1] == note
    assert (
        chosen.method
        == f"confidence-weighted vote (85% of the weight, 8 of 10 kept traces); {note}"
    )


def test_sampling_stops_at_a_consensus_of_the_weighted_vote():
    # Warm-up: 29, 30, 29, 29 at C = 1: 75% for 29. Online: 29, sure (C = 10): after one pair
    # 29 holds 23 of 24 (96% >= 95%), so sampling stops at 6 of 16.
    def confidence(request, index, text):
        return flat(1.0) if request.stop_below_confidence is None else flat(10.0)

    answers = lambda r, i: [29, 30, 29, 29][i] if r.n == 4 else 29  # noqa: E731
    events, provider = run(answers, confidence, Budget(n=16))
    assert [r.n for r in provider.requests] == [4, 2]
    assert sum(isinstance(e, NodeAdded) for e in events) == 6
    note = f"stopped at 6 of 16 traces, 0 cut early, saved about {10 * WORDS} tokens"
    assert statuses(events)[-1] == note
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert chosen.answer == "29"
    assert (
        chosen.method == f"confidence-weighted vote (96% of the weight, 5 of 6 kept traces); {note}"
    )
    online = [e.node_id for e in events if isinstance(e, NodeAdded)][4:]
    selected = [e.node_id for e in events if isinstance(e, NodeSelected)]
    assert selected == [chosen.node_id] and chosen.node_id in online  # a sure online trace


def test_a_unanimous_warmup_is_already_a_consensus():
    events, provider = run(lambda r, i: 29, lambda r, i, t: flat(2.0), Budget(n=32))
    assert [r.n for r in provider.requests] == [8]
    assert (
        statuses(events)[-1]
        == f"stopped at 8 of 32 traces, 0 cut early, saved about {24 * WORDS:,} tokens"
    )


def test_without_token_confidence_it_falls_back_to_adaptive_self_consistency():
    events, provider = run(lambda r, i: 29, None, Budget(n=16))
    said = statuses(events)
    assert said[1] == (
        "no token confidence (the fake provider returns no token logprobs): DeepConf cannot run "
        "here, so this is adaptive self-consistency, the warm-up's 4 traces counted among the 16"
    )
    # 4 of 4 agree: P(majority holds) = 0.969 >= 0.95, so no sample beyond the warm-up.
    assert [r.n for r in provider.requests] == [4]
    assert all(r.stop_below_confidence is None for r in provider.requests)
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert chosen.answer == "29"
    assert chosen.method.startswith("majority vote (4 of 4)")
    assert chosen.method.endswith("; adaptive self-consistency, not DeepConf")
    assert "stopped at 4 of 16 samples" in chosen.method


def test_a_trace_the_provider_did_not_cut_gets_no_vote():
    # A provider that measures but cannot stop (a server that would not stream): the online
    # trace that fell below the bar is written to the end, then left out of the vote.
    class NoCut(FakeProvider):
        def generate(self, request):
            plain = GenerationRequest(**{**request.__dict__, "stop_below_confidence": None})
            return FakeProvider.generate(self, plain)

    def confidence(request, index, text):
        if len(provider.requests) == 1:  # warm-up of 3: C = 1, 2, 3, so the bar is 1.2
            return flat(index + 1.0)
        return dropping() if index == 0 else flat(5.0)

    def script(request, index):  # warm-up 29, 30, 29 (67% for 29); then 29
        return trace([29, 30][index % 2] if len(provider.requests) == 1 else 29)

    provider = NoCut(script, confidence=confidence)
    problem = Problem(id="t", question="q", answer="29")
    events = list(
        STRATEGIES["deepconf_online"](problem, provider, ArithmeticChecker(), Budget(n=5))
    )
    pruned = [e.reason for e in events if isinstance(e, NodePruned)]
    assert lowest_full_group(dropping().values) == 0.5
    assert pruned == ["fell below the bar (0.500 < 1.200) but was written to the end: no vote"]
    assert Ledger.from_events(events).total.output_tokens == 5 * WORDS
    assert statuses(events)[-1].endswith("0 cut early, saved about 0 tokens")


def test_an_early_stop_needs_token_confidence():
    with pytest.raises(ValueError, match="confidence_k"):
        GenerationRequest((Message("user", "q"),), stop_below_confidence=ConfidenceStop(1.0))
    with pytest.raises(ValueError, match="window"):
        ConfidenceStop(1.0, window=0)


# -- an OpenAI-compatible server streaming top logprobs ----------------------------------------

SURE, UNSURE = [-0.1, -9.9], [-0.4, -0.6]  # C_i = 5.0 and 0.5 (k = 2)


def token_chunk(t: int, tops: list[float]) -> dict:
    logprobs = {
        "content": [
            {
                "token": f"w{t} ",
                "logprob": tops[0],
                "bytes": None,
                "top_logprobs": [
                    {"token": f"a{j}", "logprob": lp, "bytes": None} for j, lp in enumerate(tops)
                ],
            }
        ],
        "refusal": None,
    }
    choice = {"index": 0, "delta": {"content": f"w{t} "}, "logprobs": logprobs}
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "tiny",
        "choices": [choice],
    }


def dropping_stream() -> list[dict]:
    """40 tokens: 20 sure, then 20 unsure; then the finish and usage chunks."""
    items = [token_chunk(t, SURE if t < 20 else UNSURE) for t in range(40)]
    end = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny"}
    items.append({**end, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 9, "completion_tokens": 40, "total_tokens": 49}
    items.append({**end, "choices": [], "usage": usage})
    return items


def test_an_openai_compatible_stream_is_closed_once_the_confidence_falls():
    from collections import defaultdict

    from core.providers.base import Price
    from core.providers.openai_api import OpenAICompatibleProvider
    from tests.fake_api_server import FakeApiServer, Reply

    question = (Message("user", "What is 2 + 2?"),)
    # Window 8: the mean of the last 8 at token t (21..28) is (5 (28 - t) + 0.5 (t - 20)) / 8,
    # below 1.3 first at t = 27.
    rule = ConfidenceStop(1.3, window=8)
    request = GenerationRequest(
        question, n=2, max_tokens=64, confidence_k=20, stop_below_confidence=rule
    )
    with FakeApiServer(lambda payload, _: Reply(stream=dropping_stream())) as server:
        provider = OpenAICompatibleProvider(
            "tiny", server.url, price=Price(1.0, 2.0), max_retries=0
        )
        pieces = defaultdict(str)
        (streamed,) = provider.generate_many(
            [request], lambda r, i, text: pieces.__setitem__(i, pieces[i] + text)
        )
        plain = provider.generate(request)  # no one watching: still streamed, to be cut
    assert len(server.payloads) == 4  # one sample per call: a stream of 2 cannot be cut for 1
    assert all(
        p["stream"] is True and "n" not in p and p["top_logprobs"] == 20 for p in server.payloads
    )
    kept = "".join(f"w{t} " for t in range(27))
    for completion in [*streamed, *plain]:
        assert (completion.text, completion.finish_reason) == (kept, "low_confidence")
        # Usage of a cut stream: the 27 tokens received; the prompt counted from its text.
        assert completion.usage.output_tokens == 27
        assert completion.usage.input_tokens == len(b"What is 2 + 2?")
        assert completion.confidence == TokenConfidence((5.0,) * 20 + (0.5,) * 7, k=2)
    assert dict(pieces) == {0: kept, 1: kept}
    assert "stream" not in provider.dropped  # a cut stream is no sign the server sends no usage


def test_without_a_rule_the_same_stream_is_read_to_the_end():
    from core.providers.openai_api import OpenAICompatibleProvider
    from tests.fake_api_server import FakeApiServer, Reply

    request = GenerationRequest((Message("user", "q"),), max_tokens=64, confidence_k=20)
    with FakeApiServer(lambda payload, _: Reply(stream=dropping_stream())) as server:
        provider = OpenAICompatibleProvider("tiny", server.url, max_retries=0)
        (completion,) = provider.generate_many([request], lambda r, i, text: None)[0]
    assert completion.finish_reason == "stop" and completion.usage.output_tokens == 40


def test_the_variant_is_a_budget_field_the_cli_sets():
    from deliberate.cli import build_parser, make_budget

    args = build_parser().parse_args(["run", "--strategy", "deepconf_online", "--deepconf", "low"])
    assert make_budget(args, 8).deepconf == "low"
    assert Budget().deepconf == "high"
    with pytest.raises(ValueError, match="deepconf must be one of"):
        Budget(deepconf="medium")


def test_deepconf_online_end_to_end_against_a_streaming_server():
    from core.providers.openai_api import OpenAICompatibleProvider
    from tests.fake_api_server import FakeApiServer, Reply

    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny"}

    def warmup_stream() -> list[dict]:
        # Choice c answers [29, 30, 29][c], every token at C = c + 1 (top 2: -0.5 and -(2C - 0.5)).
        items = []
        for t, word in enumerate(["The ", "answer ", "is ", "\\boxed{X}."]):
            for c, answer in enumerate([29, 30, 29]):
                tops = [-0.5, -(2 * (c + 1) - 0.5)]
                chunk = token_chunk(t, tops)
                chunk["choices"][0]["index"] = c
                text = word.replace("X", str(answer))
                chunk["choices"][0]["delta"]["content"] = text
                chunk["choices"][0]["logprobs"]["content"][0]["token"] = text
                items.append(chunk)
        items.append(
            {
                **head,
                "choices": [{"index": c, "delta": {}, "finish_reason": "stop"} for c in range(3)],
            }
        )
        usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}
        return [*items, {**head, "choices": [], "usage": usage}]

    def long_drop() -> list[dict]:
        return [token_chunk(t, SURE if t < 20 else UNSURE) for t in range(60)]

    def respond(payload, number):
        return Reply(stream=warmup_stream() if payload.get("n") == 3 else long_drop())

    with FakeApiServer(respond) as server:
        provider = OpenAICompatibleProvider("tiny", server.url, max_retries=0)
        events = list(
            STRATEGIES["deepconf_online"](
                Problem(id="t", question="q", answer="29"),
                provider,
                ArithmeticChecker(),
                Budget(n=5),
            )
        )
    assert [p.get("n") for p in server.payloads] == [3, None, None]
    # Bar: the 10th percentile of 1, 2, 3 is 1.2. The mean of the last 32 tokens at token t
    # (33..52) is (5 (52 - t) + 0.5 (t - 20)) / 32: below 1.2 first at t = 48.
    said = statuses(events)
    assert "confidence bar 1.200 (DeepConf-high, from 3 warm-up traces)" in said[1]
    cut = {e.node_id: e.reason for e in events if isinstance(e, NodePruned)}
    assert (
        list(cut.values()) == ["cut after 48 tokens: its confidence fell below the bar 1.200"] * 2
    )
    usage = [e.output_tokens for e in events if isinstance(e, UsageRecorded) and e.node_id in cut]
    assert usage == [48, 48]
    assert said[-1].startswith("used all 5 traces without a 95% consensus, 2 cut early")
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert chosen.answer == "29" and "(67% of the weight, 2 of 3 kept traces)" in chosen.method
