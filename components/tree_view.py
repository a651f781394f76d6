"""The reasoning tree as a plotly figure: ordered tidy layout, PRM colours, pruned grey, chosen path."""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import networkx as nx
import numpy as np
import plotly.graph_objects as go

from components.live_text import node_label
from core.events import ROOT
from core.tree import ReasoningTree
from core.verifiers.grading import answers_match

# One fixed scale for every run, so a colour means the same score everywhere: red 0, green 1.
SCORE_COLORSCALE = "RdYlGn"
PRUNED_COLOR = "#cfcfcf"
UNSCORED_COLOR = "#ffffff"
CHOSEN_COLOR = "#1f4fbf"
SELECTED_COLOR = "#ff7f0e"
EDGE_COLOR = "#9a9a9a"
ANSWER_MARKS = {True: ("✓", "#1a7f37"), False: ("✗", "#cf222e"), None: ("?", "#6e7781")}
ANSWER_OFFSET = 0.3  # rows below the node
LABEL_OFFSET = 0.22  # rows above the node: its key calculation or first words
LABEL_MARGIN = 70  # px: half of a 22-character label at 11 px
WRITING_COLOR = "#dbe9ff"  # a node whose text is still being written
PRUNED_TEXT = "#9a9a9a"  # pruned branches fade, labels too
HOVER_CHARS = 600  # the hover shows a preview; a click shows the whole step
HOVER_WIDTH = 72


def tidy_layout(graph: nx.DiGraph, root: str = ROOT) -> dict[str, tuple[float, float]]:
    """Ordered-leaf tidy layout: leaves take consecutive columns in sibling order, each parent is
    centred over its first and last child, and a node's row is its depth (root on top)."""
    succ = graph.succ
    pos: dict[str, tuple[float, float]] = {}
    next_column = 0.0
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:  # iterative post-order: deep trees must not hit the recursion limit
        node, children_done = stack.pop()
        children = list(succ[node])
        if not children_done and children:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        if children:
            x = (pos[children[0]][0] + pos[children[-1]][0]) / 2
        else:
            x = next_column
            next_column += 1
        pos[node] = (x, -float(graph.nodes[node]["depth"]))
    return pos


@lru_cache(maxsize=4096)
def _matches(answer: str, reference: str) -> bool:
    return answers_match(answer, reference)


def answer_correctness(tree: ReasoningTree, node_id: str) -> bool | None:
    """The chosen answer's grade from the run; other answers compared with the reference."""
    data = tree.graph.nodes[node_id]
    if tree.chosen is not None and tree.chosen.node_id == node_id:
        return tree.chosen.correct
    reference = tree.started.reference if tree.started else None
    if data.get("answer") is None or reference is None:
        return None
    return _matches(data["answer"], reference)


def greyed_nodes(tree: ReasoningTree) -> set[str]:
    """Pruned nodes and everything below them."""
    g = tree.graph
    grey: set[str] = set()
    for node in g:  # insertion order: a parent always comes before its children
        if node == ROOT:
            continue
        parent = next(iter(g.pred[node]))
        if g.nodes[node].get("pruned") or parent in grey:
            grey.add(node)
    return grey


def _shown_text(data: dict) -> str:
    """A node's text; while it is written (or its call has not returned) and has none, its
    thinking so far."""
    streamed = data.get("writing") or data.get("written")
    return data["text"] or (data.get("thinking", "") if streamed else "")


@lru_cache(maxsize=8192)
def _label(text: str, writing: bool) -> str:
    """The node's label, made inert for plotly's text, which renders a subset of HTML."""
    return html.escape(node_label(text, writing))


@lru_cache(maxsize=8192)
def _escaped_lines(text: str) -> tuple[str, ...]:
    """Model text made inert for plotly's hover, which renders a subset of HTML."""
    preview = text if len(text) <= HOVER_CHARS else text[:HOVER_CHARS] + " …"
    lines = []
    for paragraph in preview.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, HOVER_WIDTH) or [""]
    return tuple(html.escape(line) for line in lines)


def streamed_labels(tree: ReasoningTree) -> tuple[tuple[str, bool, str], ...]:
    """(node, being written, label) of the nodes whose text arrives in pieces (being written, or
    written while their call goes on): with the count of other events, what decides whether the
    tree figure changed, since those pieces show on it only through these (a finished piece
    turns a node from being written to written: its colour and hover change)."""
    g = tree.graph
    return tuple(
        (n, bool(data.get("writing")), node_label(_shown_text(data), bool(data.get("writing"))))
        for n, data in g.nodes(data=True)
        if data.get("writing") or data.get("written")
    )


def node_hover(tree: ReasoningTree, node_id: str) -> str:
    data = tree.graph.nodes[node_id]
    if node_id == ROOT:
        return "<br>".join(["<b>Problem</b>", *_escaped_lines(data["text"])])
    head = f"<b>{html.escape(node_id)}</b> · {html.escape(data['role'])} · depth {data['depth']}"
    lines = [head]
    if data["score"] is not None:
        lines.append(f"PRM score {data['score']:.2f}")
    if len(data["step_scores"]) > 1:
        shown = ("-" if s is None else f"{s:.2f}" for s in data["step_scores"])
        lines.append("step scores " + ", ".join(shown))
    lines.append(f"{data['output_tokens']} output tokens")
    if data["visits"]:
        lines.append(f"MCTS visits {data['visits']}, value {data['value']:.2f}")
    if data["answer"] is not None:
        mark = {True: "correct", False: "wrong", None: "correctness unknown"}
        grade = mark[answer_correctness(tree, node_id)]
        lines.append(f"answer {html.escape(data['answer'])} ({grade})")
    if data["pruned"]:
        lines.append("pruned by the search")
    if data.get("writing"):  # its text grows faster than the figure is redrawn
        return "<br>".join([*lines, "being written now: its words grow in the panel beside"])
    if data.get("written") and tree.finished is not None:
        lines.append("written in full; the run ended before its call returned (not scored)")
    elif data.get("written"):
        lines.append("written; the rest of its model call is still being written")
    elif data.get("interrupted"):
        lines.append("cut off when the run ended")
    return "<br>".join([*lines, "", *_escaped_lines(data["text"])])


def _edges(
    g: nx.DiGraph, pos: dict[str, tuple[float, float]], keep: Callable[[str], bool]
) -> tuple[np.ndarray, np.ndarray]:
    """Segments parent -> node as one polyline broken by NaN (plotly draws no line across NaN)."""
    xs: list[float] = []
    ys: list[float] = []
    for node in g:
        if node == ROOT or not keep(node):
            continue
        parent = next(iter(g.pred[node]))
        xs += [pos[parent][0], pos[node][0], math.nan]
        ys += [pos[parent][1], pos[node][1], math.nan]
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def _marker_size(nodes: int) -> int:
    return 18 if nodes <= 40 else 12 if nodes <= 150 else 8


def _ring(name: str, xy: list[tuple[float, float]], size: int, color: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "name": name,
        "x": np.array([p[0] for p in xy], dtype=float),
        "y": np.array([p[1] for p in xy], dtype=float),
        "mode": "markers",
        "hoverinfo": "skip",
        "showlegend": False,
        "marker": {
            "symbol": "circle-open",
            "size": size,
            "color": color,
            "line": {"width": 3, "color": color},
        },
    }


def build_tree_figure(tree: ReasoningTree, selected: str | None = None) -> go.Figure:
    """Root = the problem; colour = PRM score on a fixed 0..1 scale; pruned branches grey;
    the chosen path outlined; final answers marked ✓ / ✗ / ?; `selected` ringed."""
    g = tree.graph
    pos = tidy_layout(g)
    grey = greyed_nodes(tree)
    chosen = tree.chosen_path()
    on_path = set(chosen)
    size = _marker_size(len(g))

    # Plain trace dicts with numpy arrays: plotly validates them in bulk instead of per element,
    # which keeps a 500-node redraw far below the 100 ms budget.
    def nodes_trace(name: str, members: list[str], marker: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "scatter",
            "name": name,
            "x": np.array([pos[n][0] for n in members], dtype=float),
            "y": np.array([pos[n][1] for n in members], dtype=float),
            "mode": "markers",
            "marker": {"size": size, "line": {"width": 1, "color": "#555"}, **marker},
            "customdata": members,
            "hovertext": [node_hover(tree, n) for n in members],
            "hoverinfo": "text",
        }

    def lines_trace(name: str, keep: Callable[[str], bool], line: dict[str, Any]) -> dict[str, Any]:
        x, y = _edges(g, pos, keep)
        return {
            "type": "scatter",
            "name": name,
            "x": x,
            "y": y,
            "mode": "lines",
            "hoverinfo": "skip",
            "line": line,
            "showlegend": name == "chosen path",
        }

    steps = [n for n in g if n != ROOT]
    writing = [n for n in steps if g.nodes[n].get("writing")]
    scored = [n for n in steps if n not in grey and g.nodes[n]["score"] is not None]
    unscored = [
        n
        for n in steps
        if n not in grey and g.nodes[n]["score"] is None and not g.nodes[n].get("writing")
    ]
    pruned = [n for n in steps if n in grey]
    answers = [n for n in steps if g.nodes[n]["answer"] is not None]
    marks = [ANSWER_MARKS[answer_correctness(tree, n)] for n in answers]
    traces = [
        lines_trace("edges", lambda n: n not in grey, {"color": EDGE_COLOR, "width": 1.2}),
        lines_trace(
            "pruned branches",
            lambda n: n in grey,
            {"color": PRUNED_COLOR, "width": 1, "dash": "dot"},
        ),
        lines_trace("chosen path", lambda n: n in on_path, {"color": CHOSEN_COLOR, "width": 4}),
        nodes_trace("problem", [ROOT], {"color": "#24292f", "symbol": "square", "size": size + 4}),
        nodes_trace(
            "scored step",
            scored,
            {
                "color": np.array([g.nodes[n]["score"] for n in scored], dtype=float),
                "colorscale": SCORE_COLORSCALE,
                "cmin": 0.0,
                "cmax": 1.0,
                "showscale": False,
            },
        ),
        nodes_trace("not scored yet", unscored, {"color": UNSCORED_COLOR}),
        nodes_trace(
            "being written",
            writing,
            {"color": WRITING_COLOR, "line": {"width": 2.5, "color": CHOSEN_COLOR}},
        ),
        {
            "type": "scatter",
            "name": "labels",
            "mode": "text",
            "hoverinfo": "skip",
            "showlegend": False,
            "x": np.array([pos[n][0] for n in steps], dtype=float),
            "y": np.array([pos[n][1] + LABEL_OFFSET for n in steps], dtype=float),
            "text": [
                _label(_shown_text(g.nodes[n]), bool(g.nodes[n].get("writing"))) for n in steps
            ],
            "textposition": "middle center",
            "cliponaxis": False,  # the outermost nodes' labels run into the side margins
            "textfont": {
                "size": 11 if len(steps) <= 40 else 9,
                "color": [PRUNED_TEXT if n in grey else "#24292f" for n in steps],
            },
        },
        nodes_trace(
            "pruned", pruned, {"color": PRUNED_COLOR, "line": {"width": 1, "color": "#aaa"}}
        ),
        _ring("chosen answer path", [pos[n] for n in chosen], size + 8, CHOSEN_COLOR),
        {
            "type": "scatter",
            "name": "answers",
            "mode": "text",
            "hoverinfo": "skip",
            "showlegend": False,
            "x": np.array([pos[n][0] for n in answers], dtype=float),
            # A text-only trace is anchored at the node's centre: shift the mark below the marker.
            "y": np.array([pos[n][1] - ANSWER_OFFSET for n in answers], dtype=float),
            "text": [mark for mark, _ in marks],
            "textposition": "middle center",
            "textfont": {"color": [color for _, color in marks], "size": 16},
        },
        # An empty trace that only carries the colorbar, so the legend is there from the start.
        {
            "type": "scatter",
            "name": "PRM score scale",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "hoverinfo": "skip",
            "showlegend": False,
            "marker": {
                "color": [0.0],
                "colorscale": SCORE_COLORSCALE,
                "cmin": 0.0,
                "cmax": 1.0,
                "showscale": True,
                "colorbar": {"title": {"text": "PRM score"}, "thickness": 12, "len": 0.8},
            },
        },
    ]
    if selected is not None and selected in pos:
        traces.append(_ring("selected", [pos[selected]], size + 14, SELECTED_COLOR))
    depth = max((d for _, d in g.nodes(data="depth")), default=0)
    layout = {
        "height": int(min(720, max(320, 150 + 95 * depth))),
        # Half a label's width at each side, so the outermost labels are not cut off.
        "margin": {"l": LABEL_MARGIN, "r": LABEL_MARGIN, "t": 10, "b": 10},
        "xaxis": {"visible": False},
        # Room below the deepest row for the answer marks.
        "yaxis": {"visible": False, "range": [-depth - 0.6, 0.55]},
        "legend": {"orientation": "h", "y": -0.02, "yanchor": "top"},
        "hovermode": "closest",
        "clickmode": "event+select",
        "dragmode": "pan",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "uirevision": "tree",  # keep the user's zoom and pan while the tree grows
    }
    return go.Figure(data=traces, layout=layout)
