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
from typing import Any

from core.budget import Budget
from core.events import Event, RunFinished, RunStarted
from core.problems.base import Problem
from core.problems.catalog import problem_from_record, problem_record
from core.providers.base import Provider
from core.verifiers.base import Verifier
from deliberate.batch import BatchRow
from deliberate.runstore import RunStore
from deliberate.sweep import BatchCap, CellResult, batch_cells, run_cells
from strategies import ONE_GENERATION, STRATEGIES

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


def run_weight(strategy: str, n: int) -> int:
    """Relative cost of one run, for the remaining-time estimate: one greedy generation is one call."""
    return 1 if strategy in ONE_GENERATION else n


class BatchWorker:
    """Problems x strategies x budgets in a daemon thread; each row is stored as its run ends.

    `concurrency` runs go at once (API servers; the embedded model serves one at a time);
    `max_batch_dollars` caps the whole batch's spending (see `deliberate.sweep.run_cells`);
    `setup` (provider, model and verifier in words, never a key) is stored with the batch so
    that `BatchWorker.resume` can check or rebuild them. Runs cut short by Stop or the cap are
    stored for Replay but give no row: a resume runs those cells again.
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        strategies: Sequence[str],
        budgets: Sequence[int],
        backend: Backend,
        base: Budget,
        store: RunStore | None = None,
        label: str = "",
        *,
        concurrency: int = 1,
        max_batch_dollars: float | None = None,
        setup: dict[str, Any] | None = None,
        resume_id: str | None = None,
    ) -> None:
        for n in budgets:
            replace(base, n=n)  # validate every budget before any compute is spent
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
        if not problems or not strategies or not budgets:
            raise ValueError("a batch needs at least one problem, one strategy and one budget")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        self.cap = BatchCap(max_batch_dollars)
        self.concurrency = concurrency
        self.cells = batch_cells(problems, strategies, budgets)
        self.total_runs = len(self.cells)
        self.total_weight = sum(run_weight(c.strategy, c.n) for c in self.cells)
        self._backend, self._base, self._store = backend, base, store
        self.status = "running"
        self.message = ""
        self.batch_id: str | None = resume_id
        self._rows: dict[int, BatchRow] = {}
        if resume_id is not None and store is not None:
            stored = store.load_batch_rows(resume_id)
            self._rows = dict(zip(store.batch_seqs(resume_id), stored, strict=True))
            self.cap.add(sum(r.cost_usd or 0.0 for r in stored))
            store.reopen_batch(resume_id)
        elif store is not None:
            config = {
                "problems": [p.id for p in problems],
                "problem_records": [problem_record(p) for p in problems],
                "strategies": list(strategies),
                "budgets": list(budgets),
                "base": base.to_dict(),
                "concurrency": concurrency,
                "max_batch_dollars": max_batch_dollars,
                "setup": setup or {},
            }
            self.batch_id = store.create_batch(label or f"{len(problems)} problems", config)
        self._done_weight = sum(run_weight(r.strategy, r.budget) for r in self._rows.values())
        self._new_weight = 0
        self._cut = 0
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batch", daemon=True)

    @classmethod
    def resume(
        cls,
        store: RunStore,
        batch_id: str,
        backend: Backend,
        *,
        concurrency: int | None = None,
        max_batch_dollars: float | None = None,
        setup: dict[str, Any] | None = None,
    ) -> BatchWorker:
        """A worker for the cells of stored batch `batch_id` that have no row yet, with its
        stored problems, strategies, budgets and seeds (start it to run them).

        `concurrency` and `max_batch_dollars` default to the stored ones; a `setup` that differs
        from the stored one (another provider, model or verifier) is refused with ValueError, as
        is a batch stored before batches could resume; KeyError for an unknown batch."""
        config = store.batch(batch_id).config
        if "problem_records" not in config:
            raise ValueError(f"batch {batch_id} was stored before batches could resume")
        ran_on = config.get("setup") or {}
        differ = {k for k in ran_on.keys() & (setup or {}).keys() if ran_on[k] != setup[k]}
        if differ:
            was = ", ".join(f"{k} {ran_on[k]}" for k in sorted(differ))
            raise ValueError(f"this batch ran with {was}: choose the same to resume it")
        return cls(
            [problem_from_record(r) for r in config["problem_records"]],
            config["strategies"],
            config["budgets"],
            backend,
            Budget(**config["base"]),
            store,
            concurrency=concurrency or config.get("concurrency") or 1,
            max_batch_dollars=(
                config.get("max_batch_dollars") if max_batch_dollars is None else max_batch_dollars
            ),
            resume_id=batch_id,
        )

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
        """The rows so far (stored ones of a resumed batch included), in cell order."""
        with self._lock:
            return [self._rows[i] for i in sorted(self._rows)]

    @property
    def fraction(self) -> float:
        """Share of the work done, weighted by budget."""
        return min(1.0, self._done_weight / self.total_weight)

    def seconds_left(self) -> float | None:
        """Remaining time extrapolated from this worker's pace; None before its first run ends."""
        if not self._new_weight:
            return None
        elapsed = time.monotonic() - self._started
        return elapsed / self._new_weight * (self.total_weight - self._done_weight)

    def _keep(self, result: CellResult) -> None:
        row, run_id = result.row, None
        if self._store is not None and any(isinstance(e, RunStarted) for e in row.events):
            run_id = self._store.save_run(row.events, "batch")  # cut runs too, for Replay
        if not result.complete:
            self._cut += 1
            return
        if self._store is not None:
            self._store.add_batch_row(self.batch_id or "", row, run_id, seq=result.cell.index)
        with self._lock:
            self._rows[result.cell.index] = replace(row, events=())  # events live in the store
        weight = run_weight(row.strategy, row.budget)
        self._done_weight += weight
        self._new_weight += weight

    def _outcome(self) -> tuple[str, str]:
        done = len(self._rows)
        if done == self.total_runs:
            return "complete", ""
        cut = ""
        if self._cut:
            runs = "1 run cut short is" if self._cut == 1 else f"{self._cut} runs cut short are"
            cut = f"; {runs} kept in Replay"
        if self.cap.reached:
            return "stopped", (
                f"stopped at the ${self.cap.dollars:g} batch cap after {done} of "
                f"{self.total_runs} cells (${self.cap.spent:.4f} spent{cut})"
            )
        return "stopped", f"stopped by you after {done} of {self.total_runs} runs{cut}"

    def _run(self) -> None:
        todo = [cell for cell in self.cells if cell.index not in self._rows]
        results = None
        try:
            provider, verifier = self._backend()
            self.cap.check_price(provider)
            results = run_cells(
                todo,
                provider,
                verifier,
                self._base,
                concurrency=self.concurrency,
                should_stop=self._stop.is_set,
                cap=self.cap,
            )
            for result in results:
                self._keep(result)
            self.status, self.message = self._outcome()
        except Exception as exc:
            log.exception("batch failed")
            self.status, self.message = "error", user_message(exc)
        finally:
            if results is not None:
                results.close()
        if self._store is not None and self.batch_id is not None:
            self._store.finish_batch(self.batch_id, self.status, self.message)
