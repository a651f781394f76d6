"""Per-step PRM scores along one path (the chosen one, the current best, or a clicked node's)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go

from components.tree_view import SCORE_COLORSCALE
from core.events import ROOT
from core.providers.base import STEP_STOP
from core.tree import ReasoningTree
from core.verifiers.aggregate import aggregate

PREVIEW_CHARS = 300


@dataclass(frozen=True)
class StepBar:
    label: str
    score: float
    node_id: str
    text: str


def run_aggregation(tree: ReasoningTree) -> str:
    """How this run turns step scores into a path score (the budget's aggregation)."""
    if tree.started is None:
        return "min"
    return str(tree.started.budget.get("aggregation", "min"))


def best_path(tree: ReasoningTree) -> list[str]:
    """The chosen path once an answer is chosen; until then the best-scoring frontier path."""
    if tree.chosen_path():
        return tree.chosen_path()
    g = tree.graph
    how = run_aggregation(tree)
    scored = [n for n in g if n != ROOT and g.nodes[n]["score"] is not None]
    # The search's frontier: unpruned leaves; a shallow node would win on `min` for being short.
    frontier = [n for n in scored if not g.nodes[n]["pruned"] and g.out_degree(n) == 0]
    candidates = frontier or scored
    if not candidates:
        return []

    def path_score(node: str) -> tuple[float, int]:
        scores = [g.nodes[p]["score"] for p in tree.path(node) if g.nodes[p]["score"] is not None]
        return (aggregate(scores, how), g.nodes[node]["depth"])

    return tree.path(max(candidates, key=path_score))


def step_bars(tree: ReasoningTree, path: list[str]) -> list[StepBar]:
    """One bar per scored step; a whole-sample node contributes one bar per step inside it."""
    bars: list[StepBar] = []
    for node in path:
        data = tree.graph.nodes[node]
        if data["score"] is None:
            continue
        step_scores = data["step_scores"] or (data["score"],)
        if len(step_scores) == 1:
            bars.append(StepBar(f"step {len(bars) + 1}", step_scores[0], node, data["text"]))
            continue
        pieces = [p for p in data["text"].split(STEP_STOP) if p.strip()] or [data["text"]]
        for i, score in enumerate(step_scores):
            if score is None:  # unavailable: the node's detail says why
                continue
            piece = pieces[i] if i < len(pieces) else ""
            bars.append(StepBar(f"step {len(bars) + 1}", score, node, piece))
    return bars


def build_prm_figure(tree: ReasoningTree, node_id: str | None = None) -> go.Figure:
    """Bars of step scores on the fixed 0..1 scale, with the path's aggregate as a dashed line."""
    path = tree.path(node_id) if node_id not in (None, ROOT) else best_path(tree)
    bars = step_bars(tree, path)
    how = run_aggregation(tree)
    figure = go.Figure(
        go.Bar(
            name="step score",
            x=[b.label for b in bars],
            y=[b.score for b in bars],
            marker={
                "color": [b.score for b in bars],
                "colorscale": SCORE_COLORSCALE,
                "cmin": 0.0,
                "cmax": 1.0,
            },
            customdata=[b.node_id for b in bars],
            hovertext=[
                f"<b>{b.label}</b> ({html.escape(b.node_id)}): {b.score:.2f}<br>"
                + html.escape(b.text[:PREVIEW_CHARS]).replace("\n", "<br>")
                for b in bars
            ],
            hoverinfo="text",
        )
    )
    if bars:
        value = aggregate([b.score for b in bars], how)
        figure.add_hline(y=value, line={"dash": "dash", "color": "#24292f"})
        title = f"path score ({how} of steps) = {value:.2f}"
    else:
        title = "no scored steps yet"
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"range": [0, 1.05], "title": {"text": "PRM score"}},
        showlegend=False,
    )
    return figure


def path_aggregate(tree: ReasoningTree, node_id: str | None = None) -> float | None:
    """The aggregate the chart shows, or None when no step on the path is scored."""
    path = tree.path(node_id) if node_id not in (None, ROOT) else best_path(tree)
    bars = step_bars(tree, path)
    return aggregate([b.score for b in bars], run_aggregation(tree)) if bars else None
