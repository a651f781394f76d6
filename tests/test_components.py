"""The pure build_* functions on synthetic event streams: no Streamlit, no model."""

import pytest

from components.batch_charts import (
    build_accuracy_figure,
    build_break_even_figure,
    build_cost_figure,
    build_difficulty_figure,
    cheapest_reaching,
    summary_frame,
)
from components.comparison import build_comparison_summary
from components.cost_meter import build_cost_table, cost_headline
from components.estimate import (
    DEFAULT_TOKENS_PER_SECOND,
    documented_speed,
    estimate_run,
    speed_note,
)
from components.prm_chart import best_path, build_prm_figure, path_aggregate
from components.run_view import RunFold, clicked_node, node_details
from components.text import plain_markdown
from components.tree_view import (
    CHOSEN_COLOR,
    PRUNED_COLOR,
    build_tree_figure,
    tidy_layout,
)
from core.budget import Budget
from core.events import (
    ROOT,
    AnswerChosen,
    NodeAdded,
    NodePruned,
    RunFinished,
    RunStarted,
    StepScored,
    UsageRecorded,
)
from core.ledger import Ledger, format_dollars
from core.providers.base import Price
from core.providers.local_model import DEFAULT_MODEL, MODELS
from core.synthetic import synthetic_run
from core.tree import ReasoningTree
from deliberate.batch import BatchRow, summarize
from strategies import STRATEGIES


def started(**budget):
    return RunStarted(
        "r1",
        "beam_search",
        "What is 6 * 7?",
        "42",
        "fake",
        "fake-model",
        "arithmetic",
        {"aggregation": "min", **budget},
    )


def small_run():
    """root -> a (0.9) -> c (0.8, answer 42, chosen); root -> b (0.2, pruned)."""
    return [
        started(),
        NodeAdded("a", ROOT, "6 * 7 = 42", output_tokens=5),
        UsageRecorded("generate", "fake-model", 30, 5, 0.1, "a", cost_usd=0.001),
        NodeAdded("b", ROOT, "6 * 7 = 48", output_tokens=6),
        UsageRecorded("generate", "fake-model", 30, 6, 0.1, "b", cost_usd=0.001),
        StepScored("a", 0.9, "arithmetic"),
        StepScored("b", 0.2, "arithmetic"),
        NodePruned("b", "lower score"),
        NodeAdded("c", "a", "So the answer is \\boxed{42}.", output_tokens=7, answer="42"),
        UsageRecorded("generate", "fake-model", 40, 7, 0.2, "c", cost_usd=0.002),
        StepScored("c", 0.8, "arithmetic"),
        UsageRecorded("verify", "rules", 0, 0, 0.01, None, cost_usd=0.0),
        AnswerChosen("c", "42", True, "best"),
        RunFinished("complete"),
    ]


def trace(figure, name):
    (found,) = [t for t in figure.data if t.name == name]
    return found


def test_node_colours_follow_scores_on_a_fixed_scale():
    figure = build_tree_figure(ReasoningTree.from_events(small_run()))
    scored = trace(figure, "scored step")
    colours = dict(zip(scored.customdata, scored.marker.color, strict=True))
    assert colours == {"a": 0.9, "c": 0.8}
    assert (scored.marker.cmin, scored.marker.cmax) == (0.0, 1.0)
    assert scored.marker.colorscale == trace(figure, "PRM score scale").marker.colorscale
    assert trace(figure, "PRM score scale").marker.showscale is True


def test_pruned_nodes_and_their_subtrees_are_grey():
    events = [*small_run()[:-2], NodeAdded("d", "b", "continuing a pruned branch")]
    figure = build_tree_figure(ReasoningTree.from_events(events))
    pruned = trace(figure, "pruned")
    assert list(pruned.customdata) == ["b", "d"]
    assert pruned.marker.color == PRUNED_COLOR
    assert "b" not in trace(figure, "scored step").customdata
    assert trace(figure, "pruned branches").line.color == PRUNED_COLOR


def test_chosen_path_is_highlighted():
    figure = build_tree_figure(ReasoningTree.from_events(small_run()))
    path = trace(figure, "chosen path")
    assert path.line.color == CHOSEN_COLOR
    # Two segments (root -> a, a -> c), each followed by a NaN break.
    assert len(path.x) == 6
    ring = trace(figure, "chosen answer path")
    assert len(ring.x) == 2
    answers = trace(figure, "answers")
    assert list(answers.text) == ["✓"]


def test_wrong_and_ungraded_answers_are_marked():
    events = [
        RunStarted("r", "best_of_n", "q", None, "fake", "m", "arithmetic", {}),
        NodeAdded("a", ROOT, "x", answer="1"),
        AnswerChosen("a", "1", None),
    ]
    assert list(trace(build_tree_figure(ReasoningTree.from_events(events)), "answers").text) == [
        "?"
    ]
    events = [*small_run()[:-2], AnswerChosen("c", "42", False), RunFinished("complete")]
    assert list(trace(build_tree_figure(ReasoningTree.from_events(events)), "answers").text) == [
        "✗"
    ]


def test_mcts_visits_and_value_appear_in_hover():
    tree = ReasoningTree.from_events(synthetic_run(12))
    figure = build_tree_figure(tree)
    hover = " ".join(trace(figure, "scored step").hovertext + trace(figure, "pruned").hovertext)
    assert "MCTS visits" in hover and "value" in hover


def test_html_in_model_text_is_escaped_in_hover():
    events = [
        started(),
        NodeAdded("a", ROOT, "<script>alert('x')</script> & <b>bold</b>", answer="<i>4</i>"),
    ]
    figure = build_tree_figure(ReasoningTree.from_events(events))
    (hover,) = trace(figure, "not scored yet").hovertext
    assert "<script>" not in hover and "<b>bold" not in hover and "<i>4" not in hover
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold" in hover
    prm = build_prm_figure(
        ReasoningTree.from_events([*events, StepScored("a", 0.5, "arithmetic")]), "a"
    )
    assert "<script>" not in prm.data[0].hovertext[0]


def test_layout_keeps_500_siblings_ordered_and_parents_centred():
    tree = ReasoningTree.from_events(synthetic_run(500, seed=1))
    pos = tidy_layout(tree.graph)
    assert set(pos) == set(tree.graph)
    for node in tree.graph:
        children = list(tree.graph.successors(node))
        xs = [pos[c][0] for c in children]
        assert xs == sorted(xs) and len(set(xs)) == len(xs), f"children of {node} out of order"
        if children:
            assert pos[node][0] == pytest.approx((xs[0] + xs[-1]) / 2)
            assert all(pos[c][1] == pos[node][1] - 1 for c in children)
    # Subtrees never overlap: every leaf has its own column.
    leaves = [pos[n][0] for n in tree.graph if tree.graph.out_degree(n) == 0]
    assert len(set(leaves)) == len(leaves)


def test_a_500_node_figure_shows_every_node():
    # Its redraw time is a speed target: benchmarks/tree_redraw.py prints it.
    tree = ReasoningTree.from_events(synthetic_run(500, seed=2))
    figure = build_tree_figure(tree)
    shown = sum(len(t.customdata) for t in figure.data if t.customdata is not None)
    assert shown == len(tree)


def test_prm_chart_follows_the_chosen_path_and_shows_the_aggregate():
    tree = ReasoningTree.from_events(small_run())
    assert best_path(tree) == ["a", "c"]
    figure = build_prm_figure(tree)
    assert list(figure.data[0].y) == [0.9, 0.8]
    assert path_aggregate(tree) == 0.8  # min of the steps
    assert figure.layout.title.text == "path score (min of steps) = 0.80"
    assert figure.layout.shapes[0].y0 == 0.8  # the aggregate as a dashed line
    assert list(build_prm_figure(tree, "b").data[0].y) == [0.2]


def test_prm_chart_before_an_answer_uses_the_best_unpruned_path():
    tree = ReasoningTree.from_events(small_run()[:-3])
    assert best_path(tree) == ["a", "c"]
    whole = [
        started(aggregation="mean"),
        NodeAdded("s", ROOT, "one\n\ntwo\n\nthree"),
        StepScored("s", 0.5, "arithmetic", step_scores=(0.9, 0.5, 0.1)),
    ]
    tree = ReasoningTree.from_events(whole)
    figure = build_prm_figure(tree)
    assert list(figure.data[0].y) == [0.9, 0.5, 0.1]
    assert path_aggregate(tree) == pytest.approx(0.5)


def test_cost_meter_numbers_equal_the_ledger():
    events = small_run()
    ledger = Ledger.from_events(events)
    headline = cost_headline(ledger)
    assert headline["Input tokens"] == f"{ledger.total.input_tokens:,}" == "100"
    assert headline["Output tokens"] == "18"
    assert headline["Dollars"] == format_dollars(0.004)
    table = build_cost_table(ledger)
    assert table.loc["generation", "output tokens"] == 18
    assert table.loc["verification", "calls"] == 1
    assert table.loc["total", "input tokens"] == 100


def test_cost_meter_shows_cached_and_reasoning_tokens():
    ledger = Ledger.from_events(
        [UsageRecorded("generate", "m", 10120, 4308, 2.0, "n1", 128, 2809, 0.0947)]
    )
    table = build_cost_table(ledger)
    assert table.loc["total", "of which cached"] == 128
    assert table.loc["total", "of which reasoning"] == 2809


def test_run_fold_catches_up_incrementally_and_matches_a_full_fold():
    events = synthetic_run(60)
    fold = RunFold()
    for end in range(0, len(events) + 1, 7):
        fold.catch_up(events[fold.applied : end], fold.applied)
    fold.catch_up(events[fold.applied :], fold.applied)
    assert fold.tree.signature() == ReasoningTree.from_events(events).signature()
    assert fold.ledger.total == Ledger.from_events(events).total
    details = node_details(fold, "n1")
    assert details["output tokens"] == str(fold.tree.graph.nodes["n1"]["output_tokens"])
    assert details["input tokens"] == f"{fold.usage['n1'].input_tokens:,}"


def test_comparison_summary_in_plain_words():
    s1 = [
        RunStarted("s1", "direct", "q", "42", "fake", "m", "arithmetic", {}),
        NodeAdded("a", ROOT, "48", "answer", 2, "48"),
        UsageRecorded("generate", "m", 20, 2, 0.1, "a", cost_usd=0.0001),
        AnswerChosen("a", "48", False),
        RunFinished("complete"),
    ]
    text = " ".join(build_comparison_summary(s1, small_run()))
    assert "System 2 used 9.0x the tokens and got it right" in text
    assert "cut 1 branch" in text and "Thinking changed the answer" in text


def test_estimate_sentence_counts_samples_tokens_seconds_dollars():
    budget = Budget(n=16, max_depth=6, step_tokens=96)
    estimate = estimate_run("best_of_n", budget, "arithmetic", Price(1.0, 2.0), 50.0)
    sentence = estimate.sentence()
    assert sentence.startswith("16 samples, about 4,800 tokens, about ")
    assert "on this machine, about $" in sentence
    assert estimate.seconds > 4_800 / 50
    assert estimate_run("direct", budget, "arithmetic", None).sentence().endswith("about unknown")


def test_estimate_assumes_each_built_in_model_its_own_speed():
    small, default = MODELS["qwen2.5-coder-0.5b"].label, MODELS[DEFAULT_MODEL].label
    assert documented_speed(default) < documented_speed(
        small
    )  # the 1.5B decodes about half as fast
    assert documented_speed("gpt-4o-mini") == DEFAULT_TOKENS_PER_SECOND
    assert f"{documented_speed(default):.0f} tokens/s" in speed_note(None, default)
    assert "measured on your recent runs" in speed_note(30.0, default)
    assert "2 cores" not in speed_note(None, "gpt-4o-mini") and "a guess" in speed_note(None, "x")


def rows():
    def row(problem, difficulty, strategy, n, correct, tokens):
        return BatchRow(
            problem,
            difficulty,
            strategy,
            n,
            "1",
            correct,
            10,
            tokens,
            1.0,
            tokens * 1e-6,
            "complete",
        )

    out = []
    for p, difficulty in (("p1", "easy"), ("p2", "hard")):
        out.append(row(p, difficulty, "direct", 1, p == "p1", 5))
        for n in (1, 4):
            out.append(row(p, difficulty, "best_of_n", n, n == 4 or p == "p1", 100 * n))
    return out


def test_batch_figures_and_the_cheapest_strategy_at_a_target():
    summaries = summarize(rows())
    best = cheapest_reaching(summaries, 0.9)
    assert (best.strategy, best.budget) == ("best_of_n", 4)
    assert cheapest_reaching(summaries, 0.5).strategy == "direct"
    frame = summary_frame(summaries, best)
    assert frame.loc[frame["cheapest at target"] == "★", "budget N"].tolist() == [4]
    accuracy = build_accuracy_figure(summaries, 0.9, best)
    assert accuracy.layout.xaxis.type == "log"
    assert list(trace(accuracy, "best_of_n").y) == [50.0, 100.0]
    cost = build_cost_figure(summaries)
    assert list(trace(cost, "best_of_n").y) == pytest.approx([200e-6, 400e-6])
    break_even = build_break_even_figure(summaries)
    assert any(t.name == "break-even with System 1" for t in break_even.data)
    difficulty = build_difficulty_figure(rows())
    assert list(trace(difficulty, "best_of_n (N=4)").y) == [100.0, 100.0]
    assert list(trace(difficulty, "direct (N=1)").x) == ["easy", "hard"]
    html = accuracy.to_html(include_plotlyjs=True)
    assert "<html>" in html and html.rstrip().endswith("</html>") and "Plotly.newPlot" in html


def test_plain_markdown_neutralises_markup():
    assert plain_markdown("[x](javascript:1) **b** $x$") == (
        r"\[x\]\(javascript\:1\) \*\*b\*\* \$x\$"
    )


def test_a_click_selects_the_node_in_the_points_customdata():
    assert clicked_node([{"curve_number": 3, "point_index": 0, "customdata": "n4"}]) == "n4"
    assert clicked_node([{"customdata": ["n2"]}]) == "n2"
    assert clicked_node([{"point_index": 1}]) is None
    assert clicked_node([]) is None


def test_every_strategy_has_an_estimate():
    for name in [*STRATEGIES, "a_new_strategy"]:
        estimate = estimate_run(name, Budget(n=4), "model_judge", Price(0.03, 0.06))
        assert estimate.output_tokens > 0 and estimate.dollars > 0, name
        assert ("rough guess" in estimate.unit) == (name not in STRATEGIES), name
