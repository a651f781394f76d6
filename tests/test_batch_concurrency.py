"""Batches over an API run their cells concurrently, with the same rows as one at a time."""

import csv
import random

import pytest

from deliberate.cli import main
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_openai_provider import chat

ARGS = ["batch", "--provider", "openai_compatible", "--model", "tiny", "--price", "1, 2",
        "--set", "curated", "--size", "8", "--strategies", "direct,self_consistency",
        "--budgets", "2"]  # fmt: skip


def answer_server(delays: random.Random) -> FakeApiServer:
    """Answers depend on the question only; each reply waits a random time, so replies come
    back in a different order than they were sent."""

    def respond(payload, number):
        question = payload["messages"][-1]["content"]
        reply = chat(content=f"The answer is \\boxed{{{len(question) % 7}}}.")
        return Reply(body=reply, delay=delays.uniform(0.0, 0.2))

    return FakeApiServer(respond)


def rows(out) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(out.open())]


def test_concurrent_cells_give_the_rows_of_a_sequential_batch(tmp_path, capsys):
    results = {}
    for concurrency in (1, 8):
        with answer_server(random.Random(concurrency)) as server:
            out = tmp_path / f"c{concurrency}.csv"
            argv = [*ARGS, "--base-url", server.url, "--concurrency", str(concurrency)]
            assert main([*argv, "--out", str(out)]) == 0
            results[concurrency] = (rows(out), server.most_in_flight)
    assert results[8][0] == results[1][0]
    assert len(results[1][0]) == 16
    assert results[1][1] <= 2 < results[8][1]  # one run (its 2 samples at once) vs several


def test_api_keys_never_come_from_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--provider", "openai", "--api-key", "sk-x"])
    assert "unrecognized arguments: --api-key" in capsys.readouterr().err


def test_an_api_provider_without_a_key_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["run", "--provider", "openai", "--strategy", "direct"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
