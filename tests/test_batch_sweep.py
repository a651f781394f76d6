"""Batch sweeps: concurrency that cannot change results, the batch's dollar cap, and resume."""

import csv
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.budget import Budget
from core.problems.base import Problem
from core.providers.base import Completion, GenerationRequest, Price
from core.providers.fake import FakeProvider
from core.verifiers.arithmetic import ArithmeticChecker
from deliberate.cli import main
from deliberate.runstore import RunStore
from deliberate.sweep import BatchCap, batch_cells, run_batch, run_cells
from deliberate.worker import BatchWorker
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_openai_provider import chat

BUDGET = Budget(n=2, width=2, max_depth=3, step_tokens=32, max_total_tokens=2_000, seed=5)
PROBLEMS = [
    Problem(id=f"p{i}", question=f"What is {i} times 7?", answer=str(7 * i)) for i in range(6)
]
STRATEGIES = ["direct", "best_of_n", "beam_search"]
ROOT = Path(__file__).resolve().parent.parent


class JitteryProvider(FakeProvider):
    """The fake, each call held for a random time: runs finish in a scrambled order."""

    def __init__(self, seed: int, most: float = 0.03) -> None:
        super().__init__()
        self._random, self._lock, self.most = random.Random(seed), threading.Lock(), most

    def generate(self, request: GenerationRequest) -> list[Completion]:
        with self._lock:
            delay = self._random.uniform(0.0, self.most)
        time.sleep(delay)
        return super().generate(request)


def bare(rows):
    return [replace(r, events=()) for r in rows]


def test_rows_do_not_depend_on_the_order_runs_finish_in():
    sequential = list(
        run_batch(PROBLEMS, STRATEGIES, [1, 2], FakeProvider(), ArithmeticChecker(), BUDGET)
    )
    cells = batch_cells(PROBLEMS, STRATEGIES, [1, 2])
    finished = [
        result.cell.index
        for result in run_cells(
            cells, JitteryProvider(1), ArithmeticChecker(), BUDGET, concurrency=6
        )
    ]
    assert finished != sorted(finished), "the runs should have finished out of order"
    concurrent = run_batch(
        PROBLEMS, STRATEGIES, [1, 2], JitteryProvider(2), ArithmeticChecker(), BUDGET, concurrency=6
    )
    assert bare(concurrent) == bare(sequential)
    assert len(sequential) == 6 * (1 + 2 + 2)


def test_concurrency_is_bounded():
    in_flight, most, lock = [0], [0], threading.Lock()

    class Counting(FakeProvider):
        def generate(self, request):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.02)
            with lock:
                in_flight[0] -= 1
            return super().generate(request)

    rows = list(
        run_batch(PROBLEMS, ["direct"], [1], Counting(), ArithmeticChecker(), BUDGET, concurrency=3)
    )
    assert len(rows) == 6 and most[0] == 3


def priced(provider: FakeProvider) -> FakeProvider:
    provider.price = Price(1000.0, 1000.0)  # a thousandth of a dollar per token
    return provider


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_batch_cap_stops_new_cells_and_running_ones(tmp_path, concurrency):
    store = RunStore(tmp_path / "store")
    provider = priced(JitteryProvider(3, most=0.01))
    (one_run,) = run_batch(
        PROBLEMS[:1], ["direct"], [1], priced(FakeProvider()), ArithmeticChecker(), BUDGET
    )
    cap = round(one_run.cost_usd * 2.5, 6)  # room for two direct runs and part of a third
    worker = BatchWorker(
        PROBLEMS, ["direct"], [1], lambda: (provider, ArithmeticChecker()), BUDGET, store,
        concurrency=concurrency, max_batch_dollars=cap,
    ).start()  # fmt: skip
    assert worker.join(30)
    rows = worker.rows()
    assert worker.status == "stopped"
    done = len(rows)
    assert 3 <= done < 6  # the third run is paid for when the cap is reached
    assert worker.message.startswith(f"stopped at the ${cap:g} batch cap after {done} of 6 cells")
    spent = sum(r.cost_usd for r in rows)
    assert spent >= cap and worker.cap.spent == pytest.approx(spent)
    assert len(provider.requests) == done  # no cell started once the cap was reached
    (info,) = store.list_batches()
    assert (info.status, info.rows) == ("stopped", done) and info.message == worker.message


def test_a_cap_on_a_model_without_a_price_is_refused(tmp_path):
    worker = BatchWorker(
        PROBLEMS, ["direct"], [1], lambda: (FakeProvider(), ArithmeticChecker()), BUDGET,
        RunStore(tmp_path / "store"), max_batch_dollars=1.0,
    ).start()  # fmt: skip
    assert worker.join(30)
    assert worker.status == "error" and "price of fake-model is unknown" in worker.message
    with pytest.raises(ValueError, match="more than \\$0"):
        BatchCap(0.0)


def test_a_stopped_batch_resumes_to_the_rows_of_an_uninterrupted_one(tmp_path):
    store = RunStore(tmp_path / "store")
    whole = list(run_batch(PROBLEMS, STRATEGIES, [2], FakeProvider(), ArithmeticChecker(), BUDGET))
    provider = JitteryProvider(4, most=0.02)
    first = BatchWorker(
        PROBLEMS, STRATEGIES, [2], lambda: (provider, ArithmeticChecker()), BUDGET, store,
        concurrency=2, setup={"provider": "fake", "model": "fake-model"},
    ).start()  # fmt: skip
    while len(first.rows()) < 4:
        assert first.running, "the batch ended before the test could stop it"
        first.join(0.01)
    first.stop()
    assert first.join(30) and first.status == "stopped"
    kept = len(first.rows())
    assert 4 <= kept < len(whole)
    with pytest.raises(ValueError, match="ran with model fake-model"):
        BatchWorker.resume(store, first.batch_id, FakeProvider, setup={"model": "other"})
    resumed = BatchWorker.resume(
        store, first.batch_id, lambda: (JitteryProvider(5), ArithmeticChecker()),
        setup={"provider": "fake", "model": "fake-model"},
    ).start()  # fmt: skip
    assert resumed.join(30) and resumed.status == "complete"
    assert bare(store.load_batch_rows(first.batch_id)) == bare(whole)
    assert resumed.rows() == bare(whole)
    (info,) = store.list_batches()
    assert info.status == "complete" and info.rows == len(whole)


def slow_server(delay: float) -> FakeApiServer:
    """Answers depend on the question only."""

    def respond(payload, number):
        question = payload["messages"][-1]["content"]
        return Reply(
            body=chat(content=f"The answer is \\boxed{{{len(question) % 7}}}."), delay=delay
        )

    return FakeApiServer(respond)


CLI = ["batch", "--provider", "openai_compatible", "--model", "tiny", "--price", "1, 2",
       "--set", "curated", "--size", "6", "--strategies", "direct,self_consistency",
       "--budgets", "2"]  # fmt: skip


def csv_rows(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(path.open())]


def test_a_killed_batch_process_resumes_where_it_stopped(tmp_path, data_dir):
    """A real crash: the CLI process is killed mid-batch, then `--resume` runs the rest."""
    with slow_server(0.0) as server:
        assert main([*CLI, "--base-url", server.url, "--out", str(tmp_path / "whole.csv")]) == 0
    store = RunStore()
    with slow_server(0.15) as server:
        argv = [*CLI, "--base-url", server.url, "--out", str(tmp_path / "never.csv")]
        env = {**os.environ, "DELIBERATE_DATA_DIR": str(data_dir)}
        process = subprocess.Popen(
            [sys.executable, "-m", "deliberate", *argv], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            batches = [
                b for b in store.list_batches() if "(CLI)" in b.label and b.status == "running"
            ]
            if batches and batches[0].rows >= 3:
                break
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        (killed,) = [b for b in store.list_batches() if b.batch_id == batches[0].batch_id]
        assert killed.status == "interrupted" and 3 <= killed.rows < 12
        out = tmp_path / "resumed.csv"
        assert main(["batch", "--resume", killed.batch_id, "--out", str(out)]) == 0
    assert csv_rows(out) == csv_rows(tmp_path / "whole.csv")
    assert len(csv_rows(out)) == 12


def test_resume_of_an_unknown_batch_is_a_clear_error(capsys):
    assert main(["batch", "--resume", "nope"]) == 2
    assert "no stored batch 'nope'" in capsys.readouterr().err


def test_the_cli_batch_cap(tmp_path, capsys):
    with slow_server(0.0) as server:
        out = tmp_path / "capped.csv"
        argv = [*CLI, "--base-url", server.url, "--out", str(out), "--max-batch-dollars", "0.0002"]
        assert main(argv) == 1
    said = capsys.readouterr().out
    assert "The batch was stopped at the $0.0002 batch cap after" in said
    assert "--resume" in said
    assert 1 <= len(csv_rows(out)) < 12


def test_concurrent_cells_wait_out_429s_instead_of_failing(tmp_path):
    """The first 8 requests are refused with 429 and `retry-after: 1`; the SDK's retries wait
    it out, so every cell of a batch at concurrency 8 still succeeds."""

    def respond(payload, number):
        if number < 8:
            error = {"error": {"message": "Rate limit reached", "type": "requests"}}
            return Reply(429, error, {"retry-after": "1"})
        return Reply(body=chat(content="The answer is \\boxed{3}."))

    with FakeApiServer(respond) as server:
        out = tmp_path / "busy.csv"
        start = time.perf_counter()
        argv = [*CLI, "--strategies", "direct", "--size", "8", "--concurrency", "8"]
        assert main([*argv, "--base-url", server.url, "--out", str(out)]) == 0
        took = time.perf_counter() - start
        asked: dict[str, list[float]] = {}
        for received in server.received:
            asked.setdefault(received.payload["messages"][-1]["content"], []).append(received.at)
    rows = csv_rows(out)
    assert [r["finish"] for r in rows] == ["complete"] * 8
    assert [r["answer"] for r in rows] == ["3"] * 8
    assert sorted(len(times) for times in asked.values()) == [2] * 8  # refused once, then served
    assert min(second - first for first, second in asked.values()) >= 0.95 and took >= 1.0
