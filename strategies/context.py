"""What every strategy shares: prompting, capped model calls, scoring, and the events they emit."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from core.budget import Budget
from core.confidence import ConfidenceStop
from core.events import (
    ROOT,
    Event,
    NodeAdded,
    NodePruned,
    NodeSelected,
    NodeStarted,
    NodeText,
    RunStarted,
    Status,
    UsageRecorded,
)
from core.problems.base import Problem
from core.providers.base import (
    STEP_STOP,
    Completion,
    GenerationRequest,
    Message,
    Provider,
    ProviderError,
)
from core.tree import ReasoningTree
from core.verifiers.base import Verifier
from core.verifiers.grading import extract_answer, has_final_answer, split_thinking
from strategies.caps import Caps, RunStopped
from strategies.scoring import Scoring, Steps
from strategies.steps import is_lead_in, solve_messages
from strategies.streaming import ShownText, streamed_call


@dataclass(frozen=True)
class Choice:
    node_id: str | None
    answer: str | None
    method: str


class RunContext(Scoring):
    """One run's state. Every event goes through `emit`, which folds it into `self.tree`."""

    def __init__(
        self,
        strategy: str,
        problem: Problem,
        provider: Provider,
        verifier: Verifier,
        budget: Budget,
    ) -> None:
        self.strategy = strategy
        self.problem = problem
        self.provider = provider
        self.verifier = verifier
        self.budget = budget
        self.tree = ReasoningTree()
        self.caps = Caps(budget, provider)
        self.run_id = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._shown = ShownText()
        self._start = time.monotonic()
        self.should_stop: Callable[[], bool] = lambda: False
        # Token confidence is asked of the provider only for a verifier or a strategy that
        # reads it (deepconf_online sets it).
        self.confidence_k = verifier.confidence_k
        self._no_confidence: dict[str, str] = {}  # node id -> why it has no confidence

    def emit(self, event: Event) -> Event:
        if isinstance(event, NodeText) and event.at is None:
            event = replace(event, at=round(time.monotonic() - self._start, 2))
        self.tree.apply(event)
        return event

    def started(self) -> RunStarted:
        return RunStarted(
            run_id=self.run_id,
            strategy=self.strategy,
            question=self.problem.question,
            reference=self.problem.answer,
            provider=self.provider.name,
            model=self.provider.model,
            verifier=self.verifier.name,
            budget=self.budget.to_dict(),
            problem_id=self.problem.id,
        )

    def status(self, text: str) -> Event:
        return self.emit(Status(text))

    def solve_messages(self) -> tuple[Message, ...]:
        return solve_messages(self.problem)

    def prefix(self, node_id: str) -> str:
        """The answer so far along the path to `node_id`, ready for the model to continue."""
        if node_id == ROOT:
            return ""
        return "\n\n".join(self.tree.steps(node_id)) + "\n\n"

    def is_terminal(self, node_id: str) -> bool:
        node = self.tree.graph.nodes[node_id]
        return node.get("answer") is not None or not node["text"]

    def stopped_message(self) -> str:
        steps = sum(
            1 for n in self.tree.graph if n != ROOT and not self.tree.graph.nodes[n]["writing"]
        )
        return f"stopped by you after {steps} steps; all kept"

    def starts(self, parent_id: str, n: int, role: str) -> list[NodeStarted]:
        """Node ids for the `n` completions of one request, announced when the call goes out."""
        return [NodeStarted(f"n{next(self._ids)}", parent_id, role) for _ in range(n)]

    def call_many(
        self,
        requests: Sequence[GenerationRequest],
        starts: Sequence[Sequence[NodeStarted]] | None = None,
        announce: bool = True,
    ) -> Steps[tuple[list[list[Completion]], RunStopped | None]]:
        """Requests served together (the local engine decodes them in one batch), within caps.

        Requests that would break a cap only together go out in later calls, with the true
        counts; the answers got before a stop are returned with it, so nothing paid is lost.
        With `starts` (one NodeStarted per completion of each request), the nodes are announced
        as their call goes out and their text streams in as NodeText events; `announce=False`
        streams into nodes already announced (a lead-in's body, written into its node).
        """
        done: list[list[Completion]] = []
        while len(done) < len(requests):
            if self.should_stop():
                return done, RunStopped("stopped", self.stopped_message())
            batch, tokens, dollars = [], 0, 0.0
            for request in requests[len(done) :]:
                try:
                    capped, worst = self.caps.fit(request, tokens, dollars)
                except RunStopped as stop:
                    if not batch:
                        return done, stop
                    break
                if batch and capped != request:
                    break  # it fits only shrunk: first learn what the batch really used
                batch.append(capped)
                tokens += capped.n * capped.max_tokens
                dollars += worst
            try:
                if starts is None:
                    answers = self.provider.generate_many(batch)
                else:
                    # A request shrunk to fit a cap announces only the nodes it will write.
                    going = [
                        group[: request.n]
                        for group, request in zip(starts[len(done) :], batch, strict=False)
                    ]
                    for started in (s for group in going for s in group if announce):
                        yield self.emit(started)
                    ids = [[s.node_id for s in group] for group in going]
                    if self.provider.streams:
                        call = streamed_call(self.provider, batch, ids, self._shown, self.emit)
                        answers = yield from call
                    else:
                        answers = self.provider.generate_many(batch)
            except ProviderError as exc:
                return done, RunStopped("error", str(exc), exc.partial)
            for completions in answers:
                self.caps.charge(completions)
            done += answers
        return done, None

    def usage_event(
        self, completion: Completion, role: str, node_id: str | None, cost: float | None
    ) -> Event:
        model = self.provider.model
        if role == "verify":
            self.caps.charge_verifier(cost)
            model = self.verifier.call_model(completion)
        return self.emit(
            UsageRecorded(
                role=role,
                model=model,
                input_tokens=completion.usage.input_tokens,
                output_tokens=completion.usage.output_tokens,
                seconds=round(completion.seconds, 4),
                node_id=node_id,
                cached_tokens=completion.usage.cached_tokens,
                reasoning_tokens=completion.usage.reasoning_tokens,
                cost_usd=cost,
            )
        )

    def add_nodes(
        self,
        parent_id: str,
        groups: Sequence[Sequence[Completion]],
        role: str,
        whole_answer: bool,
        node_ids: Sequence[str] = (),
        answers: Sequence[str | None] | None = None,
    ) -> Steps[list[str]]:
        """One node per group of calls, with each call's usage; `whole_answer` nodes end the path.

        `node_ids`: the ids announced by NodeStarted when the calls went out, if they were.
        `answers`: each node's answer when it is not read from its text (a program's result)."""
        ids = []
        for k, calls in enumerate(groups):
            node_id = node_ids[k] if k < len(node_ids) else f"n{next(self._ids)}"
            # `<think>` blocks in the content are thinking, not text; one left open was cut off.
            parts = [split_thinking(c.text) for c in calls]
            text = "\n\n".join(visible for _, visible, _ in parts if visible)
            thinking = "\n\n".join(
                t for t in [*(c.thinking for c in calls), *(p[0] for p in parts)] if t
            )
            # A reply cut off by its token limit answers only if it stated an answer.
            complete = all(
                c.finish_reason not in ("length", "low_confidence") and closed
                for c, (_, _, closed) in zip(calls, parts, strict=True)
            )
            finished = whole_answer or has_final_answer(text) or not text
            # A whole answer stands alone; a step's answer may lean on the steps before it.
            source = text if whole_answer else self.prefix(parent_id) + text
            answer = None
            if answers is not None:
                answer = answers[k]
            elif finished and role != "critique" and all(closed for _, _, closed in parts):
                answer = extract_answer(source, complete=complete)
            tokens = sum(c.usage.output_tokens for c in calls)
            confidence = self._certainty(node_id, calls)
            if (rest := self._shown.rest(node_id, text)) is not None:
                yield self.emit(rest)  # streamed pieces joined are the node's final text
            yield self.emit(
                NodeAdded(node_id, parent_id, text, role, tokens, answer, thinking, confidence)
            )
            for call in calls:
                yield self.usage_event(call, "generate", node_id, self.provider.cost(call.usage))
            ids.append(node_id)
        return ids

    def expand(self, parent_id: str, n: int) -> Steps[list[str]]:
        """Sample `n` next steps after `parent_id`, each ending at a blank line."""
        (ids,) = yield from self.expand_many([parent_id], n)
        return ids

    def expand_many(self, parent_ids: Sequence[str], n: int) -> Steps[list[list[str]]]:
        """`n` next steps after each parent, requested together so that they decode together."""
        requests = [
            GenerationRequest(
                messages=self.solve_messages(),
                n=n,
                max_tokens=self.budget.step_tokens,
                temperature=self.budget.temperature,
                top_p=self.budget.top_p,
                stop=(STEP_STOP,),
                seed=self.budget.seed + next(self._ids) * 1009,
                assistant_prefix=self.prefix(parent_id),
                confidence_k=self.confidence_k,
            )
            for parent_id in parent_ids
        ]
        starts = [self.starts(parent_id, n, "step") for parent_id in parent_ids]
        answers, stopped = yield from self.call_many(requests, starts)
        groups = [[[c] for c in completions] for completions in answers]
        # "We follow these steps:" is not a step yet: every such lead-in writes its body into
        # the same node, all in one batch, its text streaming on after a blank line.
        leads = [
            (r, k)
            for r, completions in enumerate(answers)
            for k, c in enumerate(completions)
            if is_lead_in(c.text.strip())
        ]
        if leads and stopped is None:
            more = [
                replace(
                    requests[r],
                    n=1,
                    assistant_prefix=requests[r].assistant_prefix
                    + answers[r][k].text.strip()
                    + STEP_STOP,
                )
                for r, k in leads
            ]
            for r, k in leads:
                self._shown.new_paragraph(starts[r][k].node_id)
            again = [[starts[r][k]] for r, k in leads]
            bodies, stopped = yield from self.call_many(more, again, announce=False)
            for (r, k), body in zip(leads, bodies, strict=False):
                groups[r][k] += body  # a body not written (a cap or Stop) leaves the lead-in
        ids = []
        for parent_id, node_groups, started in zip(parent_ids, groups, starts, strict=False):
            last_step = self.tree.graph.nodes[parent_id]["depth"] + 1 >= self.budget.max_depth
            node_ids = [s.node_id for s in started]
            ids.append(
                (yield from self.add_nodes(parent_id, node_groups, "step", last_step, node_ids))
            )
        if stopped is not None:
            raise stopped
        return ids

    def sample(
        self,
        n: int,
        *,
        messages: tuple[Message, ...] | None = None,
        parent_id: str = ROOT,
        role: str = "sample",
        max_tokens: int | None = None,
        temperature: float | None = None,
        answer_only: bool = False,
    ) -> Steps[list[str]]:
        """Sample `n` whole answers in one request (native n where the backend has it).

        `answer_only`: the reply is an answer and nothing else (System 1; see GenerationRequest).
        """
        traces = yield from self.sample_traces(
            n,
            messages=messages,
            parent_id=parent_id,
            role=role,
            max_tokens=max_tokens,
            temperature=temperature,
            answer_only=answer_only,
        )
        return [node_id for node_id, _ in traces]

    def sample_traces(
        self,
        n: int,
        *,
        messages: tuple[Message, ...] | None = None,
        parent_id: str = ROOT,
        role: str = "sample",
        max_tokens: int | None = None,
        temperature: float | None = None,
        answer_only: bool = False,
        stop_below: ConfidenceStop | None = None,
    ) -> Steps[list[tuple[str, Completion]]]:
        """`sample`, returning each node with the completion that wrote it (its finish reason
        and token confidence); `stop_below` cuts each sample once it is unsure (DeepConf)."""
        request = GenerationRequest(
            messages=messages or self.solve_messages(),
            n=n,
            max_tokens=max_tokens or self.budget.sample_tokens,
            temperature=self.budget.temperature if temperature is None else temperature,
            top_p=self.budget.top_p,
            seed=self.budget.seed + next(self._ids) * 1009,
            answer_only=answer_only,
            confidence_k=self.confidence_k,
            stop_below_confidence=stop_below,
        )
        starts = self.starts(parent_id, n, role)
        completions, stopped = yield from self.call_many([request], [starts])
        if stopped is not None:
            raise stopped
        groups = [[c] for c in completions[0]]
        node_ids = [s.node_id for s in starts]
        ids = yield from self.add_nodes(parent_id, groups, role, True, node_ids)
        return list(zip(ids, completions[0], strict=True))

    def prune(self, node_ids: Sequence[str], reason: str) -> Iterator[Event]:
        for node_id in node_ids:
            yield self.emit(NodePruned(node_id, reason))

    def select(self, node_ids: Sequence[str], reason: str) -> Iterator[Event]:
        for node_id in node_ids:
            yield self.emit(NodeSelected(node_id, reason))

    def best_so_far(self) -> Choice:
        """When a run stops early: the best-scored finished path, else the best partial one."""
        # Nodes cut off mid-call (a failed stream) are shown, but never chosen.
        g = self.tree.graph
        nodes = [n for n in g if n != ROOT and not (g.nodes[n]["writing"] or g.nodes[n]["written"])]
        if not nodes:
            return Choice(None, None, "no step was written")
        finished = [n for n in nodes if self.tree.graph.nodes[n].get("answer") is not None]
        pool = finished or nodes
        best = max(pool, key=lambda n: (self.path_score(n), self.tree.graph.nodes[n]["depth"]))
        answer = self.tree.graph.nodes[best].get("answer")
        if answer is None:  # a path cut short answers only if it had already stated an answer
            answer = extract_answer(self.prefix(best), complete=False)
        return Choice(best, answer, "best path so far (run stopped early)")
