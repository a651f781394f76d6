"""The command line: run, JSONL events, replay to the identical tree, batch CSV, clear errors."""

import csv
import re
import sys

from core.budget import Budget
from core.events import from_json_lines
from core.tree import ReasoningTree
from deliberate.cli import main
from strategies.steps import is_lead_in

TINY = Budget(n=4, max_depth=3, step_tokens=40, seed=5)


def test_jsonl_run_replays_to_the_identical_tree(tmp_path, capsys):
    assert (
        main(["run", "--provider", "fake", "--strategy", "beam_search", "--n", "4", "--jsonl"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    events = from_json_lines(lines)
    log = tmp_path / "run.jsonl"
    log.write_text("\n".join(lines), encoding="utf-8")
    assert main(["replay", str(log)]) == 0
    printed = capsys.readouterr().out
    tree = ReasoningTree.from_events(events)
    assert f"ANSWER: {tree.chosen.answer}" in printed
    assert "pruned" in printed
    steps = [line for line in printed.splitlines() if re.match(r"^\s+n\d+ \(", line)]
    assert len(steps) == len(tree) - 1  # every step appears once, indented under its parent


def test_batch_writes_csv_and_summary(tmp_path, capsys):
    out = tmp_path / "results.csv"
    argv = ["batch", "--provider", "fake", "--set", "curated", "--size", "2",
            "--strategies", "direct,best_of_n", "--budgets", "1,2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * (1 + 2)  # direct once per problem, best_of_n at each budget
    assert {r["strategy"] for r in rows} == {"direct", "best_of_n"}
    assert "cost/solved" in capsys.readouterr().out


def test_bad_input_gives_a_clear_error_not_a_traceback(capsys):
    assert main(["run", "--provider", "fake", "--question", ""]) == 2
    assert "problem text is empty" in capsys.readouterr().err
    assert main(["run", "--provider", "fake", "--n", "1000000000"]) == 2
    assert "budget n must be between" in capsys.readouterr().err


def test_an_api_provider_missing_its_url_or_key_says_which(capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delitem(sys.modules, "streamlit", raising=False)  # no secrets to fall back on
    assert main(["run", "--provider", "openai_compatible"]) == 2
    assert "needs --base-url" in capsys.readouterr().err
    assert main(["run", "--provider", "anthropic"]) == 2
    assert "needs an API key in ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_lead_in_steps_are_recognised():
    assert is_lead_in("To find the total, we follow these steps:")
    assert is_lead_in("**Step 2: Find the price per pen.**")
    assert not is_lead_in("Step 1: 9 × 6 = 54.")
    assert not is_lead_in("So the answer is \\boxed{5}.")


def test_a_spending_cap_set_on_the_command_line_is_enforced(capsys):
    # The fake model has no price, so no call can be proven to stay under a cap: none goes out.
    argv = ["run", "--provider", "fake", "--strategy", "best_of_n", "--max-dollars", "0.01"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "FINISHED: spend_cap" in printed and "price is unknown" in printed
    assert "ANSWER: no answer" in printed


def test_batch_rows_know_whether_some_answer_was_right(pens):
    from core.providers.fake import FakeProvider
    from core.verifiers.arithmetic import ArithmeticChecker
    from deliberate.batch import summarize
    from deliberate.sweep import run_batch

    rows = list(run_batch([pens], ["best_of_n"], [4], FakeProvider(), ArithmeticChecker(), TINY))
    (row,) = rows
    written = {e.answer for e in row.events if getattr(e, "answer", None) is not None}
    assert row.any_correct == any(pens.grade(a) for a in written)
    (summary,) = summarize(rows)
    assert summary.pass_at_n == float(row.any_correct)
    assert summary.pass_at_n >= summary.accuracy  # a verifier cannot beat the best sample
