"""The event stream every strategy emits; trees, ledgers, stores and replays are folds over it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

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


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `Event.to_dict()` output; unknown keys are an error."""
    data = dict(data)
    kind = data.pop("type", None)
    cls = EVENT_TYPES.get(kind or "")
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    names = {f.name for f in fields(cls)}
    extra = set(data) - names
    if extra:
        raise ValueError(f"event {kind!r} has unexpected fields {sorted(extra)}")
    # JSON has no tuples; events hold tuples so that they stay hashable and compare equal.
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def to_json_line(event: Event) -> str:
    return json.dumps(event.to_dict(), ensure_ascii=False)


def from_json_lines(lines: Any) -> list[Event]:
    """Parse JSONL text lines into events, naming the bad line on error."""
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(event_from_dict(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {number}: not a valid event ({exc})") from exc
    return events
