"""Batches: problems x strategies x budgets, each run folded into one result row."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import groupby

from core.events import AnswerChosen, Event, NodeAdded, RunFinished
from core.ledger import Ledger, cost_per_solved
from core.problems.base import Problem


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
