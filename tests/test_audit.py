"""The verifier audit: pass@N, selection accuracy, AUROC, inversions, and re-scoring."""

import pytest

from core.events import AnswerChosen, NodeAdded, RunStarted, StepScored
from deliberate.audit import audit, auroc, candidates, split_runs
from deliberate.cli import main


def run(run_id, answers, scores, chosen):
    events = [RunStarted(run_id, "best_of_n", "q", "29", "fake", "m", "arithmetic")]
    for i, (answer, score) in enumerate(zip(answers, scores, strict=True)):
        events += [NodeAdded(f"n{i}", "root", f"\\boxed{{{answer}}}", "sample", 3, answer)]
        events += [StepScored(f"n{i}", score, "arithmetic")]
    events.append(AnswerChosen(f"n{chosen}", answers[chosen], answers[chosen] == "29"))
    return events


def test_auroc_counts_pairs_and_ties_half():
    assert auroc([(0.9, True), (0.1, False)]) == 1.0
    assert auroc([(0.1, True), (0.9, False)]) == 0.0
    assert auroc([(0.5, True), (0.5, False)]) == 0.5
    assert auroc([(0.5, True)]) is None


def test_the_audit_finds_what_the_verifier_got_wrong():
    runs = [
        run("good", ["29", "30"], [0.9, 0.2], chosen=0),
        run("fooled", ["29", "31"], [0.3, 0.8], chosen=1),  # a wrong answer rated higher
        run("hopeless", ["30", "31"], [0.5, 0.4], chosen=0),  # no right answer to pick
    ]
    result = audit(runs, "arithmetic")
    assert result.runs == 3
    assert result.pass_at_n == pytest.approx(2 / 3)
    assert result.selection_accuracy == pytest.approx(1 / 2)
    assert result.inversions == ("fooled",)
    assert result.auroc == pytest.approx(5 / 8)  # right: .9 .3; wrong: .2 .8 .5 .4


def test_runs_are_cut_at_each_start_and_need_a_reference():
    events = [*run("a", ["29"], [0.9], 0), *run("b", ["30"], [0.1], 0)]
    assert [r[0].run_id for r in split_runs(events)] == ["a", "b"]
    blind = RunStarted("c", "best_of_n", "q", None, "fake", "m", "arithmetic")
    assert candidates([blind]) == []


def test_cli_audit_and_rescoring_with_the_same_verifier_agree(tmp_path, capsys):
    events = tmp_path / "runs.jsonl"
    argv = ["batch", "--provider", "fake", "--set", "curated", "--size", "4",
            "--strategies", "best_of_n", "--budgets", "4", "--out", str(tmp_path / "r.csv"),
            "--events", str(events)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["audit", str(events), "--rescore", "arithmetic", "--provider", "fake"]) == 0
    own, rescored = capsys.readouterr().out.splitlines()[1:3]
    assert own.startswith("arithmetic ") and rescored.startswith("arithmetic (re-scored)")
    assert own.split()[1] == rescored.split()[2] == "4"  # runs audited


def test_rescoring_with_the_runs_own_verifier_reproduces_its_audit(arithmetic):
    from core.budget import Budget
    from core.problems.base import Problem
    from core.providers.fake import FakeProvider
    from deliberate.sweep import run_batch

    def mixed(request, index):  # right, slipped arithmetic, and a wrong answer
        return [
            "Step 1: 7 × 3 = 21.\n\nStep 2: 50 - 21 = 29. \\boxed{29}",
            "Step 1: 7 × 3 = 24.\n\nStep 2: 50 - 24 = 26. \\boxed{26}",
            "Step 1: 7 × 3 = 21.\n\nStep 2: 50 - 21 = 31. \\boxed{31}",
        ][(index + request.seed) % 3]

    problems = [Problem(id=f"p{i}", question=f"pens {i}", answer="29") for i in range(3)]
    rows = run_batch(problems, ["best_of_n"], [3], FakeProvider(mixed), arithmetic, Budget(seed=1))
    runs = [list(row.events) for row in rows]
    own, again = audit(runs, "arithmetic"), audit(runs, "again", arithmetic)
    assert own.auroc is not None and own.auroc == again.auroc
    assert own.pass_at_n == again.pass_at_n == 1.0
    assert own.inversions == again.inversions


def test_a_rescoring_verifier_reports_the_calls_it_made_once_per_question(arithmetic):
    from core.budget import Budget
    from core.problems.base import Problem
    from core.providers.fake import FakeProvider
    from core.verifiers.program import ProgramChecker
    from deliberate.sweep import run_batch

    def solve(request, index):
        if "Python program" in request.messages[0].content:
            return "```python\nanswer = 50 - 7 * 3\n```"
        return "Step 1: 50 - 21 = 29. \\boxed{29}" if index % 2 else "So \\boxed{31}"

    problems = [Problem(id=f"p{i}", question=f"pens {i}", answer="29") for i in range(3)]
    rows = run_batch(problems, ["best_of_n"], [2], FakeProvider(solve), arithmetic, Budget())
    runs = [list(row.events) for row in rows]
    spent: list = []
    program = ProgramChecker(FakeProvider(solve))
    scored = [candidates(run, program, spent) for run in runs]
    assert len(spent) == 3  # one program per question, however many answers it checks
    assert all(call.usage.output_tokens > 0 for call in spent)
    assert [[c.score > 0.5 for c in found] for found in scored] == [[False, True]] * 3
