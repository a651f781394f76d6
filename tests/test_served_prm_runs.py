"""Whole runs scored by a served PRM on a fake vLLM server: scores, ledger, failures, the CLI."""

from core.budget import Budget
from core.events import AnswerChosen, RunFinished, StepScored, UsageRecorded, from_json_lines
from core.ledger import Ledger
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree
from core.verifiers import make_verifier
from core.verifiers.served import MAX_FAILURES, PrmServer
from deliberate.cli import main
from strategies import STRATEGIES
from tests.fake_api_server import FakeApiServer, Reply
from tests.test_served_prm import pooling_reply

TINY = Budget(n=2, width=2, max_depth=3, step_tokens=40, max_total_tokens=600, seed=7)
PRM = "Qwen/Qwen2.5-Math-PRM-7B"


def every_step_right(payload, number):
    """A PRM that gives every step P(right) = 0.75 and bills 100 prompt tokens."""
    steps = payload["messages"][2]["content"].count("<extra_0>")
    return pooling_reply([[0.25, 0.75]] * steps, prompt_tokens=100)


def run(strategy, problem, verifier_name, url, budget=TINY):
    provider = FakeProvider()
    verifier = make_verifier(verifier_name, provider, PrmServer(url, PRM, timeout=2))
    return list(STRATEGIES[strategy](problem, provider, verifier, budget))


def test_beam_search_scored_by_a_served_prm_ledgers_its_calls_as_verification(pens):
    with FakeApiServer(every_step_right) as fake:
        events = run("beam_search", pens, "served_prm", fake.url)
    scored = [e for e in events if isinstance(e, StepScored)]
    assert scored and {(e.score, e.verifier) for e in scored} == {(0.75, "served_prm")}
    verify = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert len(verify) == len(fake.received)
    assert {(e.model, e.input_tokens, e.output_tokens, e.cost_usd) for e in verify} == {
        (PRM, 100, 0, None)  # no PRM price given: the cost is unknown, never $0
    }
    assert Ledger.from_events(events).roles["verify"].input_tokens == 100 * len(verify)
    assert isinstance(events[-1], RunFinished)


def test_best_of_n_scores_each_sample_with_one_prm_call(pens):
    with FakeApiServer(every_step_right) as fake:
        events = run("best_of_n", pens, "served_prm", fake.url)
    samples = [e for e in events if isinstance(e, StepScored)]
    assert len(samples) == 2 and len(fake.received) == 2  # prefixes reuse the whole path's call
    assert all(e.score == 0.75 and set(e.step_scores) == {0.75} for e in samples)


def test_a_failing_prm_leaves_steps_unscored_and_the_run_finishes(pens):
    with FakeApiServer(lambda payload, number: Reply(status=503, body="overloaded")) as fake:
        events = run("beam_search", pens, "served_prm", fake.url)
    scored = [e for e in events if isinstance(e, StepScored)]
    assert scored and all(e.score is None for e in scored)
    assert scored[0].detail == f"score unavailable: HTTP 503 from {fake.url}/pooling: overloaded"
    assert "no longer called" in scored[-1].detail
    assert len(fake.received) == MAX_FAILURES
    assert sum(isinstance(e, AnswerChosen) for e in events) == 1
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "complete"
    tree = ReasoningTree.from_events(events)
    assert tree.graph.nodes[scored[0].node_id]["score"] is None


def test_a_combination_keeps_each_parts_model_in_the_ledger(pens):
    with FakeApiServer(every_step_right) as fake:
        events = run("best_of_n", pens, "served_prm+arithmetic", fake.url)
    verify = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert verify and {e.model for e in verify} == {PRM}
    scored = [e for e in events if isinstance(e, StepScored)]
    assert {e.verifier for e in scored} == {"served_prm+arithmetic"}
    assert all(
        "served_prm: Qwen/Qwen2.5-Math-PRM-7B: P(step right) = 0.75" in e.detail for e in scored
    )


def test_cli_runs_with_a_served_prm_named_by_url_and_model(capsys):
    with FakeApiServer(every_step_right) as fake:
        argv = ["run", "--provider", "fake", "--strategy", "best_of_n", "--n", "2", "--jsonl",
                "--verifier", "served_prm", "--prm-url", fake.url, "--prm-model", PRM,
                "--prm-price", "1, 0"]  # fmt: skip
        assert main(argv) == 0
    events = from_json_lines(capsys.readouterr().out.splitlines())
    verify = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert [(e.model, e.input_tokens, e.cost_usd) for e in verify] == [(PRM, 100, 0.0001)] * 2


def test_cli_refuses_a_served_prm_without_its_server(capsys):
    argv = ["run", "--provider", "fake", "--verifier", "shepherd_prm"]
    assert main(argv) == 2
    assert "needs its PRM server: its URL and model name" in capsys.readouterr().err


def test_cli_refuses_an_unknown_verifier_in_a_combination(capsys):
    try:
        main(["run", "--provider", "fake", "--verifier", "program>oracle"])
    except SystemExit as exit:
        assert exit.code == 2
    assert "unknown verifier 'oracle' in 'program>oracle'" in capsys.readouterr().err
