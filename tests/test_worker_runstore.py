"""The background worker (FakeProvider) and the SQLite run store."""

import sqlite3
import subprocess
import sys
import threading

import pytest

from core.budget import Budget
from core.events import AnswerChosen, NodeAdded, RunFinished, RunStarted, UsageRecorded
from core.providers.base import Completion, GenerationRequest, Provider, ProviderError
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from core.verifiers.arithmetic import ArithmeticChecker
from deliberate.batch import BatchRow
from deliberate.recordings import load_recording, recordings, write_recording
from deliberate.runstore import DB_NAME, RunStore
from deliberate.sweep import run_batch
from deliberate.worker import BatchWorker, RunWorker, start_run
from strategies import STRATEGIES

BUDGET = Budget(n=4, width=2, max_depth=3, step_tokens=32, max_total_tokens=2_000, seed=3)


def fake_backend():
    return FakeProvider(), ArithmeticChecker()


class GatedProvider(FakeProvider):
    """A fake that waits at every call until the test lets it go, so Stop lands mid-run."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = threading.Semaphore(0)
        self.entered = threading.Event()

    def generate(self, request: GenerationRequest) -> list[Completion]:
        self.entered.set()
        assert self.calls.acquire(timeout=10), "the test never released the call"
        return super().generate(request)


class BrokenProvider(Provider):
    name = "broken"
    model = "broken-model"

    def generate(self, request: GenerationRequest) -> list[Completion]:
        raise ProviderError("the backend said no")


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "data")


def test_worker_runs_a_strategy_and_saves_it(store, pens):
    worker = start_run("beam_search", pens, fake_backend, BUDGET, store, source="live")
    assert worker.join(20)
    events = worker.events()
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert events[-1].reason == "complete"
    assert worker.saved_run_id == events[0].run_id
    assert store.load_events(worker.saved_run_id) == events
    (info,) = store.list_runs()
    assert (info.source, info.strategy, info.problem_id) == ("live", "beam_search", "t-pens")
    assert info.nodes == sum(isinstance(e, NodeAdded) for e in events)


def test_stop_keeps_the_partial_run(store, pens):
    provider = GatedProvider()
    worker = start_run("beam_search", pens, lambda: (provider, ArithmeticChecker()), BUDGET, store)
    assert provider.entered.wait(10)
    provider.calls.release()  # the first call (4 beams) completes...
    worker.stop()  # ...and Stop arrives while the run is in the middle of its work
    provider.calls.release(10)  # never block: the run must stop by itself
    assert worker.join(20)
    events = worker.events()
    nodes = [e for e in events if isinstance(e, NodeAdded)]
    assert 0 < len(nodes) < 12
    assert events[-1] == RunFinished(
        "stopped", f"stopped by you after {len(nodes)} steps; all kept"
    )
    # The run ended cleanly between calls: the best answer so far is chosen, and every node
    # that was started was finished and paid for.
    assert sum(isinstance(e, AnswerChosen) for e in events) == 1
    tree = ReasoningTree.from_events(events)
    assert not tree.writing()
    assert not any(d.get("interrupted") for _, d in tree.graph.nodes(data=True))
    billed = {e.node_id for e in events if isinstance(e, UsageRecorded) and e.role == "generate"}
    assert billed == {e.node_id for e in nodes}
    stored = store.load_events(worker.saved_run_id)
    assert stored == events
    assert (
        ReasoningTree.from_events(stored).signature()
        == ReasoningTree.from_events(events).signature()
    )


def test_provider_failure_becomes_a_message_not_a_traceback(store, pens):
    worker = start_run(
        "best_of_n", pens, lambda: (BrokenProvider(), ArithmeticChecker()), BUDGET, store
    )
    assert worker.join(20)
    finished = worker.events()[-1]
    assert finished.reason == "error"
    assert "the backend said no" in finished.message
    assert "Traceback" not in finished.message


def test_a_crash_before_the_run_starts_is_reported(store):
    def explode(should_stop):
        raise RuntimeError("model file missing: reinstall the parts")

    worker = RunWorker(explode, store).start()
    assert worker.join(10)
    assert worker.events() == [RunFinished("error", "model file missing: reinstall the parts")]
    assert worker.saved_run_id is None and store.list_runs() == []


def test_store_round_trips_event_streams_and_speed(store, pens):
    events = list(STRATEGIES["mcts"](pens, FakeProvider(), ArithmeticChecker(), BUDGET))
    run_id = store.save_run(events, "compare")
    assert store.load_events(run_id) == events
    assert store.generation_speed("fake-model") > 0
    assert store.generation_speed("another-model") is None
    with pytest.raises(KeyError):
        store.load_events("nope")
    with pytest.raises(ValueError, match="RunStarted"):
        store.save_run(events[1:], "live")


def test_store_is_shared_by_threads(store, pens):
    streams = [
        list(STRATEGIES["best_of_n"](pens, FakeProvider(), ArithmeticChecker(), BUDGET))
        for _ in range(6)
    ]
    threads = [threading.Thread(target=store.save_run, args=(s, "live")) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.list_runs()) == 6
    assert RunStore(store.directory).list_runs() == store.list_runs()  # a second handle agrees


def test_store_round_trips_batch_results(store, pens):
    rows = list(
        run_batch(
            [pens], ["direct", "best_of_n"], [1, 2], FakeProvider(), ArithmeticChecker(), BUDGET
        )
    )
    batch_id = store.create_batch("test", {"budgets": [1, 2]})
    for row in rows:
        store.add_batch_row(batch_id, row, store.save_run(row.events, "batch"))
    store.finish_batch(batch_id, "complete")
    (info,) = store.list_batches()
    assert (info.label, info.status, info.rows, info.config) == (
        "test",
        "complete",
        3,
        {"budgets": [1, 2]},
    )
    loaded = store.load_batch_rows(batch_id)
    assert loaded == [BatchRow(**{**r.__dict__, "events": ()}) for r in rows]
    assert all(store.load_events(run_id) for run_id in store.batch_run_ids(batch_id))


def test_batch_worker_stores_rows_as_they_finish(store, pens):
    worker = BatchWorker(
        [pens, pens], ["direct", "beam_search"], [1, 2], fake_backend, BUDGET, store
    )
    assert worker.total_runs == 6
    worker.start()
    assert worker.join(30)
    assert worker.status == "complete" and worker.fraction == 1.0
    assert len(worker.rows()) == 6
    assert store.load_batch_rows(worker.batch_id) == worker.rows()
    assert len(store.list_runs(source="batch")) == 6


def test_batch_stop_keeps_finished_rows_and_the_partial_run(store, pens):
    provider = GatedProvider()
    worker = BatchWorker(
        [pens],
        ["direct", "best_of_n"],
        [2, 4],
        lambda: (provider, ArithmeticChecker()),
        BUDGET,
        store,
    ).start()
    provider.calls.release(2)  # direct, then the first best_of_n call
    assert provider.entered.wait(10)
    while len(worker.rows()) < 2:
        assert worker.running
        worker.join(0.05)
    worker.stop()
    provider.calls.release(10)
    assert worker.join(20)
    assert worker.status == "stopped"
    assert [(r.strategy, r.budget) for r in worker.rows()] == [("direct", 1), ("best_of_n", 2)]
    (info,) = store.list_batches()
    assert info.status == "stopped" and info.rows == 2
    finishes = sorted(r.finish for r in store.list_runs(source="batch"))
    assert finishes == ["complete", "complete", "stopped"]


def test_recordings_replay_identically(tmp_path, pens):
    events = list(STRATEGIES["dvts"](pens, FakeProvider(), ArithmeticChecker(), BUDGET))
    path = tmp_path / "demo.jsonl"
    write_recording(events, path)
    assert recordings(tmp_path) == [path]
    assert load_recording(path) == events


def test_shipped_recordings_are_valid_runs():
    shipped = recordings()
    assert len(shipped) >= 2
    for path in shipped:
        events = load_recording(path)
        tree = ReasoningTree.from_events(events)
        assert tree.started is not None and tree.finished is not None and len(tree) > 1, path


def test_two_sessions_share_one_provider_and_both_finish(store, pens):
    """Two browser tabs running at once: one shared provider, two workers, two complete runs."""
    shared = FakeProvider()
    workers = [
        start_run(name, pens, lambda: (shared, ArithmeticChecker()), BUDGET, store)
        for name in ("beam_search", "mcts")
    ]
    assert all(worker.join(30) for worker in workers)
    assert [w.events()[-1].reason for w in workers] == ["complete", "complete"]
    assert {r.strategy for r in store.list_runs()} == {"beam_search", "mcts"}


def test_a_batch_runs_one_generation_strategies_once_and_the_others_at_every_budget(pens):
    rows = run_batch(
        [pens],
        ["direct", "chain_of_thought", "best_of_n"],
        [1, 2, 4],
        FakeProvider(),
        ArithmeticChecker(),
        BUDGET,
    )
    assert [(r.strategy, r.budget) for r in rows] == [
        ("direct", 1),
        ("chain_of_thought", 1),
        ("best_of_n", 1),
        ("best_of_n", 2),
        ("best_of_n", 4),
    ]


def test_a_batch_whose_process_died_is_shown_as_interrupted_with_its_rows(store, pens):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    batch_id = store.create_batch("cut short", {})
    (row,) = run_batch([pens], ["direct"], [1], FakeProvider(), ArithmeticChecker(), BUDGET)
    store.add_batch_row(batch_id, row)
    assert store.list_batches()[0].status == "running"  # this process is alive
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE batches SET pid = ? WHERE batch_id = ?", (dead.pid, batch_id))
    (info,) = store.list_batches()
    assert (info.status, info.rows) == ("interrupted", 1)


def test_a_store_made_before_batches_knew_their_process_still_opens(tmp_path):
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute(
            "CREATE TABLE batches (batch_id TEXT PRIMARY KEY, created REAL NOT NULL, "
            "label TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, "
            "message TEXT NOT NULL DEFAULT '')"
        )
        db.execute("INSERT INTO batches VALUES ('old', 1.0, 'old', '{}', 'running', '')")
    store = RunStore(tmp_path)
    assert [(b.batch_id, b.status) for b in store.list_batches()] == [("old", "running")]
    store.create_batch("new", {})
    assert len(store.list_batches()) == 2
