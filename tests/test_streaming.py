"""Text streams as events: nodes are born when their call starts and grow as the model writes."""

import time
from collections import defaultdict

import pytest

from core.budget import Budget
from core.events import (
    NodeAdded,
    NodeStarted,
    NodeText,
    RunFinished,
    UsageRecorded,
    from_json_lines,
    to_json_line,
)
from core.providers.base import Finished, GenerationRequest, Message, ProviderError, Thinking
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from strategies import STRATEGIES
from strategies.streaming import ShownText

BUDGET = Budget(n=4, width=2, max_depth=3, step_tokens=40, seed=3)


def check_streaming(events, ends: bool = True) -> dict[str, str]:
    """The stream's ordering invariants; returns each node's streamed text. `ends`: the provider
    says when each sample ends, so every streamed node is marked written before it completes."""
    started, written, finished = set(), set(), set()
    pieces: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if isinstance(event, NodeStarted):
            assert event.node_id not in started, "a node started twice"
            started.add(event.node_id)
        elif isinstance(event, NodeText):
            assert event.node_id in started, "text for a node that was never started"
            assert event.node_id not in finished, "text for a node already complete"
            assert event.text or event.done
            if event.done:
                written.add(event.node_id)
            pieces[event.node_id].append(event.text)
        elif isinstance(event, NodeAdded):
            if event.node_id in started:
                assert "".join(pieces[event.node_id]) == event.text
                assert not ends or event.node_id in written, "completed, never marked written"
            finished.add(event.node_id)
    return {node: "".join(p) for node, p in pieces.items()}


@pytest.mark.parametrize("strategy", ["best_of_n", "beam_search", "dvts", "mcts", "self_refine"])
def test_every_node_streams_and_its_pieces_are_its_text(strategy, pens, fake, arithmetic):
    events = list(STRATEGIES[strategy](pens, fake, arithmetic, BUDGET))
    streamed = check_streaming(events)
    added = [e for e in events if isinstance(e, NodeAdded)]
    assert added and all(e.node_id in streamed for e in added if e.text)
    tree = ReasoningTree.from_events(events)
    assert not tree.writing()
    # Replays read the new events like any other.
    lines = [to_json_line(e) for e in events]
    assert ReasoningTree.from_events(from_json_lines(lines)).signature() == tree.signature()


def test_a_node_is_announced_before_its_text_and_its_text_before_it_completes(pens, fake):
    from core.verifiers.arithmetic import ArithmeticChecker

    events = list(STRATEGIES["chain_of_thought"](pens, fake, ArithmeticChecker(), BUDGET))
    kinds = [e.kind for e in events if e.kind.startswith("node_")]
    assert kinds[0] == "node_started"
    assert kinds.index("node_text") < kinds.index("node_added")


def test_streaming_changes_no_usage(pens, arithmetic):
    """The same run with and without streaming bills the same tokens."""

    class Silent(FakeProvider):
        streams = False

    streamed = list(STRATEGIES["beam_search"](pens, FakeProvider(), arithmetic, BUDGET))
    plain = list(STRATEGIES["beam_search"](pens, Silent(), arithmetic, BUDGET))

    def usage(events):
        return [(u.input_tokens, u.output_tokens) for u in events if isinstance(u, UsageRecorded)]

    assert usage(streamed) == usage(plain)
    assert not any(isinstance(e, NodeText) for e in plain)


class FailsMidway(FakeProvider):
    """Writes a few words of every sample, then the connection drops."""

    def generate_many(self, requests, on_text=None):
        for r, request in enumerate(requests):
            for i in range(request.n):
                on_text(r, i, "Step 1: 48 / 2 ")
                on_text(r, i, "= 24 clips")
        raise ProviderError("the server closed the connection")


def test_a_failed_call_keeps_the_text_written_so_far(pens, arithmetic):
    events = list(STRATEGIES["best_of_n"](pens, FailsMidway(), arithmetic, BUDGET))
    assert events[-1].reason == "error"
    tree = ReasoningTree.from_events(events)
    cut = [d for n, d in tree.graph.nodes(data=True) if d.get("interrupted")]
    assert len(cut) == BUDGET.n
    assert all(d["text"] == "Step 1: 48 / 2 = 24 clips" for d in cut)


def test_shown_text_is_the_stripped_prefix_of_the_final_text():
    shown = ShownText()
    shown.add("n1", "\n  Step 1")
    shown.add("n1", ": 2 + 2 ")
    assert [e.text for e in shown.pending()] == ["Step 1: 2 + 2"]
    shown.add("n1", "\n")
    assert list(shown.pending()) == []  # trailing whitespace waits: NodeAdded's text is stripped
    shown.add("n1", "= 4.")
    assert [e.text for e in shown.pending()] == [" \n= 4."]
    assert shown.rest("n1", "Step 1: 2 + 2 \n= 4. Done") == NodeText("n1", " Done")


def test_fold_rejects_text_for_a_node_not_being_written():
    tree = ReasoningTree()
    with pytest.raises(ValueError):
        tree.apply(NodeText("n9", "hello"))
    tree.apply(NodeStarted("n1", "root", "step"))
    tree.apply(NodeAdded("n1", "root", "done", "step"))
    with pytest.raises(ValueError):
        tree.apply(NodeText("n1", "more"))
    tree.apply(RunFinished("complete"))
    assert tree.graph.nodes["n1"]["text"] == "done"


@pytest.mark.model
def test_the_local_engine_streams_what_it_returns(local):
    """Batched decoding hands out each sample's text as it decodes; joined, the pieces are the
    sample (stop sequences held back), and the tokens counted are the same as without."""
    request = GenerationRequest(
        (Message("user", "Count from 1 to 20, one number per line."),),
        n=2,
        max_tokens=40,
        temperature=0.0,
        stop=("\n\n",),
        seed=1,
    )
    pieces: dict[tuple[int, int], list[str]] = defaultdict(list)
    local.forget()
    (streamed,) = local.generate_many([request], lambda r, i, t: pieces[(r, i)].append(t))
    local.forget()
    (plain,) = local.generate_many([request])
    for i, completion in enumerate(streamed):
        assert "".join(pieces[(0, i)]) == completion.text
        assert len(pieces[(0, i)]) > 3  # many pieces, not one at the end
        assert [isinstance(p, Finished) for p in pieces[(0, i)]].count(True) == 1
        assert isinstance(pieces[(0, i)][-1], Finished)
    assert [c.usage.output_tokens for c in streamed] == [c.usage.output_tokens for c in plain]
    assert [c.text for c in streamed] == [c.text for c in plain]


def test_streamed_text_carries_the_time_it_was_written(pens, fake, arithmetic):
    events = list(STRATEGIES["beam_search"](pens, fake, arithmetic, BUDGET))
    stamps = [e.at for e in events if isinstance(e, NodeText)]
    assert stamps and all(at is not None and at >= 0 for at in stamps)
    assert stamps == sorted(stamps)  # one clock, the run's


def test_a_replay_at_the_written_pace_follows_the_stamps():
    from components.replay_pace import advance_recorded

    events = [
        NodeStarted("n1", "root"),
        NodeText("n1", "a", at=0.5),
        NodeText("n1", "b", at=1.0),
        NodeAdded("n1", "root", "ab"),
        NodeStarted("n2", "n1"),
        NodeText("n2", "c", at=3.0),
    ]
    # From the start, 0.6 s of recorded time: up to (not including) the text written at 1.0 s.
    assert advance_recorded(events, 0, 0.6) == (2, 0.6)
    # 0.5 s more takes "b" and the events after it, up to the text written at 3.0 s.
    assert advance_recorded(events, 2, 0.5, clock=0.6) == (5, 1.1)
    # The long wait is kept: the clock runs on while no event is due.
    assert advance_recorded(events, 5, 1.0, clock=1.1) == (5, 2.1)
    assert advance_recorded(events, 5, 1.0, clock=2.1) == (6, 3.1)
    # Recordings made before text was timed have no pace to keep.
    untimed = [NodeStarted("n1", "root"), NodeText("n1", "a"), NodeAdded("n1", "root", "a")]
    assert advance_recorded(untimed, 0, 1.0) is None


def test_lead_ins_are_written_on_together_and_stream_into_their_own_nodes(pens, arithmetic):
    def script(request: GenerationRequest, index: int) -> str:
        if request.assistant_prefix.endswith("steps:\n\n"):
            return f"Step 1: 7 × 3 = 21, from sample {request.seed}."
        if index % 2 == 0:
            return "To find the change, we follow these steps:"
        return "Step 1: 7 × 3 = 21."

    calls: list[list[GenerationRequest]] = []

    class Recording(FakeProvider):
        def generate_many(self, requests, on_text=None):
            calls.append(list(requests))
            assert on_text is not None, "a call that writes a node streams"
            return super().generate_many(requests, on_text)

    fake = Recording(script)
    events = list(STRATEGIES["beam_search"](pens, fake, arithmetic, Budget(n=4, max_depth=1)))
    streamed = check_streaming(events)
    # The two lead-ins of the level went on in one call of two requests, after the level's.
    assert len(calls) == 2 and [r.n for r in calls[1]] == [1, 1]
    assert all(r.assistant_prefix.endswith("steps:\n\n") for r in calls[1])
    added = {e.node_id: e.text for e in events if isinstance(e, NodeAdded)}
    leads = [n for n, text in added.items() if text.startswith("To find the change")]
    assert len(leads) == 2
    for node in leads:
        lead, body = added[node].split("\n\n")
        assert lead.endswith("steps:") and body.startswith("Step 1: 7 × 3 = 21, from sample")
        assert streamed[node] == added[node]
        pieces = [e for e in events if isinstance(e, NodeText) and e.node_id == node]
        assert any(p.text.startswith("\n\nStep") for p in pieces)  # the body's first piece
    spent = [e for e in events if isinstance(e, UsageRecorded) and e.node_id in leads]
    assert len(spent) == 4  # the lead-in's call and its body's, both charged to the node


def test_a_nodes_first_words_go_out_at_once(monkeypatch):
    """Later text waits for STREAM_INTERVAL; the first words, what a viewer waits for, do not."""
    import threading

    import strategies.streaming as streaming

    monkeypatch.setattr(streaming, "STREAM_INTERVAL", 30.0)
    released, waited_out = threading.Event(), []

    class FirstWordsThenWaits(FakeProvider):
        def generate_many(self, requests, on_text=None):
            on_text(0, 0, "Step 1: ")
            waited_out.append(not released.wait(10))
            return super().generate_many(requests)

    request = GenerationRequest((Message("user", "2 + 2?"),), n=1)
    call = streaming.streamed_call(
        FirstWordsThenWaits(), [request], [["n1"]], ShownText(), lambda e: e
    )
    assert next(call) == NodeText("n1", "Step 1:")
    released.set()
    rest = list(call)  # runs to the end: the call's remaining text, if any
    assert waited_out == [False] and all(isinstance(e, NodeText) for e in rest)


def test_held_text_goes_out_when_the_interval_is_up_and_late_text_at_once(monkeypatch):
    """Text written sooner than STREAM_INTERVAL after the last event waits until the interval is
    up; text written after a silence longer than it goes out at once (a silent stretch does not
    restart the interval)."""
    import threading

    import strategies.streaming as streaming

    monkeypatch.setattr(streaming, "STREAM_INTERVAL", 1.0)
    written = {}
    seen_a = threading.Event()

    class HeldThenLate(FakeProvider):
        def generate_many(self, requests, on_text=None):
            on_text(0, 0, "Step 1: ")
            on_text(0, 0, "a ")
            written["a"] = time.monotonic()
            assert seen_a.wait(10)
            time.sleep(1.4)
            written["b"] = time.monotonic()
            on_text(0, 0, "b ")
            time.sleep(1.2)
            return super().generate_many(requests)

    request = GenerationRequest((Message("user", "2 + 2?"),), n=1)
    call = streaming.streamed_call(HeldThenLate(), [request], [["n1"]], ShownText(), lambda e: e)
    out = {}
    for event in call:
        for word in ("a", "b"):
            if event.text.strip() == word:
                out[word] = time.monotonic()
                seen_a.set()
    assert 0.8 <= out["a"] - written["a"] <= 1.5  # held for the rest of the interval
    assert out["b"] - written["b"] < 0.5  # not held: the interval was long up


def test_another_nodes_first_words_do_not_hurry_the_text_already_shown(monkeypatch):
    import threading

    import strategies.streaming as streaming

    monkeypatch.setattr(streaming, "STREAM_INTERVAL", 30.0)
    shown_first, second_out = threading.Event(), threading.Event()

    class TwoNodes(FakeProvider):
        def generate_many(self, requests, on_text=None):
            on_text(0, 0, "Step 1: ")
            shown_first.wait(10)
            on_text(0, 0, "3 × 7 ")
            on_text(0, 1, "Step 1: ")
            second_out.wait(10)
            return super().generate_many(requests)

    request = GenerationRequest((Message("user", "2 + 2?"),), n=2)
    call = streaming.streamed_call(TwoNodes(), [request], [["n1", "n2"]], ShownText(), lambda e: e)
    assert next(call) == NodeText("n1", "Step 1:")
    shown_first.set()
    assert next(call) == NodeText("n2", "Step 1:")  # n1's new words wait for the interval
    second_out.set()
    assert NodeText("n1", " 3 × 7") in list(call)


def test_thinking_streams_apart_from_the_text_and_the_fold_keeps_it_apart():
    shown = ShownText()
    shown.add("n1", Thinking("First, 48 / 2"))
    (first,) = shown.pending(first_words_only=True)  # thinking is the node's first words
    assert first == NodeText("n1", "First, 48 / 2", thinking=True)
    shown.add("n1", Thinking(" = 24."))
    shown.add("n1", "She sold 72.")
    assert list(shown.pending(first_words_only=True)) == []  # the rest waits its turn
    assert list(shown.pending()) == [
        NodeText("n1", " = 24.", thinking=True),
        NodeText("n1", "She sold 72."),
    ]
    tree = ReasoningTree()
    tree.apply(NodeStarted("n1", "root", "answer"))
    tree.apply(first)
    assert tree.graph.nodes["n1"]["thinking"] == "First, 48 / 2"
    assert tree.graph.nodes["n1"]["text"] == ""
    assert shown.rest("n1", "She sold 72.") is None
    tree.apply(NodeAdded("n1", "root", "She sold 72.", "answer", thinking="48 / 2 = 24."))
    assert tree.graph.nodes["n1"]["thinking"] == "48 / 2 = 24."


def test_a_node_is_marked_written_when_its_sample_ends_not_when_the_call_returns(pens, arithmetic):
    """A short sample's node stops being written while a longer one of the same call goes on."""

    def uneven(request, index):
        return " ".join(["word"] * (3 if index == 0 else 30)) + " \\boxed{29}"

    provider = FakeProvider(uneven, tokens_per_second=20)  # the long one writes for 1.5 s
    events = list(STRATEGIES["best_of_n"](pens, provider, arithmetic, Budget(n=2, seed=1)))
    check_streaming(events)
    marks = [k for k, e in enumerate(events) if isinstance(e, NodeText) and e.done]
    short, long = (e.node_id for e in events if isinstance(e, NodeStarted))
    assert events[marks[0]].node_id == short
    later = [e for e in events[marks[0] :] if isinstance(e, NodeText) and not e.done]
    assert later and {e.node_id for e in later} == {long}  # the other is still being written
    tree = ReasoningTree.from_events(events[: marks[0] + 1])
    assert tree.writing() == [long]
    assert tree.graph.nodes[short]["written"] and tree.graph.nodes[short]["text"]


def test_a_written_node_takes_more_text_from_a_later_call_and_a_stop_keeps_it():
    tree = ReasoningTree()
    tree.apply(NodeStarted("n1", "root", "step"))
    tree.apply(NodeText("n1", "Step 2:"))
    tree.apply(NodeText("n1", "", done=True))
    assert tree.writing() == [] and tree.graph.nodes["n1"]["written"]
    tree.apply(NodeText("n1", " 7 × 3 = 21."))  # a lead-in's body, written into its node
    assert tree.writing() == ["n1"]
    tree.apply(NodeText("n1", "", done=True))
    tree.apply(NodeStarted("n2", "root", "step"))
    tree.apply(NodeText("n2", "Step 2: 7 ×"))
    tree.apply(RunFinished("stopped"))
    written, cut = tree.graph.nodes["n1"], tree.graph.nodes["n2"]
    # Whole text whose call never returned, against text cut off mid-sample.
    assert written["written"] and not written["interrupted"]
    assert written["text"] == "Step 2: 7 × 3 = 21."
    assert cut["interrupted"] and not cut["written"] and not tree.writing()


@pytest.mark.model
def test_the_local_engine_says_when_each_sample_ends(local):
    """A sample that ends early says so while the batch decodes the others."""
    count = (Message("user", "Count from 1 to 50, one number per line."),)
    requests = [
        GenerationRequest(count, n=1, max_tokens=4, temperature=0.0, seed=1),
        GenerationRequest(count, n=1, max_tokens=24, temperature=0.0, seed=1),
    ]
    order: list[tuple[int, str]] = []
    local.generate_many(requests, lambda r, i, t: order.append((r, t)))
    ends = [k for k, (_, piece) in enumerate(order) if isinstance(piece, Finished)]
    assert [order[k][0] for k in ends] == [0, 1]
    assert any(r == 1 and piece for r, piece in order[ends[0] :])  # the other wrote on
