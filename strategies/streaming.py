"""Text as it is written: a provider call run beside the strategy, its new text turned into events.

The strategy is a generator driven by the run's thread; a streaming provider call blocks. So the
call runs in a helper thread that puts each piece of new text on a queue, and the generator
turns the queue into NodeText events: a node's first words at once, then at most one per node
every STREAM_INTERVAL seconds, and an empty one marked done when its sample ends (a `Finished`
piece), until the call returns. The events stay one stream: the tree, the
ledger, the store and the page fold them like any other.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence

from core.events import Event, NodeText
from core.providers.base import Completion, Finished, GenerationRequest, Provider, Thinking

STREAM_INTERVAL = 0.25  # seconds: about four text events a second per node being written


class ShownText:
    """What each node's NodeText events have shown so far, and the next piece to show.

    Shown text is each call's streamed text without leading or trailing whitespace, the calls
    that write one node joined by a blank line (as NodeAdded's text is), so that a node's pieces
    joined equal its final text.
    """

    def __init__(self) -> None:
        self._raw: dict[str, list[str]] = {}
        self.shown: dict[str, str] = {}
        self._thinking: dict[str, str] = {}  # streamed thinking; shown as it came
        self._thought: dict[str, int] = {}  # how much of it has been shown
        self._ended: dict[str, bool] = {}  # the node's call has ended: told yet?

    def add(self, node_id: str, text: str) -> None:
        """New text of the node; a `Thinking` piece is new text of its thinking, a `Finished`
        one the end of the call writing it."""
        if isinstance(text, Finished):
            self._ended.setdefault(node_id, False)
            return
        self._ended.pop(node_id, None)  # a later call writes more of it (a lead-in's body)
        if isinstance(text, Thinking):
            self._thinking[node_id] = self._thinking.get(node_id, "") + text
            return
        parts = self._raw.setdefault(node_id, [""])
        parts[-1] += text

    def new_paragraph(self, node_id: str) -> None:
        """Text added from now on comes from another call writing the same node."""
        self._raw.setdefault(node_id, [""]).append("")

    def pending(self, first_words_only: bool = False) -> Iterator[NodeText]:
        """A NodeText for every node with text not yet shown (only those that have shown
        nothing yet, with `first_words_only`)."""
        for node_id, thinking in self._thinking.items():
            if first_words_only and (node_id in self._thought or node_id in self.shown):
                continue
            told = self._thought.get(node_id, 0)
            if len(thinking) > told:
                self._thought[node_id] = len(thinking)
                yield NodeText(node_id, thinking[told:], thinking=True)
        for node_id, parts in self._raw.items():
            if first_words_only and (node_id in self.shown or node_id in self._thought):
                continue
            visible = "\n\n".join(p.strip() for p in parts if p.strip())
            shown = self.shown.get(node_id, "")
            if len(visible) > len(shown) and visible.startswith(shown):
                self.shown[node_id] = visible
                yield NodeText(node_id, visible[len(shown) :])
        if not first_words_only:
            for node_id in [n for n, told in self._ended.items() if not told]:
                self._ended[node_id] = True
                yield NodeText(node_id, "", done=True)

    def rest(self, node_id: str, final: str) -> NodeText | None:
        """The final text's part not yet shown, if what was shown is its beginning (marked done
        if the node's end was told: it is not being written again)."""
        shown = self.shown.pop(node_id, None)
        self._raw.pop(node_id, None)
        self._thinking.pop(node_id, None)  # NodeAdded's thinking replaces what was shown
        self._thought.pop(node_id, None)
        ended = self._ended.pop(node_id, False)
        if shown is None or not final.startswith(shown) or final == shown:
            return None
        return NodeText(node_id, final[len(shown) :], done=ended)


def streamed_call(
    provider: Provider,
    requests: Sequence[GenerationRequest],
    node_ids: Sequence[Sequence[str]],
    shown: ShownText,
    emit: Callable[[Event], Event],
) -> Generator[Event, None, list[list[Completion]]]:
    """`provider.generate_many(requests)`, yielding NodeText events for `node_ids[r][i]` (sample
    i of request r) while it runs; raises what the call raised."""
    pieces: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["answers"] = provider.generate_many(
                requests, on_text=lambda r, i, text: pieces.put((r, i, text))
            )
        except BaseException as exc:  # handed to the strategy's thread below
            outcome["error"] = exc
        finally:
            pieces.put(None)

    threading.Thread(target=call, name="model-call", daemon=True).start()
    # A node's first words go out at once (what a viewer waits for); the rest at most every
    # STREAM_INTERVAL: text that arrives sooner is held until the interval is up, not longer.
    last, held = time.monotonic(), False
    while True:
        wait = max(0.0, last + STREAM_INTERVAL - time.monotonic()) if held else STREAM_INTERVAL
        try:
            item = pieces.get(timeout=wait)
        except queue.Empty:
            item = ()
        if item is None:
            break
        if item:
            r, i, text = item
            if r < len(node_ids) and i < len(node_ids[r]):
                shown.add(node_ids[r][i], text)
                held = True
        due = time.monotonic() - last >= STREAM_INTERVAL
        events = list(shown.pending(first_words_only=not due))
        for event in events:
            yield emit(event)
        if due:
            held = False
            if events:
                last = time.monotonic()
    for event in list(shown.pending()):
        yield emit(event)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["answers"]  # type: ignore[return-value]
