"""Adaptive compute: self-consistency that stops once the vote is settled."""

import pytest

from core.budget import Budget
from core.events import AnswerChosen, NodeAdded, Status
from core.providers.fake import FakeProvider
from strategies import STRATEGIES
from strategies.adaptive import (
    BATCH,
    answer_counts,
    beta_rule,
    p_majority_holds,
    settles,
    unanimous_window,
)


def test_the_beta_stopping_rule():
    # Beta(a, b) with whole parameters: P(p1 > p2) is a binomial tail.
    assert p_majority_holds(0, 0) == pytest.approx(0.5)
    assert p_majority_holds(1, 0) == pytest.approx(0.75)
    assert p_majority_holds(4, 0) == pytest.approx(1 - 1 / 32)  # 4 of 4 agree: 0.969
    assert p_majority_holds(3, 0) < 0.95 < p_majority_holds(4, 0)
    assert p_majority_holds(5, 5) == pytest.approx(0.5)


def test_the_stopping_check_groups_equal_answers_and_reads_the_last_batch():
    """The pure check the strategies and benchmarks/adaptive.py's replay share."""
    assert answer_counts(["1/2", "0.5", None, "3", "0.50"]) == [3, 1]
    assert settles(beta_rule, ["1/2", "0.5", "0.50", "1/2"], BATCH, 2)  # 4 of 4: 0.969
    assert not settles(beta_rule, ["1/2", "0.5", "0.50", "3"], BATCH, 2)
    assert settles(unanimous_window, ["3", "1/2", "0.5"], 2, 2)
    assert not settles(unanimous_window, ["1/2", "0.5", None], 2, 2)  # no answer never agrees
    assert not settles(unanimous_window, ["1/2", "0.5"], 2, 1)  # a short last batch: no window


def agreeing(request, index):
    return "Step 1: 7 × 3 = 21. So 50 - 21 = 29. The answer is \\boxed{29}."


def split_vote(request, index):
    return f"The answer is \\boxed{{{[29, 30][(request.seed + index) % 2]}}}."


@pytest.mark.parametrize(
    ("strategy", "used"), [("adaptive_consistency", 4), ("early_stopping_consistency", 2)]
)
def test_an_easy_question_stops_early_and_says_what_it_saved(strategy, used, pens, arithmetic):
    events = list(STRATEGIES[strategy](pens, FakeProvider(agreeing), arithmetic, Budget(n=16)))
    samples = [e for e in events if isinstance(e, NodeAdded)]
    assert len(samples) == used
    chosen = next(e for e in events if isinstance(e, AnswerChosen))
    assert (chosen.answer, chosen.correct) == ("29", True)
    note = [e.text for e in events if isinstance(e, Status)][-1]
    assert note.startswith(f"stopped at {used} of 16 samples") and "saved about" in note


def test_a_split_vote_uses_the_whole_budget(pens, arithmetic):
    events = list(
        STRATEGIES["adaptive_consistency"](pens, FakeProvider(split_vote), arithmetic, Budget(n=6))
    )
    assert sum(isinstance(e, NodeAdded) for e in events) == 6
    assert "never settled" in [e.text for e in events if isinstance(e, Status)][-1]


def test_particle_filtering_resamples_in_proportion_to_prm_weights(pens, arithmetic):
    from core.events import NodePruned, NodeSelected
    from core.tree import ReasoningTree

    budget = Budget(n=6, max_depth=4, step_tokens=40, seed=3)
    events = list(STRATEGIES["particle_filtering"](pens, FakeProvider(), arithmetic, budget))
    tree = ReasoningTree.from_events(events)
    depth_one = list(tree.graph.successors("root"))
    assert len(depth_one) == 6  # every particle wrote a first step
    resampled = [e for e in events if isinstance(e, NodeSelected) and "resampled" in e.reason]
    dropped = [e for e in events if isinstance(e, NodePruned)]
    assert resampled and all(e.node_id in tree.graph for e in resampled + dropped)
    assert next(e for e in events if isinstance(e, AnswerChosen)).node_id is not None
    # The same seed resamples the same way.
    same = list(STRATEGIES["particle_filtering"](pens, FakeProvider(), arithmetic, budget))
    assert ReasoningTree.from_events(same).signature() == tree.signature()


def test_tree_of_thoughts_keeps_the_states_the_model_votes_for(pens, arithmetic):
    from core.events import NodePruned, StepScored, UsageRecorded
    from core.providers.fake import arithmetic_script
    from strategies.tree_of_thoughts import VALUE_PROMPT

    def script(request, index):
        if request.messages[0].content == VALUE_PROMPT:
            wrong = "= 13" in request.messages[1].content  # the fake's slips add one
            return "impossible" if wrong else ["sure", "likely", "sure"][index]
        return arithmetic_script(request, index)

    budget = Budget(n=4, width=2, max_depth=3, step_tokens=40, seed=2)
    events = list(STRATEGIES["tree_of_thoughts"](pens, FakeProvider(script), arithmetic, budget))
    votes = [e for e in events if isinstance(e, StepScored)]
    assert votes and all(e.detail.startswith("votes: ") for e in votes)
    assert {e.score for e in votes} <= {0.0, 5 / 6}
    verify = [e for e in events if isinstance(e, UsageRecorded) and e.role == "verify"]
    assert len(verify) == 3 * len(votes)  # three votes per state, ledgered as verification
    pruned = {e.node_id for e in events if isinstance(e, NodePruned)}
    kept_scores = [e.score for e in votes if e.node_id not in pruned]
    assert next(e for e in events if isinstance(e, AnswerChosen)).node_id is not None
    if pruned:  # what was cut never outvoted what was kept
        assert max(kept_scores) >= max(e.score for e in votes if e.node_id in pruned)


def test_the_benchmark_replays_the_stopping_rules_on_self_consistency_samples(
    tmp_path, monkeypatch, capsys
):
    """benchmarks/adaptive.py needs no runs of the stopping rules: without them it replays their
    rules on self-consistency's stored samples (here every sample agrees: both stop early), and
    compute_optimal with a table fitted on the other half of the problems."""
    from benchmarks.adaptive import report
    from deliberate import cli

    def agreeing(request, index):
        return "\\boxed{29}" if request.answer_only else "Step 1: 50 - 21 = 29. \\boxed{29}"

    monkeypatch.setattr(cli, "make_provider", lambda args: FakeProvider(agreeing))
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path / "store"))
    argv = ["batch", "--provider", "fake", "--set", "curated", "--size", "3", "--strategies",
            "self_consistency,compute_optimal", "--budgets", "8", "--out", str(tmp_path / "r.csv")]  # fmt: skip
    assert cli.main(argv) == 0
    capsys.readouterr()
    lines = report(tmp_path, 8).splitlines()
    assert lines[0].startswith("3 problems")
    rows = {line[:36].strip(): line[36:].split() for line in lines if "/3" in line}
    solved, samples, tokens = rows["self-consistency @8"][:3]
    assert float(samples) == 8
    for rule in ("adaptive SC (replayed)", "early-stopping SC (replayed)"):
        assert rows[rule][0] == solved
        assert float(rows[rule][1]) < 8
        assert float(rows[rule][2]) < float(tokens)
    assert "compute_optimal" in rows
    # Fitted on the other problems, where 2 agreeing samples were as right as 8: 2 samples.
    assert rows["compute_optimal (cross-fitted)"][:2] == [solved, "2.0"]
