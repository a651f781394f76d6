"""Replay pacing over a recorded event stream: how far a step, a tick or a stretch of recorded
time moves the replay. Pure functions of the events and an index."""

from __future__ import annotations

from collections.abc import Sequence

from core.events import Event, NodeStarted, NodeText

TEXT_WEIGHT = 0.125  # a replay step: a streamed text piece counts as an eighth of an event


def advance_replay(events: Sequence[Event], index: int, steps: float) -> int:
    """The index `steps` events after `index`, where streamed text counts TEXT_WEIGHT: text still
    grows on screen, and a 16-beam run's text does not slow its replay sixteen-fold."""
    budget = steps
    while index < len(events) and budget > 0:
        budget -= TEXT_WEIGHT if _streamed(events[index]) else 1.0
        index += 1
    return index


def recorded_at(events: Sequence[Event], index: int) -> float | None:
    """Seconds into the recorded run at event `index`: the time of the last stamped NodeText
    before it (None when the recording has no stamps, as before streamed text was timed)."""
    for event in reversed(events[:index]):
        if isinstance(event, NodeText) and event.at is not None:
            return event.at
    return 0.0 if any(isinstance(e, NodeText) and e.at is not None for e in events) else None


def advance_recorded(
    events: Sequence[Event], index: int, seconds: float, clock: float | None = None
) -> tuple[int, float] | None:
    """(index, clock) `seconds` of recorded time after event `index` and the replay's `clock`
    (recorded seconds; None: the time at `index`): a replay at the pace the run was written,
    long waits included. None for a recording without timed text."""
    start = recorded_at(events, index)
    if start is None:
        return None
    until = max(start, clock or 0.0) + seconds
    while index < len(events):
        event = events[index]
        if isinstance(event, NodeText) and event.at is not None and event.at > until:
            break
        index += 1
    return index, until


def _streamed(event: Event) -> bool:
    return isinstance(event, NodeText | NodeStarted)


def step_replay(events: Sequence[Event], index: int, forward: bool) -> int:
    """The replay position one step from `index`: just after the next (or previous) event that
    is not streamed text, so one key press adds or removes one node, score, prune or choice
    together with the text written before it. Positions run from 0 to len(events)."""
    if forward:
        position = index + 1
        while position < len(events) and _streamed(events[position - 1]):
            position += 1
        return min(position, len(events))
    position = min(index, len(events)) - 1
    while position > 0 and _streamed(events[position - 1]):
        position -= 1
    return max(position, 0)
