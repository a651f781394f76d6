"""Anthropic streams its text and thinking; usage and stops equal the plain call's."""

from collections import defaultdict

import pytest

from components.live_text import build_live_text
from core.budget import Budget
from core.events import NodeAdded, NodeText
from core.providers.base import Finished, GenerationRequest, ProviderError, Thinking, Usage
from core.tree import ReasoningTree
from strategies.native_thinking import native_thinking
from strategies.runner import run_strategy
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_anthropic_provider import QUESTION, claude, message

START_USAGE = {"input_tokens": 20, "cache_read_input_tokens": 30, "output_tokens": 1}
END_USAGE = {"output_tokens": 40, "output_tokens_details": {"thinking_tokens": 25}}
DELTAS = ["Step 1: ", "2 + 2 = 4.", "\n", "\nStep 2: more"]


def events():
    """The Messages API's server-sent events for one reply with thinking, then text."""
    start = message(usage=START_USAGE, stop_reason=None)
    start["content"] = []
    items = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "2 and 2 make 4."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    ]  # fmt: skip
    items += [
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": d}}
        for d in DELTAS
    ]
    items += [
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": END_USAGE},
        {"type": "message_stop"},
    ]
    return items


def respond(payload, number):
    if payload.get("stream"):
        return Reply(stream=events(), chunk_delay=0.01)
    usage = {**START_USAGE, **END_USAGE}
    thinking = {"type": "thinking", "thinking": "2 and 2 make 4.", "signature": "s"}
    return Reply(body=message(thinking, "".join(DELTAS), usage=usage))


def test_text_and_thinking_stream_and_match_the_plain_call():
    request = GenerationRequest(QUESTION, max_tokens=200, stop=("\n\n",))
    pieces = defaultdict(list)
    with FakeApiServer(respond) as server:
        (streamed,) = claude(server).generate_many(
            [request], lambda r, i, text: pieces[(r, i)].append(text)
        )
        (plain,) = claude(server).generate_many([request])
    assert server.payloads[0]["stream"] is True
    assert isinstance(pieces[(0, 0)][-1], Finished)
    text = [p for p in pieces[(0, 0)][:-1] if not isinstance(p, Thinking)]
    thought = [p for p in pieces[(0, 0)] if isinstance(p, Thinking)]
    # Text past the stop sequence, which is applied here, is never shown.
    assert "".join(text) == "Step 1: 2 + 2 = 4." == streamed[0].text == plain[0].text
    assert len(text) >= 2
    assert "".join(thought) == streamed[0].thinking == plain[0].thinking == "2 and 2 make 4."
    assert pieces[(0, 0)].index(thought[0]) == 0  # the thinking streams before the answer
    assert streamed[0].usage == plain[0].usage == Usage(50, 40, 30, 25)


def test_an_error_event_mid_stream_is_a_clear_provider_error():
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    request = GenerationRequest(QUESTION, max_tokens=200)
    with (
        FakeApiServer(lambda p, n: Reply(stream=[*events()[:6], overloaded])) as server,
        pytest.raises(ProviderError, match="Anthropic"),
    ):
        claude(server).generate_many([request], lambda r, i, text: None)


def test_a_stream_cut_short_is_not_taken_for_a_whole_reply():
    request = GenerationRequest(QUESTION, max_tokens=200)
    with (
        FakeApiServer(lambda p, n: Reply(stream=events()[:7])) as server,
        pytest.raises(ProviderError, match="ended before the reply was complete"),
    ):
        claude(server).generate_many([request], lambda r, i, text: None)


def test_native_thinking_shows_its_thinking_growing_on_its_node(pens, arithmetic):
    budget = Budget(n=4, max_depth=4, step_tokens=64)
    with FakeApiServer(respond) as server:
        events = list(
            run_strategy(
                "native_thinking", native_thinking, pens, claude(server), arithmetic, budget
            )
        )
    texts = [e for e in events if isinstance(e, NodeText)]
    thought = [e for e in texts if e.thinking]
    assert texts[0] in thought  # the thinking shows before any of the answer
    assert "".join(e.text for e in thought) == "2 and 2 make 4."
    (node,) = [e for e in events if isinstance(e, NodeAdded)]
    assert {e.node_id for e in texts} == {node.node_id}
    assert "".join(e.text for e in texts if not e.thinking) == node.text
    # Mid-run, the panel shows the thinking of the node being written.
    tree = ReasoningTree()
    for event in events[: events.index(thought[-1]) + 1]:
        tree.apply(event)
    (entry,) = build_live_text(tree)[0]
    assert entry.thinking and entry.text == "2 and 2 make 4."
    tree = ReasoningTree.from_events(events)
    assert tree.graph.nodes[node.node_id]["thinking"] == node.thinking == "2 and 2 make 4."
