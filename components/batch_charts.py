"""Cost per problem solved: the results table and the charts of a batch (pure; no Streamlit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from core.events import NO_ANSWER
from core.ledger import format_dollars
from deliberate.audit import VerifierAudit
from deliberate.batch import BatchRow, Summary

DIFFICULTY_ORDER = ["easy", "medium", "hard", "unknown"]
SYSTEM_1 = "direct"
COMPUTE_OPTIMAL = "compute_optimal"
OPTIMAL_LINE = {"width": 5, "color": "#8250df"}  # the per-problem choice, drawn over the rest
# Table column -> its glossary term (components.glossary), shown as the column's tooltip.
SUMMARY_TERMS = {
    "budget N": "N",
    "accuracy": "accuracy",
    "pass@N (some answer right)": "pass@N",
    "cost per problem solved": "cost per problem solved",
    "cheapest at target": "compute-optimal",
}
AUDIT_TERMS = {
    "pass@N (%)": "pass@N",
    "selection accuracy (%)": "selection accuracy",
    "AUROC": "AUROC",
}


def summary_frame(summaries: Sequence[Summary], highlight: Summary | None = None) -> pd.DataFrame:
    """One row per strategy and budget, in the words the page uses."""
    rows = []
    for s in summaries:
        rows.append(
            {
                "strategy": s.strategy,
                "budget N": s.budget,
                "problems": s.problems,
                "solved": s.solved,
                NO_ANSWER: s.unanswered,
                "accuracy": None if s.accuracy is None else round(100 * s.accuracy, 1),
                "pass@N (some answer right)": None
                if s.pass_at_n is None
                else round(100 * s.pass_at_n, 1),
                "output tokens / problem": round(s.mean_output_tokens, 1),
                "seconds / problem": round(s.mean_seconds, 2),
                "dollars": format_dollars(s.total_cost_usd),
                "cost per problem solved": format_dollars(s.cost_per_solved_usd),
                "cheapest at target": "★" if s == highlight else "",
            }
        )
    return pd.DataFrame(rows)


def uses_dollars(summaries: Sequence[Summary]) -> bool:
    """Dollars when every price is known; otherwise tokens are the honest unit."""
    return bool(summaries) and all(s.total_cost_usd is not None for s in summaries)


def spend_per_problem(s: Summary, dollars: bool) -> float:
    return (s.total_cost_usd or 0.0) / s.problems if dollars else s.mean_output_tokens


def cheapest_reaching(summaries: Sequence[Summary], target: float) -> Summary | None:
    """The cheapest strategy and budget whose accuracy reaches `target` (0..1), if any does."""
    dollars = uses_dollars(summaries)
    good = [s for s in summaries if s.accuracy is not None and s.accuracy >= target]
    return min(good, key=lambda s: (spend_per_problem(s, dollars), s.budget), default=None)


def _log2_axis(budgets: Sequence[int]) -> dict[str, object]:
    ticks = sorted(set(budgets))
    return {
        "type": "log",
        "tickvals": ticks,
        "ticktext": [str(t) for t in ticks],
        "title": {"text": "budget N (log scale)"},
    }


def _by_strategy(summaries: Sequence[Summary]) -> dict[str, list[Summary]]:
    groups: dict[str, list[Summary]] = defaultdict(list)
    for s in sorted(summaries, key=lambda s: (s.strategy, s.budget)):
        groups[s.strategy].append(s)
    return groups


def _layout(figure: go.Figure, y_title: str) -> go.Figure:
    figure.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"title": {"text": y_title}},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def build_accuracy_figure(
    summaries: Sequence[Summary], target: float | None = None, highlight: Summary | None = None
) -> go.Figure:
    """Accuracy vs budget on a log2 axis, one line per strategy; System 1 as a flat reference."""
    figure = go.Figure()
    budgets = [s.budget for s in summaries] or [1]
    for strategy, group in _by_strategy(summaries).items():
        graded = [s for s in group if s.accuracy is not None]
        if strategy == SYSTEM_1 and graded:
            figure.add_hline(
                y=100 * graded[0].accuracy,
                line={"dash": "dash", "color": "#555"},
                annotation_text="direct (System 1)",
            )
            continue
        figure.add_trace(
            go.Scatter(
                name=strategy,
                x=[s.budget for s in graded],
                y=[100 * s.accuracy for s in graded],
                mode="lines+markers",
                line=OPTIMAL_LINE if strategy == COMPUTE_OPTIMAL else None,
            )
        )
    if target is not None:
        figure.add_hline(
            y=100 * target,
            line={"dash": "dot", "color": "#1a7f37"},
            annotation_text=f"target {100 * target:.0f}%",
            annotation_position="bottom right",
        )
    if highlight is not None and highlight.accuracy is not None:
        figure.add_trace(
            go.Scatter(
                name=f"cheapest at target: {highlight.strategy}, N={highlight.budget}",
                x=[highlight.budget],
                y=[100 * highlight.accuracy],
                mode="markers",
                marker={"symbol": "star", "size": 20, "color": "#d4a72c", "line": {"width": 1}},
            )
        )
    figure.update_layout(xaxis=_log2_axis(budgets), yaxis={"range": [0, 105]})
    return _layout(figure, "accuracy (%)")


def build_cost_figure(summaries: Sequence[Summary]) -> go.Figure:
    """Cost per problem solved vs budget (dollars, or tokens when a price is unknown)."""
    dollars = uses_dollars(summaries)
    figure = go.Figure()
    for strategy, group in _by_strategy(summaries).items():
        solved = [s for s in group if s.solved > 0]  # undefined with nothing solved: no point
        values = [
            s.cost_per_solved_usd if dollars else s.mean_output_tokens * s.problems / s.solved
            for s in solved
        ]
        figure.add_trace(
            go.Scatter(name=strategy, x=[s.budget for s in solved], y=values, mode="lines+markers")
        )
    figure.update_layout(xaxis=_log2_axis([s.budget for s in summaries] or [1]))
    return _layout(
        figure, "dollars per problem solved" if dollars else "output tokens per problem solved"
    )


def build_break_even_figure(summaries: Sequence[Summary]) -> go.Figure:
    """Accuracy vs spend per problem, with System 1's cost per solved as the break-even line."""
    dollars = uses_dollars(summaries)
    unit = "dollars" if dollars else "output tokens"
    figure = go.Figure()
    graded = [s for s in summaries if s.accuracy is not None]
    for strategy, group in _by_strategy(graded).items():
        figure.add_trace(
            go.Scatter(
                name=strategy,
                x=[spend_per_problem(s, dollars) for s in group],
                y=[100 * s.accuracy for s in group],
                mode="lines+markers" if strategy != SYSTEM_1 else "markers",
                text=[f"N={s.budget}" for s in group],
                hovertemplate="%{text}: %{y:.0f}%<extra></extra>",
                marker={"size": 14, "symbol": "diamond"} if strategy == SYSTEM_1 else {},
            )
        )
    system_1 = next((s for s in graded if s.strategy == SYSTEM_1 and s.solved > 0), None)
    spends = [spend_per_problem(s, dollars) for s in graded]
    if system_1 is not None and spends and spend_per_problem(system_1, dollars) > 0:
        rate = 100 * system_1.accuracy / spend_per_problem(system_1, dollars)  # % per unit spent
        top = max(spends) * 1.05
        figure.add_trace(
            go.Scatter(
                name="break-even with System 1",
                x=[0, top],
                y=[0, min(rate * top, 1e9)],
                mode="lines",
                line={"dash": "dash", "color": "#555"},
                hoverinfo="skip",
            )
        )
    else:
        figure.add_annotation(
            text="run direct (System 1) in the batch, and solve something, to see the break-even line",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.05,
        )
    figure.update_layout(
        xaxis={"title": {"text": f"{unit} per problem"}}, yaxis={"range": [0, 105]}
    )
    return _layout(figure, "accuracy (%)")


def build_difficulty_figure(rows: Sequence[BatchRow]) -> go.Figure:
    """Accuracy per difficulty; each strategy at its largest budget in the batch."""
    largest: dict[str, int] = {}
    for row in rows:
        largest[row.strategy] = max(largest.get(row.strategy, 0), row.budget)
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row.correct is None or row.budget != largest[row.strategy]:
            continue
        counts = tally[(row.strategy, row.difficulty)]
        counts[0] += int(row.correct)
        counts[1] += 1
    levels = [d for d in DIFFICULTY_ORDER if any(k[1] == d for k in tally)]
    levels += sorted({k[1] for k in tally} - set(levels))
    figure = go.Figure()
    for strategy in sorted(largest):
        present = [d for d in levels if (strategy, d) in tally]
        figure.add_trace(
            go.Bar(
                name=f"{strategy} (N={largest[strategy]})",
                x=present,
                y=[100 * tally[(strategy, d)][0] / tally[(strategy, d)][1] for d in present],
            )
        )
    figure.update_layout(
        barmode="group", yaxis={"range": [0, 105]}, xaxis={"title": {"text": "difficulty"}}
    )
    return _layout(figure, "accuracy (%)")


def audit_frame(audits: Sequence[VerifierAudit]) -> pd.DataFrame:
    """One row per verifier, in the words the page uses."""
    return pd.DataFrame(
        [
            {
                "verifier": a.verifier,
                "runs": a.runs,
                "pass@N (%)": round(100 * a.pass_at_n, 1),
                "selection accuracy (%)": None
                if a.selection_accuracy is None
                else round(100 * a.selection_accuracy, 1),
                "AUROC": None if a.auroc is None else round(a.auroc, 3),
                "wrong above right (runs)": ", ".join(a.inversions) or "none",
            }
            for a in audits
        ]
    )
