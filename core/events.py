"""The event stream every strategy emits; trees, ledgers, stores and replays are folds over it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError

ROOT = "root"


# How every view names a run or node that stated no answer; it is graded unsolved, never a guess.
NO_ANSWER = "no answer"


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    """First event of every run: enough to label and replay it without the engine."""

    kind: ClassVar[str] = "run_started"
    run_id: str
    strategy: str
    question: str
    reference: str | None
    provider: str
    model: str
    verifier: str
    budget: dict[str, Any] = field(default_factory=dict)
    problem_id: str = ""


@dataclass(frozen=True)
class NodeStarted(Event):
    """A model call for this node has started; its text follows as NodeText, then NodeAdded."""

    kind: ClassVar[str] = "node_started"
    node_id: str
    parent_id: str
    role: str = "step"


@dataclass(frozen=True)
class NodeText(Event):
    """New text of a node being written (coalesced: about four events a second per node)."""

    kind: ClassVar[str] = "node_text"
    node_id: str
    text: str
    at: float | None = None  # seconds since the run started: replays keep the recorded pace
    # The text is the model's thinking (Anthropic's thinking deltas, a reasoning model's
    # reasoning_content), shown growing while the node is written; NodeAdded's `thinking`
    # replaces it. False: the node's own text.
    thinking: bool = False
    # The node's model call has written all of it (others in the same call may go on): no
    # longer being written; its NodeAdded (final text, answer, usage) comes when the call returns.
    done: bool = False


@dataclass(frozen=True)
class NodeAdded(Event):
    """A reasoning step (or a whole sample) produced by one real model call, now complete.

    Its text is the whole text: after NodeStarted/NodeText it replaces what was streamed."""

    kind: ClassVar[str] = "node_added"
    node_id: str
    parent_id: str
    text: str
    role: str = "step"  # step | sample | draft | critique | revision | answer
    output_tokens: int = 0
    answer: str | None = None  # extracted final answer when the node ends a solution
    thinking: str = ""  # a native-thinking summary returned alongside the text, if any
    # How sure the model was of this text, in [0, 1], from its token logprobs: DeepConf's lowest
    # group confidence mapped by core.confidence.certainty. None: not asked for, or the provider
    # gives none. Runs recorded before the field read as None.
    confidence: float | None = None


@dataclass(frozen=True)
class StepScored(Event):
    kind: ClassVar[str] = "step_scored"
    node_id: str
    score: float | None  # for a whole sample, its steps' scores aggregated; None: unavailable
    verifier: str
    detail: str = ""
    step_scores: tuple[float | None, ...] = ()  # per step, when the node holds several


@dataclass(frozen=True)
class NodePruned(Event):
    kind: ClassVar[str] = "node_pruned"
    node_id: str
    reason: str = ""


@dataclass(frozen=True)
class NodeSelected(Event):
    """A node kept by the search (a surviving beam, an MCTS selection)."""

    kind: ClassVar[str] = "node_selected"
    node_id: str
    reason: str = ""


@dataclass(frozen=True)
class NodeStats(Event):
    """MCTS bookkeeping after a backup: visit count and mean value of a node."""

    kind: ClassVar[str] = "node_stats"
    node_id: str
    visits: int
    value: float


@dataclass(frozen=True)
class UsageRecorded(Event):
    kind: ClassVar[str] = "usage_recorded"
    role: str  # generate | verify
    model: str
    input_tokens: int
    output_tokens: int
    seconds: float
    node_id: str | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None  # None when the model's price is unknown


@dataclass(frozen=True)
class Status(Event):
    """A plain-words line for the live status ("depth 3: scoring 8 candidate steps")."""

    kind: ClassVar[str] = "status"
    text: str


@dataclass(frozen=True)
class DifficultyJudged(Event):
    """compute_optimal's probe put the problem in a bin, and the bin chose a strategy and budget.

    `reason` says it in plain words: "the first 2 samples disagree and score low (0.31): this
    looks hard, so beam search with N=8"."""

    kind: ClassVar[str] = "difficulty_judged"
    bin: str  # easy | medium | hard (core.difficulty.BINS)
    strategy: str
    n: int
    probe: tuple[str, ...]  # the probe samples' node ids, reused by the chosen strategy
    reason: str


@dataclass(frozen=True)
class AnswerChosen(Event):
    kind: ClassVar[str] = "answer_chosen"
    node_id: str | None
    answer: str | None
    correct: bool | None  # None: no reference answer, so correctness is unknown
    method: str = ""


@dataclass(frozen=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    reason: str  # complete | token_cap | spend_cap | stopped | error
    message: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        NodeStarted,
        NodeText,
        NodeAdded,
        StepScored,
        NodePruned,
        NodeSelected,
        NodeStats,
        UsageRecorded,
        Status,
        DifficultyJudged,
        AnswerChosen,
        RunFinished,
    )
}


@cache
def _validator(cls: type[Event]) -> TypeAdapter[Event]:
    return TypeAdapter(cls)


def _field_errors(kind: str, exc: ValidationError) -> str:
    """pydantic's errors as one line: "node_added: node_id: Input should be a valid string"."""
    said = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'fields'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
    return f"{kind}: {said}"


def event_from_dict(data: Any) -> Event:
    """Rebuild an event from `Event.to_dict()` output, each field checked against its type
    (pydantic, lax: "3" is read as 3, but "three" is refused); raises ValueError saying why."""
    if not isinstance(data, dict):
        raise ValueError(
            f"not an event: a JSON object with a 'type' was expected, not {data!r:.40}"
        )
    data = dict(data)
    kind = data.pop("type", None)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    names = {f.name for f in fields(cls)}
    extra = set(data) - names
    if extra:
        raise ValueError(f"event {kind!r} has unexpected fields {sorted(extra)}")
    try:
        return _validator(cls).validate_python(data)
    except ValidationError as exc:
        raise ValueError(_field_errors(kind, exc)) from None


def to_json_line(event: Event) -> str:
    return json.dumps(event.to_dict(), ensure_ascii=False)


def to_json_lines(events: Iterable[Event]) -> str:
    """JSONL text: one event a line, each line ended by a newline."""
    return "".join(to_json_line(e) + "\n" for e in events)


def from_json_lines(lines: Iterable[str]) -> list[Event]:
    """Parse JSONL text lines into events (blank lines skipped); a bad line raises ValueError
    naming it: "line 3: not JSON (...)", "line 7: unknown event type 'Foo'"."""
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError; nesting too deep
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        try:
            events.append(event_from_dict(data))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return events
