"""compute_optimal: the difficulty probe, the table and its fit, the strategy's event stream,
and the break-even sentence, on the deterministic fake provider (never a model)."""

import json
from dataclasses import replace

import pytest

from components.comparison import build_bigger_model_summary
from components.explain import explain
from components.optimal_charts import ALL, break_even, table_frame
from core.budget import Budget
from core.difficulty import DEFAULT_TABLE, DifficultyTable, Option, judge_probe
from core.events import (
    AnswerChosen,
    DifficultyJudged,
    NodeAdded,
    RunFinished,
    RunStarted,
    StepScored,
    UsageRecorded,
    event_from_dict,
)
from core.ledger import Ledger
from core.problems.base import Problem
from core.providers.base import STEP_STOP
from core.providers.fake import FakeProvider, arithmetic_script
from core.verifiers import make_verifier
from deliberate.batch import BatchRow
from deliberate.difficulty import fit_table, fitted_table, problem_bins, run_bin
from deliberate.runstore import RunStore
from deliberate.sweep import run_batch
from strategies import STRATEGIES

QUESTION = "A box holds 6 rows of 7 eggs. How many eggs are in the box?"
PROBLEM = Problem("eggs", QUESTION, "42")


# ---- the probe -------------------------------------------------------------------------------


def test_agreeing_samples_that_score_high_look_easy():
    verdict = judge_probe(["42", "42.0"], [0.9, 0.8])
    assert verdict.bin == "easy"
    assert verdict.reason == "the first 2 samples agree and score high (0.85)"


def test_disagreeing_samples_that_score_low_look_hard():
    verdict = judge_probe(["41", "40"], [0.05, 0.45])
    assert (verdict.bin, verdict.reason) == (
        "hard",
        "the first 2 samples disagree and score low (0.25)",
    )


@pytest.mark.parametrize(
    ("answers", "scores", "reason"),
    [
        (["42", "13"], [0.9, 0.9], "the first 2 samples disagree and score high (0.90)"),
        (["42", "42"], [0.6, 0.6], "the first 2 samples agree and score in between (0.60)"),
        (["42", "42"], [0.1, 0.2], "the first 2 samples agree and score low (0.15)"),
        (["42", None], [0.9, 0.9], "the first 2 samples disagree and score high (0.90)"),
    ],
)
def test_mixed_signals_look_medium(answers, scores, reason):
    verdict = judge_probe(answers, scores)
    assert (verdict.bin, verdict.reason) == ("medium", reason)


def test_no_answer_at_all_looks_hard_and_one_sample_is_judged_by_its_score():
    assert judge_probe([None, None], [0.9, 0.9]).bin == "hard"
    assert judge_probe([None, None], [0.9, 0.9]).reason == "the first 2 samples state no answer"
    assert judge_probe(["42"], [0.9]).reason == "the first sample scores high (0.90)"
    assert [judge_probe(["42"], [s]).bin for s in (0.9, 0.6, 0.2)] == ["easy", "medium", "hard"]
    with pytest.raises(ValueError, match="as many scores as answers"):
        judge_probe(["42"], [])


# ---- the table -------------------------------------------------------------------------------

FITTED = DifficultyTable(
    bins=(
        ("hard", (Option("beam_search", 8, 0.5, 900.0), Option("best_of_n", 4, 0.25, 400.0))),
        ("easy", (Option("direct", 1, 1.0, 5.0), Option("self_consistency", 2, 1.0, 300.0))),
    ),
    source="a test",
)


def test_the_table_chooses_the_best_option_within_the_budget_and_falls_back_to_the_default():
    assert FITTED.choose("hard", 16) == ("beam_search", 8)
    assert FITTED.choose("hard", 4) == ("best_of_n", 4)
    assert FITTED.choose("hard", 2) == ("beam_search", 2)  # none fits: the best, cut to N
    assert FITTED.choose("easy", 8) == ("self_consistency", 2)  # direct can't reuse a probe
    assert FITTED.choose("medium", 8) == ("best_of_n", 8)  # not fitted: the default
    assert DEFAULT_TABLE.choose("easy", 1) == ("self_consistency", 1)
    with pytest.raises(ValueError, match="unknown difficulty bin 'tricky'"):
        FITTED.choose("tricky", 4)


def test_a_budget_with_a_table_survives_json_as_in_a_stored_run():
    budget = Budget(n=8, difficulty_table=FITTED)
    assert Budget(**json.loads(json.dumps(budget.to_dict()))) == budget


# ---- the strategy ----------------------------------------------------------------------------


def scripted(samples):
    """Whole samples from `samples(index)`; steps (beam search) from the arithmetic script."""

    def script(request, index):
        if STEP_STOP in request.stop:
            return arithmetic_script(request, index)
        return samples(index)

    return FakeProvider(script)


def run(provider, n):
    verifier = make_verifier("arithmetic", provider)
    return list(STRATEGIES["compute_optimal"](PROBLEM, provider, verifier, Budget(n=n)))


def nodes(events, role):
    return [e.node_id for e in events if isinstance(e, NodeAdded) and e.role == role]


def test_an_easy_problem_stops_at_the_probe_and_says_why():
    provider = scripted(lambda i: "6 × 7 = 42. The answer is \\boxed{42}.")
    events = run(provider, 8)
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert judged.bin == "easy" and (judged.strategy, judged.n) == ("self_consistency", 2)
    assert judged.reason == (
        "the first 2 samples agree and score high (0.90): this looks easy, so the majority "
        "vote over these 2 samples decides, with no new sample"
    )
    assert nodes(events, "sample") == list(judged.probe) and len(judged.probe) == 2
    assert [r.n for r in provider.requests] == [2]  # one request: the probe
    assert events[-2].answer == "42" and events[-2].correct is True
    assert judged.reason in explain(events)  # the live page's "why" sentences


def test_a_hard_problem_goes_to_beam_search_with_the_probe_samples_kept_once():
    provider = scripted(lambda i: f"6 × 7 = {41 - i}. The answer is \\boxed{{{41 - i}}}.")
    events = run(provider, 8)
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert (judged.bin, judged.strategy, judged.n) == ("hard", "beam_search", 8)
    assert judged.reason == (
        "the first 2 samples disagree and score low (0.05): this looks hard, so beam search "
        "with N=6, these 2 samples competing with its beams"
    )
    added = [e.node_id for e in events if isinstance(e, NodeAdded)]
    assert len(added) == len(set(added))  # every node once
    assert nodes(events, "sample") == list(judged.probe)  # no other whole sample
    assert provider.requests[1].n == 6  # beam search's first level: N - probe beams
    scored = [e.node_id for e in events if isinstance(e, StepScored)]
    assert [scored.count(x) for x in judged.probe] == [1, 1]  # the probe is scored once
    generated = [e for e in events if isinstance(e, UsageRecorded) and e.role == "generate"]
    assert [u.node_id for u in generated] == added  # one usage line per node: ledgered once
    assert Ledger.from_events(events).total.output_tokens == sum(
        e.output_tokens for e in events if isinstance(e, NodeAdded)
    )
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "complete"


def test_a_medium_problem_goes_to_best_of_n_counting_the_probe_among_its_samples():
    texts = ["6 × 7 = 42. The answer is \\boxed{42}.", "6 + 7 = 13. The answer is \\boxed{13}."]
    provider = scripted(lambda i: texts[i % 2])
    events = run(provider, 8)
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert (judged.bin, judged.strategy, judged.n) == ("medium", "best_of_n", 8)
    assert judged.reason.endswith("so best-of-N with N=8, these 2 samples counted among them")
    assert len(nodes(events, "sample")) == 8  # probe + rest, not probe + the whole budget
    assert [r.n for r in provider.requests] == [2, 6]
    scored = [e.node_id for e in events if isinstance(e, StepScored)]
    assert sorted(scored) == sorted(nodes(events, "sample"))  # each sample scored once


def test_a_fitted_table_in_the_budget_decides():
    provider = scripted(lambda i: f"6 × 7 = {41 - i}. The answer is \\boxed{{{41 - i}}}.")
    verifier = make_verifier("arithmetic", provider)
    budget = Budget(n=4, difficulty_table=FITTED)
    events = list(STRATEGIES["compute_optimal"](PROBLEM, provider, verifier, budget))
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert (judged.strategy, judged.n) == ("best_of_n", 4)
    assert len(nodes(events, "sample")) == 4
    assert event_from_dict(json.loads(json.dumps(judged.to_dict()))) == judged


@pytest.mark.parametrize(
    ("answers", "drawn"),
    [((42, 13, 42, 42), 4), ((42, 13, 7, 9, 5, 6, 3, 4), 8)],  # settles at 4; never settles
)
def test_a_table_can_continue_into_early_stopping_from_the_probe(answers, drawn):
    # Every calculation right, so the probe scores high; its answers disagree: medium.
    written = iter(answers)  # in the order drawn, across requests
    provider = scripted(lambda i: f"6 × 7 = 42. The answer is \\boxed{{{next(written)}}}.")
    verifier = make_verifier("arithmetic", provider)
    table = DifficultyTable(
        (("medium", (Option("early_stopping_consistency", 8),)),), "a test table"
    )
    budget = Budget(n=8, difficulty_table=table)
    events = list(STRATEGIES["compute_optimal"](PROBLEM, provider, verifier, budget))
    (judged,) = [e for e in events if isinstance(e, DifficultyJudged)]
    assert judged.bin == "medium" and judged.reason.endswith(
        "so early-stopping self-consistency with up to N=8, these 2 samples counted among them"
    )
    assert len(nodes(events, "sample")) == drawn  # the probe is ESC's first window
    assert [r.n for r in provider.requests] == [2] + [2] * ((drawn - 2) // 2)


# ---- the fit from batches --------------------------------------------------------------------


def row(problem, strategy, n, correct, tokens, cost=None):
    return BatchRow(
        problem, "unknown", strategy, n, "1", correct, 10, tokens, 1.0, cost, "complete"
    )


def probe_run(problem, strategy, answers, scores):
    events = [RunStarted("r", strategy, "q", "1", "fake", "m", "arithmetic", {}, problem)]
    for k, (answer, score) in enumerate(zip(answers, scores, strict=True), start=1):
        events += [
            NodeAdded(f"n{k}", "root", "text", "sample", 5, answer),
            StepScored(f"n{k}", score, "arithmetic"),
        ]
    return events


def test_problem_bins_come_from_a_probe_a_compute_optimal_verdict_winning():
    easy = probe_run("p1", "best_of_n", ["4", "4", "5"], [0.9, 0.9, 0.1])
    hard = probe_run("p2", "best_of_n", ["4", "5"], [0.1, 0.1])
    judged = [
        RunStarted("r", "compute_optimal", "q", "1", "fake", "m", "arithmetic", {}, "p2"),
        DifficultyJudged("medium", "best_of_n", 4, ("n1", "n2"), "why"),
    ]
    too_small = probe_run("p3", "best_of_n", ["4"], [0.9])
    assert run_bin(easy) == "easy" and run_bin(too_small) is None
    assert problem_bins([easy, hard, judged, too_small]) == {"p1": "easy", "p2": "medium"}


def test_the_fit_ranks_by_accuracy_then_fewest_tokens_per_bin():
    rows = [
        row("p1", "self_consistency", 2, True, 100),
        row("p1", "best_of_n", 4, True, 400),
        row("p1", "direct", 1, True, 5),  # compute_optimal cannot continue into it: left out
        row("p2", "best_of_n", 4, False, 400),
        row("p2", "beam_search", 4, True, 900),
        row("p3", "beam_search", 4, False, 800),
        row("p3", "best_of_n", 4, True, 500),
        row("p9", "beam_search", 4, True, 1),  # no bin: left out
    ]
    bins = {"p1": "easy", "p2": "hard", "p3": "hard"}
    table = fit_table(rows, bins, "test")
    assert table == DifficultyTable(
        bins=(
            (
                "easy",
                (Option("self_consistency", 2, 1.0, 100.0), Option("best_of_n", 4, 1.0, 400.0)),
            ),
            ("hard", (Option("best_of_n", 4, 0.5, 450.0), Option("beam_search", 4, 0.5, 850.0))),
        ),
        source="test",
    )
    assert table.choose("hard", 8) == ("best_of_n", 4)
    assert fit_table(rows, {}, "test") is None
    frame = table_frame(table, 8)
    assert frame["runs at N=8"].tolist() == [
        "self consistency, N=2",
        "best of n, N=8",
        "best of n, N=4",
    ]


def test_a_batch_of_compute_optimal_is_fitted_back_per_model_and_verifier(tmp_path):
    store = RunStore(tmp_path)
    provider = FakeProvider()
    verifier = make_verifier("arithmetic", provider)
    problems = [Problem(f"p{k}", f"What is {k} × 7?", str(7 * k)) for k in range(2, 6)]
    batch_id = store.create_batch("test", {})
    rows = list(
        run_batch(problems, ["compute_optimal", "best_of_n"], [2, 4], provider, verifier, Budget())
    )
    for r in rows:
        store.add_batch_row(batch_id, r, store.save_run(r.events, "batch"))
    bins = problem_bins(r.events for r in rows)
    assert set(bins) == {p.id for p in problems}
    table = fitted_table(store, "fake-model", "arithmetic")
    assert table is not None and table == fit_table(rows, bins, table.source)
    assert table.source.startswith("fitted from your batch “test” (fake-model, arithmetic")
    assert fitted_table(store, "fake-model", "program") is None  # another verifier: no fit


# ---- the break-even --------------------------------------------------------------------------


def test_break_even_in_words_overall_and_per_bin():
    bins = {"e1": "easy", "e2": "easy", "h1": "hard", "h2": "hard", "h3": "hard"}
    rows = [row(p, "direct", 1, p.startswith("e"), 10) for p in bins]  # easy ones only
    rows += [row(p, "best_of_n", 2, p.startswith("e"), 100) for p in bins]
    rows += [row(p, "beam_search", 4, True, 40) for p in bins]
    rows += [row(p, "beam_search", 8, p != "h3", 80) for p in bins]
    headline, overall, easy, hard = break_even(rows, bins)
    assert headline == (
        "System 2 costs less per solved problem than System 1: never on all problems; "
        "never on easy problems; from N=4 on hard problems."
    )
    assert overall == (
        "On all problems, System 2 never costs less per solved problem than System 1: System 1 "
        "costs 25 output tokens per solved problem; the cheapest System 2, beam_search at N=4, "
        "costs 40 output tokens."
    )
    assert easy == (
        "On easy problems, System 2 never costs less per solved problem than System 1: System 1 "
        "costs 10 output tokens per solved problem; the cheapest System 2, beam_search at N=4, "
        "costs 40 output tokens."
    )
    assert hard == (
        "On hard problems, System 2 costs less per solved problem than System 1 from N=4 on: "
        "System 1 solved none; beam_search at N=4 costs 40 output tokens."
    )
    priced = [replace(r, cost_usd=r.output_tokens / 1e6) for r in rows if r.budget in (1, 4)]
    assert break_even(priced, {})[1].endswith(
        "System 1 costs $0.000025 per solved problem; "
        "the cheapest System 2, beam_search at N=4, costs $0.000040."
    )
    assert break_even(rows[:5], {})[0] == (
        "System 2 costs less per solved problem than System 1: not measured on all problems."
    )
    assert ALL == "all problems"


# ---- the bigger model ------------------------------------------------------------------------


def answered(model, answer, correct, tokens, cost):
    return [
        RunStarted("r", "direct" if tokens < 50 else "beam_search", "q", "1", "p", model, "a", {}),
        NodeAdded("n1", "root", "t", "answer", tokens, answer),
        UsageRecorded("generate", model, 10, tokens, 1.0, "n1", cost_usd=cost),
        AnswerChosen("n1", answer, correct, "only"),
        RunFinished("complete"),
    ]


def test_the_bigger_model_panel_says_which_is_cheaper_per_correct_answer():
    small = answered("small", "42", True, 300, 0.0003)
    big = answered("big", "42", True, 4, 0.0001)
    said = build_bigger_model_summary(small, big)
    assert said == [
        "The bigger model (big) answering at once answered 42, which is right; it wrote 4 "
        "tokens in 1.0 s and cost $0.000100.",
        "The small model (small) thinking with beam search answered 42, which is right; it "
        "wrote 300 tokens in 1.0 s and cost $0.000300.",
        "Both got it right: $0.000300 per correct answer thinking against $0.000100 per "
        "correct answer at once, so the cheaper per correct answer is the bigger model at once.",
        "One problem is one sample: a batch on the cost page gives the rates.",
    ]
    wrong_big = answered("big", "41", False, 4, 0.0001)
    assert build_bigger_model_summary(small, wrong_big)[2] == (
        "Only the small model thinking got it right, so only it has a cost per correct answer."
    )
    unpriced = answered("big", "42", True, 4, None)
    assert "cannot be said in dollars" in build_bigger_model_summary(small, unpriced)[2]
