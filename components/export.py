"""A run as one self-contained HTML file: the growing tree replayed by plotly's own animation
(frames, a play / pause pair of buttons and a scrubber), with plotly.js inlined, so it plays in
any browser with no Python and no network. For slides and for sending a run to someone.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from components.tree_view import build_tree_figure
from core.events import Event, NodeAdded, NodeStarted, NodeText
from core.tree import ReasoningTree

MAX_FRAMES = 150  # plenty for a smooth replay; more only makes the file bigger
FRAME_MS = 300


def _checkpoints(events: Sequence[Event]) -> list[int]:
    """Event counts after which a frame is drawn: every change a viewer would notice, thinned
    to MAX_FRAMES, always ending with the whole run."""
    marks = [
        i + 1
        for i, e in enumerate(events)
        if not isinstance(e, NodeStarted | NodeText) or i + 1 == len(events)
    ]
    marks = marks or [len(events)]
    step = -(-len(marks) // MAX_FRAMES)  # ceiling: at most MAX_FRAMES
    picked = marks[::step]
    return picked if picked[-1] == len(events) else [*picked, len(events)]


def build_replay_figure(events: Sequence[Event]) -> go.Figure:
    """The run's tree with one animation frame per checkpoint; starts on the finished run."""
    tree = ReasoningTree()
    frames, applied = [], 0
    for end in _checkpoints(events):
        for event in events[applied:end]:
            tree.apply(event)
        applied = end
        steps = sum(isinstance(e, NodeAdded) for e in events[:end])
        title = {"text": f"event {end} of {len(events)} · {steps} steps"}
        frames.append(
            go.Frame(data=build_tree_figure(tree).data, name=str(end), layout={"title": title})
        )
    final = build_tree_figure(tree)
    figure = go.Figure(data=final.data, layout=final.layout, frames=frames)
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "fromcurrent": True}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
    figure.update_layout(
        height=max(final.layout.height or 480, 480) + 120,
        margin={"t": 60, "b": 90},
        title={"text": f"{len(events)} events"},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": -0.08,
                "xanchor": "left",
                "buttons": [
                    {"label": "Play", "method": "animate", "args": [None, play]},
                    {"label": "Pause", "method": "animate", "args": [[None], pause]},
                ],
            }
        ],
        sliders=[
            {
                "x": 0.15,
                "y": -0.05,
                "len": 0.85,
                "currentvalue": {"prefix": "events replayed: "},
                "steps": [
                    {
                        "label": frame.name,
                        "method": "animate",
                        "args": [[frame.name], {"frame": {"duration": 0, "redraw": True}}],
                    }
                    for frame in frames
                ],
            }
        ],
    )
    return figure


def build_replay_html(events: Sequence[Event], title: str) -> str:
    """The whole page: plotly.js inlined (no network), the problem as escaped text."""
    figure = build_replay_figure(events)
    body = figure.to_html(include_plotlyjs=True, full_html=False, auto_play=False)
    question = html.escape(next((getattr(e, "question", "") for e in events[:1]), ""))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body style='font-family:sans-serif'>"
        f"<h2>{html.escape(title)}</h2><p>{question}</p>{body}</body></html>"
    )
