"""Drive a strategy body over one run context: the one place a run starts and ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from core.budget import Budget
from core.events import AnswerChosen, Event, RunFinished
from core.problems.base import Problem
from core.providers.base import Provider
from core.verifiers.base import Verifier
from strategies.caps import RunStopped
from strategies.context import Choice, RunContext, Steps

StrategyBody = Callable[[RunContext], Steps[Choice]]


def run_strategy(
    name: str,
    body: StrategyBody,
    problem: Problem,
    provider: Provider,
    verifier: Verifier,
    budget: Budget,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Event]:
    """Drive a strategy body and always end with exactly one AnswerChosen and one RunFinished.

    `should_stop` is asked before every model call; once it says yes, the run ends there as
    "stopped", with every finished call's nodes and costs kept."""
    ctx = RunContext(name, problem, provider, verifier, budget)
    ctx.should_stop = should_stop or ctx.should_stop
    yield ctx.emit(ctx.started())
    start = time.perf_counter()
    try:
        choice = yield from body(ctx)
        reason, message = "complete", ""
    except RunStopped as stop:
        for call in stop.partial:
            cost = verifier.cost(call) if stop.role == "verify" else provider.cost(call.usage)
            yield ctx.usage_event(call, stop.role, None, cost)
        choice = ctx.best_so_far()
        reason, message = stop.reason, str(stop)
    yield ctx.emit(
        AnswerChosen(choice.node_id, choice.answer, problem.grade(choice.answer), choice.method)
    )
    elapsed = time.perf_counter() - start
    yield ctx.emit(RunFinished(reason, message or f"finished in {elapsed:.1f} s"))
