"""Running a batch's cells: one at a time or several at once, under a dollar cap for the batch.

A cell is one (problem, strategy, budget) run. Every cell is seeded from the same base budget, so
its result does not depend on which cells ran before it or beside it: a batch run with any
concurrency, or interrupted and resumed, gives the rows of one sequential run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from core.budget import Budget
from core.events import Event, RunFinished, UsageRecorded
from core.problems.base import Problem
from core.providers.base import Provider, Usage
from core.verifiers.base import Verifier
from deliberate.batch import BatchRow, row_from_events
from strategies import STRATEGIES, budgets_for


@dataclass(frozen=True)
class Cell:
    index: int  # position in the batch's cell order: problems, then strategies, then budgets
    problem: Problem
    strategy: str
    n: int


def batch_cells(
    problems: Sequence[Problem], strategies: Sequence[str], budgets: Sequence[int]
) -> list[Cell]:
    """Every (problem, strategy, budget) in order; direct and chain of thought once, at n=1."""
    triples = [
        (problem, strategy, n)
        for problem in problems
        for strategy in strategies
        for n in budgets_for(strategy, budgets)
    ]
    return [Cell(i, *triple) for i, triple in enumerate(triples)]


class BatchCap:
    """Dollars a batch's runs have spent so far, against an optional cap; shared across threads."""

    def __init__(self, dollars: float | None = None, spent: float = 0.0) -> None:
        if dollars is not None and dollars <= 0:
            raise ValueError(f"the batch cap must be more than $0 (got {dollars})")
        self.dollars = dollars
        self._spent = spent
        self._lock = threading.Lock()

    def add(self, dollars: float | None) -> None:
        with self._lock:
            self._spent += dollars or 0.0

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    @property
    def reached(self) -> bool:
        return self.dollars is not None and self.spent >= self.dollars

    def check_price(self, provider: Provider) -> None:
        """Refuse a cap on a model whose price is unknown: its spending cannot be counted."""
        if self.dollars is not None and provider.cost(Usage(1, 1)) is None:
            raise ValueError(
                f"a batch cap is set but the price of {provider.model} is unknown, so its "
                "spending cannot be counted: set the model's price to use a cap"
            )


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    row: BatchRow  # with the run's events

    @property
    def complete(self) -> bool:
        """False when Stop or the batch cap cut the run short: not a result, to run again."""
        return self.row.finish != "stopped"


def run_cells(
    cells: Sequence[Cell],
    provider: Provider,
    verifier: Verifier,
    base: Budget,
    *,
    concurrency: int = 1,
    should_stop: Callable[[], bool] | None = None,
    cap: BatchCap | None = None,
) -> Iterator[CellResult]:
    """Run `cells`, at most `concurrency` at once; yield each result as its run ends.

    Once `should_stop` says yes or `cap` is reached, no new cell starts and the running ones end
    before their next model call (calls already out finish and are paid for, so spending can
    pass the cap by what they cost). Closing the iterator early stops the running cells the
    same way and waits for them. Raises ValueError for a concurrency below 1.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
    cap = cap or BatchCap()
    closed = threading.Event()

    def stopping() -> bool:
        return closed.is_set() or cap.reached or (should_stop is not None and should_stop())

    def run(cell: Cell) -> CellResult:
        events: list[Event] = []
        budget = replace(base, n=cell.n)
        runner = STRATEGIES[cell.strategy](cell.problem, provider, verifier, budget, stopping)
        for event in runner:
            if isinstance(event, UsageRecorded):
                cap.add(event.cost_usd)
            events.append(event)
        if cap.reached and isinstance(events[-1], RunFinished) and events[-1].reason == "stopped":
            events[-1] = RunFinished("stopped", f"stopped at the batch's ${cap.dollars:g} cap")
        return CellResult(cell, row_from_events(cell.problem, cell.strategy, cell.n, events))

    waiting = list(reversed(cells))
    if concurrency == 1:
        while waiting and not stopping():
            yield run(waiting.pop())
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cell")
    going: set[Future[CellResult]] = set()
    try:
        while True:
            while waiting and len(going) < concurrency and not stopping():
                going.add(pool.submit(run, waiting.pop()))
            if not going:
                return
            done, going = wait(going, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: f.result().cell.index):
                yield future.result()
    finally:
        closed.set()  # an early close or an error: the cells still running end at their next call
        pool.shutdown(wait=True, cancel_futures=True)


def run_batch(
    problems: Sequence[Problem],
    strategies: Sequence[str],
    budgets: Sequence[int],
    provider: Provider,
    verifier: Verifier,
    base: Budget,
    should_stop: Callable[[], bool] | None = None,
    concurrency: int = 1,
    max_batch_dollars: float | None = None,
) -> Iterator[BatchRow]:
    """Yield one row per (problem, strategy, budget), in cell order whatever the concurrency.

    Runs cut short by `should_stop` or the batch cap (`max_batch_dollars`, see `run_cells`)
    give no row. With concurrency > 1 (API servers: the serving stack behind the URL spreads the
    load) a finished row waits for the cells before it."""
    cap = BatchCap(max_batch_dollars)
    cap.check_price(provider)
    ready: dict[int, CellResult] = {}
    cells = batch_cells(problems, strategies, budgets)
    following = 0
    results = run_cells(
        cells, provider, verifier, base, concurrency=concurrency, should_stop=should_stop, cap=cap
    )
    for result in results:
        ready[result.cell.index] = result
        while following in ready:
            if (now := ready.pop(following)).complete:
                yield now.row
            following += 1
    for index in sorted(ready):
        if ready[index].complete:
            yield ready[index].row
