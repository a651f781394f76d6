"""The text side of API calls: the continuation turn that stands in for an assistant prefill,
and stop sequences, cut from a reply after the fact and held back from a stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.providers.base import Finished, Message, Thinking

CONTINUE_PROMPT = (
    "Continue the solution above from exactly where it stops. Write only what comes next; "
    "do not repeat or rewrite the earlier steps."
)


def continuation(prefix: str) -> tuple[Message, Message]:
    """The answer so far as an assistant turn, then a request to go on from it.

    For APIs with no assistant prefill (OpenAI's chat completions): the model answers in a new
    turn, so it is asked to write only what comes next rather than to start over.
    """
    return Message("assistant", prefix.rstrip()), Message("user", CONTINUE_PROMPT)


def cut_at_stops(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop sequence (applied here when the API could not apply it)."""
    cuts = [text.index(stop) for stop in stops if stop and stop in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def stop_filtered(
    sink: Callable[[int, str], None], stops: Sequence[str]
) -> Callable[[int, str], None]:
    """`sink` fed only text before the first stop sequence, as `cut_at_stops` will cut the
    reply; a stop's first characters are held back until they cannot start one, or until the
    reply's `Finished` piece, passed on after them. Thinking pieces pass as they are: stops
    apply to the answer."""
    stops = [s for s in stops if s]
    hold = max((len(s) for s in stops), default=1) - 1
    texts: dict[int, str] = {}
    sent: dict[int, int] = {}

    def feed(index: int, text: str) -> None:
        if isinstance(text, Thinking):
            sink(index, text)
            return
        # Leading whitespace goes, as it will from the reply (a continued step opens with the
        # blank line a stripped prefill left out): a stop there is not a stop.
        whole = texts[index] = (texts.get(index, "") + text).lstrip()
        cuts = [at for at in (whole.find(s) for s in stops) if at >= 0]
        ended = isinstance(text, Finished)
        end = min(cuts) if cuts else len(whole) - (0 if ended else hold)
        if end > sent.get(index, 0):
            sink(index, whole[sent.get(index, 0) : end])
            sent[index] = end
        if ended:
            sink(index, text)

    return feed
