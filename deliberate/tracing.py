"""A run as OpenTelemetry spans with OpenInference attributes: a fold over its event stream.

The spans, parents first:
- one run span (OpenInference kind CHAIN; graph node `root`): the question in, the chosen
  answer out, the strategy, budget, provider and verifier in its metadata;
- one node span (CHAIN) per node of the tree, under its parent node's span (a node of `root`
  under the run span): the node's text out, its role, answer, score and fate in its metadata;
- one call span (LLM, named `generate` or `verify`) per model call, one per `UsageRecorded`:
  model, prompt / completion / total / cached-read / reasoning token counts and cost in dollars
  (`llm.cost.total`, absent when the price is unknown). A generate call sits under the node it
  wrote. A verify call sits under the node it scored: the event's node, or else the node the
  `StepScored` events just before it scored. When that one verifier call batch scored several
  nodes, the events do not say which call scored which node, so its calls sit under the scored
  nodes' nearest common node (often the run span), their metadata naming the nodes scored.

Times (events carry no wall-clock time): a clock in seconds since the run started follows
`NodeText.at`; a node whose call was announced (`NodeStarted`) starts at the clock then, and its
calls run from there one after another, each until its sample's end (the `NodeText` marked
done) or else for its `UsageRecorded.seconds`; a call with no
announced start (a verifier's, a provider that does not stream) starts at the clock and moves it
on by its seconds, as if calls ran one at a time. A node span lasts until the last span under
it ends, the run span until the last of all; the whole trace is placed so that the run ends at
`ended_at` (the run store's time, or now).

Semantic conventions: OpenInference (github.com/Arize-ai/openinference, `spec/semantic_conventions.md`),
names taken from the `openinference-semantic-conventions` package. Ids are derived from the run
id, so sending a run twice sends the same trace.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import SpanAttributes as Attr
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Status, StatusCode

from core.events import (
    NO_ANSWER,
    ROOT,
    AnswerChosen,
    Event,
    NodeAdded,
    NodePruned,
    NodeSelected,
    NodeStarted,
    NodeText,
    RunFinished,
    RunStarted,
    StepScored,
    UsageRecorded,
)

SERVICE = "deliberate"
RUN = "run"


@dataclass
class PlannedSpan:
    """One span before the SDK builds it; times in seconds since the run started."""

    name: str
    parent: str | None  # the key of the parent span; None for the run span
    kind: Kind
    start: float
    end: float
    attributes: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _node(node_id: str) -> str:
    return RUN if node_id == ROOT else f"node:{node_id}"


class _Fold:
    """Walks the events once, planning every span with its parent and times."""

    def __init__(self) -> None:
        self.spans: dict[str, PlannedSpan] = {RUN: PlannedSpan(RUN, None, Kind.CHAIN, 0.0, 0.0)}
        self.clock = 0.0
        self.next_call_at: dict[str, float] = {}  # a streamed node's next call starts here
        self.ended: dict[str, list[float]] = {}  # a streamed node's calls' ends (done marks)
        self.scored: list[str] = []  # the nodes the last StepScored group scored
        self.calls = 0

    def apply(self, event: Event, previous: Event | None) -> None:
        if isinstance(event, NodeText) and event.at is not None:
            self.clock = max(self.clock, event.at)
            if event.done:
                self.ended.setdefault(event.node_id, []).append(event.at)
        elif isinstance(event, RunStarted):
            self.run_started(event)
        elif isinstance(event, NodeStarted):
            self.node(event.node_id, event.parent_id, event.role)
            self.next_call_at[event.node_id] = self.clock
        elif isinstance(event, NodeAdded):
            span = self.node(event.node_id, event.parent_id, event.role)
            span.attributes[Attr.OUTPUT_VALUE] = event.text
            span.metadata.update(output_tokens=event.output_tokens, answer=event.answer)
        elif isinstance(event, StepScored):
            if not isinstance(previous, StepScored):
                self.scored = []
            self.scored.append(event.node_id)
            self.meta(event.node_id, score=event.score, verifier=event.verifier)
        elif isinstance(event, NodePruned):
            self.meta(event.node_id, fate="pruned", reason=event.reason)
        elif isinstance(event, NodeSelected):
            self.meta(event.node_id, fate="selected", reason=event.reason)
        elif isinstance(event, UsageRecorded):
            self.call(event)
        elif isinstance(event, AnswerChosen):
            run = self.spans[RUN]
            run.attributes[Attr.OUTPUT_VALUE] = event.answer or NO_ANSWER
            run.metadata.update(chosen_node=event.node_id, correct=event.correct)
        elif isinstance(event, RunFinished):
            self.spans[RUN].metadata["finished"] = event.reason
            if event.reason == "error":
                self.spans[RUN].error = event.message or "the run stopped on an error"

    def run_started(self, event: RunStarted) -> None:
        run = self.spans[RUN]
        run.name = f"{event.strategy} run"
        run.attributes.update({Attr.INPUT_VALUE: event.question, Attr.GRAPH_NODE_ID: ROOT})
        run.metadata.update(
            run_id=event.run_id,
            strategy=event.strategy,
            provider=event.provider,
            model=event.model,
            verifier=event.verifier,
            budget=event.budget,
            problem_id=event.problem_id,
            reference=event.reference,
        )

    def node(self, node_id: str, parent_id: str, role: str) -> PlannedSpan:
        key = _node(node_id)
        if key not in self.spans:
            self.spans[key] = PlannedSpan(
                f"node {node_id}",
                _node(parent_id) if _node(parent_id) in self.spans else RUN,
                Kind.CHAIN,
                self.clock,
                self.clock,
                {Attr.GRAPH_NODE_ID: node_id, Attr.GRAPH_NODE_PARENT_ID: parent_id},
                {"role": role},
            )
        return self.spans[key]

    def meta(self, node_id: str, **values: Any) -> None:
        if _node(node_id) in self.spans:
            self.spans[_node(node_id)].metadata.update(values)

    def verify_parent(self, event: UsageRecorded) -> tuple[str, list[str]]:
        """The span a verifier call goes under, and the nodes it scored (see the module doc)."""
        scored = [event.node_id] if event.node_id is not None else self.scored
        paths = [self.path(_node(n)) for n in scored if _node(n) in self.spans]
        if not paths:
            return RUN, scored
        common = paths[0]
        for path in paths[1:]:
            common = [a for a, b in zip(common, path, strict=False) if a == b]
        return common[-1], scored

    def path(self, key: str) -> list[str]:
        """Span keys from the run span down to `key`."""
        keys = [key]
        while (parent := self.spans[keys[-1]].parent) is not None:
            keys.append(parent)
        return keys[::-1]

    def call(self, event: UsageRecorded) -> None:
        metadata: dict[str, Any] = {"role": event.role, "seconds": event.seconds}
        if event.role == "verify":
            parent, scored = self.verify_parent(event)
            metadata["scored_nodes"] = scored
        else:
            known = event.node_id is not None and _node(event.node_id) in self.spans
            parent = _node(event.node_id) if known and event.node_id else RUN
        if event.node_id in self.next_call_at:
            start = self.next_call_at[event.node_id]
            # A sample that marked its end ran until then: a batched call's samples run
            # together and end apart, while their seconds are equal shares of the call's.
            ends = self.ended.get(event.node_id) if event.role == "generate" else None
            end = max(start, ends.pop(0)) if ends else start + event.seconds
            self.next_call_at[event.node_id] = end
            self.clock = max(self.clock, end)
        else:
            start = self.clock
            self.clock += event.seconds
            end = self.clock
        attributes: dict[str, Any] = {
            Attr.LLM_MODEL_NAME: event.model,
            Attr.LLM_TOKEN_COUNT_PROMPT: event.input_tokens,
            Attr.LLM_TOKEN_COUNT_COMPLETION: event.output_tokens,
            Attr.LLM_TOKEN_COUNT_TOTAL: event.input_tokens + event.output_tokens,
            Attr.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: event.cached_tokens,
            Attr.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: event.reasoning_tokens,
        }
        if event.cost_usd is not None:
            attributes[Attr.LLM_COST_TOTAL] = event.cost_usd
        self.calls += 1
        key = f"call:{self.calls}"
        self.spans[key] = PlannedSpan(
            event.role, parent, Kind.LLM, start, end, attributes, metadata
        )

    def finish(self) -> dict[str, PlannedSpan]:
        """Stretch every span over the spans under it (children were planned after parents)."""
        self.spans[RUN].end = self.clock
        for key in reversed(list(self.spans)):
            span = self.spans[key]
            if span.parent is not None:
                parent = self.spans[span.parent]
                parent.end = max(parent.end, span.end)
        return self.spans


def plan_spans(events: Sequence[Event]) -> dict[str, PlannedSpan]:
    """The run's spans by key ("run", "node:<id>", "call:<k>"), parents before children."""
    fold = _Fold()
    previous = None
    for event in events:
        fold.apply(event, previous)
        previous = event
    return fold.finish()


class _RunIds(IdGenerator):
    """Trace and span ids derived from the run id: the same run always gives the same ids."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.count = 0

    def _digest(self, text: str, size: int) -> int:
        value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
        return value or 1  # zero is the invalid id

    def generate_trace_id(self) -> int:
        return self._digest(f"trace {self.run_id}", 16)

    def generate_span_id(self) -> int:
        self.count += 1
        return self._digest(f"span {self.run_id} {self.count}", 8)


def run_spans(events: Sequence[Event], ended_at: float | None = None) -> list[ReadableSpan]:
    """The run's spans built through the OpenTelemetry SDK, ready for any span exporter.

    `ended_at`: the run's end in Unix seconds (default: now). Raises ValueError for a stream
    that does not start with `run_started`."""
    if not events or not isinstance(events[0], RunStarted):
        raise ValueError("a run's events start with run_started")
    planned = plan_spans(events)
    offset = _nanoseconds(time.time() if ended_at is None else ended_at) - _nanoseconds(
        planned[RUN].end
    )
    collected = InMemorySpanExporter()
    resource = Resource({SERVICE_NAME: SERVICE, ResourceAttributes.PROJECT_NAME: SERVICE})
    provider = TracerProvider(resource=resource, id_generator=_RunIds(events[0].run_id))
    provider.add_span_processor(SimpleSpanProcessor(collected))
    tracer = provider.get_tracer(SERVICE)
    started: dict[str, trace.Span] = {}
    for key, plan in planned.items():
        parent = started.get(plan.parent) if plan.parent else None
        attributes = {
            Attr.OPENINFERENCE_SPAN_KIND: plan.kind.value,
            **{name: value for name, value in plan.attributes.items() if value is not None},
            Attr.METADATA: json.dumps(plan.metadata, ensure_ascii=False),
        }
        started[key] = tracer.start_span(
            plan.name,
            context=trace.set_span_in_context(parent) if parent is not None else None,
            attributes=attributes,
            start_time=offset + _nanoseconds(plan.start),
        )
        if plan.error is not None:
            started[key].set_status(Status(StatusCode.ERROR, plan.error))
    for key in reversed(list(planned)):
        started[key].end(end_time=offset + _nanoseconds(planned[key].end))
    provider.shutdown()
    order = {started[key].get_span_context().span_id: k for k, key in enumerate(planned)}
    return sorted(collected.get_finished_spans(), key=lambda s: order[s.context.span_id])


def _nanoseconds(seconds: float) -> int:
    return round(seconds * 1e9)
