"""Teaching: the plain thinking-budget control, the glossary, predict first (pure parts)."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from components.estimate import estimate_run
from components.glossary import GLOSSARY
from components.predict import (
    Prediction,
    build_verdict,
    candidate_answers,
    hide_reference,
    reveal_index,
)
from components.replay_pace import step_replay
from core.budget import Budget
from core.events import AnswerChosen, NodeAdded, NodeStarted, NodeText, RunStarted, Status
from core.tree import ReasoningTree
from deliberate.recordings import load_recording, recordings
from strategies import STRATEGIES
from strategies.thinking import FIXED, KNOBS, SEARCH_WIDTH, THINK_STEPS, knobs_for, token_cap

ROOT = Path(__file__).resolve().parent.parent
BASE = Budget()  # max_depth 8, step_tokens 96: one answer is 768 tokens at most
SCALING = sorted(set(STRATEGIES) - FIXED)


def test_every_mapping_names_a_strategy_and_an_unlisted_one_is_sized_as_a_sampler():
    assert set(KNOBS) <= set(STRATEGIES)  # a typo would size nothing
    assert {"direct", "chain_of_thought"} == FIXED
    assert knobs_for("a_new_strategy", 8, BASE).n == knobs_for("best_of_n", 8, BASE).n == 8


@pytest.mark.parametrize("strategy", SCALING)
def test_more_thinking_buys_strictly_more_generations_tokens_and_cap(strategy):
    budgets = [knobs_for(strategy, m, BASE) for m in THINK_STEPS]
    ns = [b.n for b in budgets]
    caps = [b.max_total_tokens for b in budgets]
    estimated = [estimate_run(strategy, b, "arithmetic", None).output_tokens for b in budgets]
    assert ns == sorted(set(ns)), ns  # strictly increasing
    assert caps == sorted(set(caps)), caps
    assert estimated == sorted(set(estimated)), estimated


def test_one_x_is_a_single_answers_worth_in_each_strategys_own_unit():
    one = {s: knobs_for(s, 1, BASE) for s in STRATEGIES}
    samplers = [
        "self_consistency",
        "adaptive_consistency",
        "early_stopping_consistency",
        "best_of_n",
        "program_of_thought",
        "particle_filtering",
        "native_thinking",
    ]
    assert all(one[s].n == 1 for s in [*samplers, "direct", "chain_of_thought"])
    for s in ("beam_search", "dvts", "tree_of_thoughts"):  # one path, written step by step
        assert (one[s].n, one[s].beam_width) == (1, 1)
    assert one["mcts"].n == 4  # N counts steps: one path's worth
    assert one["self_refine"].n == 2  # N/2 = 1 critique round, the smallest refinement
    assert {b.max_total_tokens for b in one.values()} == {3 * 768}


def test_the_mapping_keeps_the_rest_of_the_budget_and_sets_the_search_width():
    base = replace(BASE, max_depth=5, step_tokens=64, temperature=0.9, seed=7, max_dollars=0.5)
    budget = knobs_for("beam_search", 16, base)
    assert (budget.n, budget.width, budget.max_total_tokens) == (16, SEARCH_WIDTH, 33 * 320)
    assert (budget.max_depth, budget.step_tokens, budget.temperature, budget.seed) == (
        5,
        64,
        0.9,
        7,
    )
    assert budget.max_dollars == 0.5
    assert knobs_for("mcts", 64, base).n == 256  # 64 paths of 4 steps
    assert knobs_for("mcts", 8, replace(base, max_depth=2)).n == 16  # a path is at most 2 steps
    assert token_cap(64, replace(BASE, step_tokens=4096, max_depth=64)) == 1_000_000


@pytest.mark.parametrize("strategy", sorted(FIXED))
def test_one_answer_strategies_ignore_the_multiplier(strategy):
    assert {knobs_for(strategy, m, BASE).n for m in THINK_STEPS} == {1}


def test_a_multiplier_off_the_scale_is_refused():
    with pytest.raises(ValueError, match="think must be one of"):
        knobs_for("best_of_n", 3, BASE)


def _terms_used() -> set[str]:
    """Every glossary term the app's code looks up: term("...") calls and the *_TERMS tables."""
    used: set[str] = set()
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "components").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "term"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(node.args[0].value)
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith("_TERMS") for t in node.targets
            ):
                used.update(v.value for v in node.value.values)
    return used


def test_every_term_used_as_help_is_in_the_glossary():
    used = _terms_used()
    assert {"PRM", "N", "beam width", "pass@N", "cost per problem solved"} <= used
    assert used <= set(GLOSSARY), used - set(GLOSSARY)


def test_the_glossary_explains_the_fields_terms_in_one_line_each():
    wanted = {
        "PRM",
        "ORM",
        "beam width",
        "N",
        "best-of-N",
        "pass@N",
        "self-consistency",
        "cost per problem solved",
        "DVTS",
        "MCTS",
        "compute-optimal",
    }
    assert wanted <= set(GLOSSARY)
    for name, line in GLOSSARY.items():
        assert "\n" not in line and line.endswith("."), name
        assert 20 <= len(line) <= 160, (name, len(line))


def _text_run() -> list:
    return [
        RunStarted("r", "best_of_n", "q?", "30", "fake", "m", "arithmetic", {}),
        NodeStarted("n1", "root", "sample"),
        NodeText("n1", "a"),
        NodeText("n1", "b"),
        NodeAdded("n1", "root", "ab = 30", "sample", 5, "30"),
        Status("scoring"),
        NodeStarted("n2", "root", "sample"),
        NodeText("n2", "c"),
        NodeAdded("n2", "root", "c = 31", "sample", 4, "31"),
        AnswerChosen("n1", "30", True, "highest PRM score"),
    ]


def test_arrow_steps_move_one_event_with_the_text_streamed_before_it():
    events = _text_run()
    stops = [0]
    while stops[-1] < len(events):
        stops.append(step_replay(events, stops[-1], forward=True))
    assert stops == [0, 1, 5, 6, 9, 10]
    back = [len(events)]
    while back[-1] > 0:
        back.append(step_replay(events, back[-1], forward=False))
    assert back == [10, 9, 6, 5, 1, 0]
    assert step_replay(events, 10, forward=True) == 10
    assert step_replay(events, 3, forward=False) == 1  # mid-text goes back to the node start


def test_predict_first_holds_before_the_choice_and_hides_right_and_wrong():
    events = _text_run()
    assert reveal_index(events) == 9
    assert reveal_index(events[:9]) is None
    hidden = hide_reference(events)
    assert hidden[0].reference is None and events[0].reference == "30"
    assert hidden[1:] == events[1:]
    tree = ReasoningTree.from_events(events[:9])
    assert candidate_answers(tree) == ["30", "31"]


def test_the_verdict_compares_the_guess_with_the_choice():
    assert build_verdict(Prediction("30", True), "30", True) == [
        "You guessed System 2 would answer 30; it answered 30: you called it.",
        "You said it would be right; it was right: you called it.",
    ]
    assert build_verdict(Prediction("30.0", False), "30", True, "the search") == [
        "You guessed the search would answer 30.0; it answered 30: you called it.",
        "You said it would be wrong; it was right: a surprise.",
    ]
    assert build_verdict(Prediction(None, False), "7", False) == [
        "You guessed System 2 would give no answer; it answered 7.",
        "You said it would be wrong; it was wrong: you called it.",
    ]
    assert build_verdict(Prediction("", True), None, None) == [
        "There is no reference answer, so whether System 2 was right is unknown.",
    ]


def test_every_shipped_recording_can_be_held_for_a_guess():
    offered = {}
    for path in recordings():
        events = load_recording(path)
        index = reveal_index(events)
        assert index is not None, path
        tree = ReasoningTree.from_events(hide_reference(events)[:index])
        assert tree.chosen is None
        final = next(e for e in events if isinstance(e, AnswerChosen))
        assert final.node_id is None or not tree.graph.nodes[final.node_id]["selected"], path
        offered[path.stem] = candidate_answers(tree)
    assert offered["best-of-4-tickets"]  # the answers on the tree are the choices
