"""Batches: problems x strategies x budgets, each run folded into one result row."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from itertools import groupby

from core.budget import Budget
from core.events import AnswerChosen, Event, NodeAdded, RunFinished
from core.ledger import Ledger, cost_per_solved
from core.problems.base import Problem
from core.providers.base import Provider
from core.verifiers.base import Verifier
from strategies import STRATEGIES, budgets_for


@dataclass(frozen=True)
class BatchRow:
    problem_id: str
    difficulty: str
    strategy: str
    budget: int
    answer: str | None
    correct: bool | None
    input_tokens: int
    output_tokens: int
    seconds: float
    cost_usd: float | None
    finish: str
    # Some answer written in the run was right, chosen or not: what a perfect verifier would
    # have picked (pass@N). None without a reference answer.
    any_correct: bool | None = None
    events: tuple[Event, ...] = field(default=(), repr=False)

    CSV_FIELDS = (
        "problem_id", "difficulty", "strategy", "budget", "answer", "correct", "any_correct",
        "input_tokens", "output_tokens", "seconds", "cost_usd", "finish",
    )  # fmt: skip


def row_from_events(problem: Problem, strategy: str, n: int, events: Sequence[Event]) -> BatchRow:
    ledger = Ledger.from_events(events).total
    chosen = next((e for e in events if isinstance(e, AnswerChosen)), None)
    finished = next((e for e in events if isinstance(e, RunFinished)), None)
    return BatchRow(
        problem_id=problem.id,
        difficulty=problem.difficulty,
        strategy=strategy,
        budget=n,
        answer=chosen.answer if chosen else None,
        correct=chosen.correct if chosen else None,
        input_tokens=ledger.input_tokens,
        output_tokens=ledger.output_tokens,
        seconds=round(ledger.seconds, 3),
        cost_usd=ledger.cost_usd,
        finish=finished.reason if finished else "stopped",
        any_correct=any_correct(problem, events, chosen.correct if chosen else None),
        events=tuple(events),
    )


def any_correct(problem: Problem, events: Sequence[Event], chosen: bool | None) -> bool | None:
    """Whether some answer the run wrote is right (pass@N); None without a reference."""
    if chosen:
        return True
    answers = {e.answer for e in events if isinstance(e, NodeAdded) and e.answer is not None}
    graded = [problem.grade(a) for a in answers]
    if problem.grade(None) is None:
        return None
    return any(graded)


def run_batch(
    problems: Sequence[Problem],
    strategies: Sequence[str],
    budgets: Sequence[int],
    provider: Provider,
    verifier: Verifier,
    base: Budget,
    on_event: Callable[[Event], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    concurrency: int = 1,
) -> Iterator[BatchRow]:
    """Yield one row per (problem, strategy, budget); direct and chain of thought once, at n=1.

    `should_stop` goes to each run, which then ends cleanly before its next model call. With
    `concurrency` > 1 (API servers: the serving stack behind the URL spreads the load) that many
    runs go at once; rows still come in cell order, each run is seeded as in a sequential batch,
    and `on_event` is not called (runs interleave)."""
    cells = [
        (problem, strategy, n)
        for problem in problems
        for strategy in strategies
        for n in budgets_for(strategy, budgets)
    ]

    def run(cell: tuple[Problem, str, int], emit: Callable[[Event], None] | None) -> BatchRow:
        problem, strategy, n = cell
        events = []
        budget = replace(base, n=n)
        for event in STRATEGIES[strategy](problem, provider, verifier, budget, should_stop):
            events.append(event)
            if emit is not None:
                emit(event)
        return row_from_events(problem, strategy, n, events)

    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
    if concurrency == 1:
        for cell in cells:
            yield run(cell, on_event)
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        yield from pool.map(lambda cell: run(cell, None), cells)


@dataclass(frozen=True)
class Summary:
    strategy: str
    budget: int
    problems: int
    solved: int
    accuracy: float | None  # None when no problem had a reference answer
    mean_output_tokens: float
    mean_seconds: float
    total_cost_usd: float | None
    cost_per_solved_usd: float | None
    unanswered: int = 0  # runs that stated no answer (counted as unsolved)
    # Problems where some answer written was right: the ceiling a better verifier could reach.
    pass_at_n: float | None = None


def summarize(rows: Sequence[BatchRow]) -> list[Summary]:
    """Accuracy and cost per problem solved for each strategy and budget."""
    out = []
    key = lambda r: (r.strategy, r.budget)  # noqa: E731
    for (strategy, budget), group in groupby(sorted(rows, key=key), key=key):
        group = list(group)
        graded = [r for r in group if r.correct is not None]
        solved = sum(1 for r in graded if r.correct)
        costs = [r.cost_usd for r in group]
        total = None if any(c is None for c in costs) else sum(costs)
        out.append(
            Summary(
                strategy=strategy,
                budget=budget,
                problems=len(group),
                solved=solved,
                accuracy=solved / len(graded) if graded else None,
                mean_output_tokens=sum(r.output_tokens for r in group) / len(group),
                mean_seconds=sum(r.seconds for r in group) / len(group),
                total_cost_usd=total,
                cost_per_solved_usd=cost_per_solved(total, solved),
                unanswered=sum(1 for r in group if r.answer is None),
                pass_at_n=_share([r.any_correct for r in group if r.any_correct is not None]),
            )
        )
    return out


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def rows_to_csv(rows: Sequence[BatchRow]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=BatchRow.CSV_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: getattr(row, name) for name in BatchRow.CSV_FIELDS})
    return buffer.getvalue()


def summary_to_csv(summaries: Sequence[Summary]) -> str:
    buffer = io.StringIO()
    names = [f.name for f in fields(Summary)]
    writer = csv.DictWriter(buffer, fieldnames=names)
    writer.writeheader()
    for summary in summaries:
        writer.writerow(asdict(summary))
    return buffer.getvalue()
