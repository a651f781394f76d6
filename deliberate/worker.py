"""Background runs: a strategy (or a whole batch) iterated in a thread that a page can poll.

A Streamlit rerun would kill a strategy running inside the script, so runs live in daemon
threads and the page only reads their growing event list. Stop sets a flag that the strategy
reads before each model call: the call in progress finishes (its text keeps streaming), its nodes
and costs land, and the run ends with `RunFinished("stopped")`, everything kept. Any exception becomes `RunFinished("error", message)`: a sentence, not a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from core.budget import Budget
from core.events import Event, RunFinished, RunStarted
from core.problems.base import Problem
from core.providers.base import Provider
from core.verifiers.base import Verifier
from deliberate.batch import BatchRow, run_batch
from deliberate.runstore import RunStore
from strategies import ONE_GENERATION, STRATEGIES, budgets_for

log = logging.getLogger(__name__)

# Builds the backend inside the worker thread: loading a model must not block the page.
Backend = Callable[[], tuple[Provider, Verifier]]


def user_message(exc: BaseException) -> str:
    """What a user reads when a run fails; the traceback goes to the server log only."""
    text = str(exc).strip()
    if isinstance(exc, (ValueError, RuntimeError, OSError, KeyError)) and text:
        return text
    return f"the run failed unexpectedly ({type(exc).__name__}: {text or 'no details'})"


class RunWorker:
    """One strategy run in a daemon thread; `events()` is the stream so far."""

    def __init__(
        self,
        make_events: Callable[[Callable[[], bool]], Iterator[Event]],
        store: RunStore | None = None,
        source: str = "live",
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._make_events = make_events
        self._store = store
        self._source = source
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"run-{self.id}", daemon=True)
        self.saved_run_id: str | None = None
        self.save_error: str | None = None

    def start(self) -> RunWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop after the model call in progress."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def events(self, start: int = 0) -> list[Event]:
        """A copy of the events from index `start` on."""
        with self._lock:
            return self._events[start:]

    def _append(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def _run(self) -> None:
        stream: Iterator[Event] | None = None
        try:
            # The strategy asks `stopping` before each model call and ends cleanly, so the call in
            # progress still lands with its nodes and costs.
            stream = self._make_events(self._stop.is_set)
            for event in stream:
                self._append(event)
        except Exception as exc:  # the thread's last resort: the page must get a message
            log.exception("run %s failed", self.id)
            self._append(RunFinished("error", user_message(exc)))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # a generator closed mid-run unwinds without emitting more events
        events = self.events()
        if not events or not isinstance(events[-1], RunFinished):
            steps = sum(e.kind == "node_added" for e in events)
            self._append(RunFinished("stopped", f"stopped by you after {steps} steps; all kept"))
        self._save()

    def _save(self) -> None:
        events = self.events()
        if self._store is None or not any(isinstance(e, RunStarted) for e in events):
            return
        try:
            self.saved_run_id = self._store.save_run(events, self._source)
        except Exception as exc:  # the run itself is intact in memory; say why it isn't stored
            log.exception("saving run %s failed", self.id)
            self.save_error = user_message(exc)


def start_run(
    strategy: str,
    problem: Problem,
    backend: Backend,
    budget: Budget,
    store: RunStore | None = None,
    source: str = "live",
) -> RunWorker:
    """Start `strategy` on `problem` in the background."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {sorted(STRATEGIES)}")

    def make_events(should_stop: Callable[[], bool]) -> Iterator[Event]:
        provider, verifier = backend()
        return STRATEGIES[strategy](problem, provider, verifier, budget, should_stop)

    return RunWorker(make_events, store, source).start()


class _BatchStopped(Exception):
    pass


def run_weight(strategy: str, n: int) -> int:
    """Relative cost of one run, for the remaining-time estimate: one greedy generation is one call."""
    return 1 if strategy in ONE_GENERATION else n


class BatchWorker:
    """Problems x strategies x budgets in a daemon thread; rows are stored as they finish."""

    def __init__(
        self,
        problems: Sequence[Problem],
        strategies: Sequence[str],
        budgets: Sequence[int],
        backend: Backend,
        base: Budget,
        store: RunStore | None = None,
        label: str = "",
    ) -> None:
        for n in budgets:
            replace(base, n=n)  # validate every budget before any compute is spent
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
        if not problems or not strategies or not budgets:
            raise ValueError("a batch needs at least one problem, one strategy and one budget")
        self.problems, self.strategies, self.budgets = (
            list(problems),
            list(strategies),
            list(budgets),
        )
        self._backend, self._base, self._store = backend, base, store
        per_problem = [(s, n) for s in strategies for n in budgets_for(s, budgets)]
        self.total_runs = len(problems) * len(per_problem)
        self.total_weight = len(problems) * sum(run_weight(s, n) for s, n in per_problem)
        self.status = "running"
        self.message = ""
        self.batch_id: str | None = None
        if store is not None:
            config = {
                "problems": [p.id for p in problems],
                "strategies": self.strategies,
                "budgets": self.budgets,
                "base": base.to_dict(),
            }
            self.batch_id = store.create_batch(label or f"{len(problems)} problems", config)
        self._rows: list[BatchRow] = []
        self._current: list[Event] = []
        self._done_weight = 0
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batch", daemon=True)

    def start(self) -> BatchWorker:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def rows(self) -> list[BatchRow]:
        with self._lock:
            return list(self._rows)

    @property
    def fraction(self) -> float:
        """Share of the work done, weighted by budget."""
        return min(1.0, self._done_weight / self.total_weight)

    def seconds_left(self) -> float | None:
        """Remaining time extrapolated from the pace so far; None before the first run ends."""
        if not self._done_weight:
            return None
        elapsed = time.monotonic() - self._started
        return elapsed / self._done_weight * (self.total_weight - self._done_weight)

    def _on_event(self, event: Event) -> None:
        self._current.append(event)
        # The run in progress ends cleanly at its next model call (should_stop); the batch
        # stops once it has, so that run keeps every call it paid for.
        if self._stop.is_set() and isinstance(event, RunFinished):
            raise _BatchStopped

    def _keep(self, row: BatchRow) -> None:
        run_id = None
        if self._store is not None:
            run_id = self._store.save_run(row.events, "batch")
            self._store.add_batch_row(self.batch_id or "", row, run_id)
        with self._lock:
            self._rows.append(replace(row, events=()))  # events live in the store, not in memory
        self._done_weight += run_weight(row.strategy, row.budget)
        self._current = []

    def _run(self) -> None:
        rows = None
        try:
            provider, verifier = self._backend()
            rows = run_batch(
                self.problems,
                self.strategies,
                self.budgets,
                provider,
                verifier,
                self._base,
                on_event=self._on_event,
                should_stop=self._stop.is_set,
            )
            for row in rows:
                self._keep(row)
            self.status = "complete"
        except _BatchStopped:
            self.status = "stopped"
            self.message = f"stopped by you after {len(self._rows)} of {self.total_runs} runs"
        except Exception as exc:
            log.exception("batch failed")
            self.status, self.message = "error", user_message(exc)
        finally:
            if rows is not None:
                rows.close()
        self._save_partial_run()
        if self._store is not None and self.batch_id is not None:
            self._store.finish_batch(self.batch_id, self.status, self.message)

    def _save_partial_run(self) -> None:
        """The run cut short by Stop or an error is kept for replay, like any other run."""
        events = self._current
        if self._store is None or not any(isinstance(e, RunStarted) for e in events):
            return
        if not isinstance(events[-1], RunFinished):
            reason = "error" if self.status == "error" else "stopped"
            events = [*events, RunFinished(reason, self.message)]
        self._store.save_run(events, "batch")
