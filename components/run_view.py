"""One run on screen: status, reasoning tree, per-step PRM chart, cost meter, clicked node.

`RunFold` is the pure part (the tree and ledger folded incrementally from a growing event list);
the `render_*` functions draw it. Model text is only ever shown through st.code / st.text or
escaped plotly hover text.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.cost_meter import build_cost_table, cost_headline, render_cost_meter
from components.explain import explanation_lines, render_explanations, sentence
from components.figure_export import render_downloads
from components.live_text import (
    GRADES,
    build_live_text,
    live_text_lines,
    outcome_lines,
    render_live_text,
    thinking_caption,
)
from components.prm_chart import build_prm_figure, path_aggregate, run_aggregation
from components.run_files import run_file_name
from components.text import Line, draw_line, render_lines
from components.tree_view import answer_correctness, build_tree_figure, streamed_labels
from core.events import ROOT, Event, NodeText, UsageRecorded
from core.ledger import Ledger
from core.tree import ReasoningTree

T = TypeVar("T")
log = logging.getLogger(__name__)  # DEBUG: each live fragment's script time (live_page.py)

PRESENTER_TREE_HEIGHT = 640  # px: the tree fills a projected screen beside its text
POLL_SECONDS = 0.4  # how often a polling page (replay, compare, batch) reads new events
TREE_SECONDS = 1.2  # how often a live run's figures redraw, at most
TEXT_SECONDS = 0.25  # how often a live run's text panel redraws, at most: new words within 0.5 s
CHECK_SECONDS = 0.1  # how often it looks for new words when it has not just redrawn
# How long one live fragment rerun streams the text panel, and how often it reruns: how long a
# click on the tree waits. 0.6 s against 1.2 s cost Chromium 0.28 against 0.27 CPU s/s.
STREAM_SECONDS = 0.6


@dataclass
class RunFold:
    """Tree, ledger and per-node usage folded from the first `applied` events of a run."""

    tree: ReasoningTree = field(default_factory=ReasoningTree)
    ledger: Ledger = field(default_factory=Ledger)
    usage: dict[str, UsageRecorded] = field(default_factory=dict)
    why: list[str] = field(default_factory=list)  # a sentence per decision (components.explain)
    applied: int = 0
    # Applied events other than NodeText, which only grows a node being written: the PRM chart
    # and the costs change only when this does.
    structure: int = 0
    built: dict[str, tuple[Hashable, Any]] = field(default_factory=dict, repr=False)
    _paced: tuple[Hashable, float] = (None, 0.0)  # (version, monotonic seconds) when last paced
    # A whole-page rerun starts at once while the session's last script thread is still ending
    # (Streamlit's fastReruns): both may catch the same fold up.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_events(cls, events: Sequence[Event]) -> RunFold:
        return cls().catch_up(events)

    def catch_up(self, events: Sequence[Event], start: int | None = None) -> RunFold:
        """Apply events; `start` is the index of `events[0]` in the run (default: from 0)."""
        offset = 0 if start is None else start
        with self._lock:
            for event in events[self.applied - offset :]:
                self.tree.apply(event)
                self.ledger.apply(event)
                if (said := sentence(event, self.tree)) is not None:
                    self.why.append(said)
                if isinstance(event, UsageRecorded) and event.node_id is not None:
                    self.usage[event.node_id] = event
                self.applied += 1
                self.structure += not isinstance(event, NodeText)
        return self

    def paced(self, every: float, version: Hashable) -> Hashable:
        """`version` as it was when last read at least `every` seconds ago: the version of a
        figure that follows what it draws but is rebuilt no more often than that."""
        now = time.monotonic()
        if self._paced[0] != version and now - self._paced[1] >= every:
            self._paced = (version, now)
        return self._paced[0]

    def reuse(self, name: str, version: Hashable, build: Callable[[], T]) -> T:
        """`build()` once per `version` of what it draws: a live page redraws the same figure
        from the same object while nothing it shows changed (and the browser, handed the same
        spec again, does not redraw it)."""
        cached = self.built.get(name)
        if cached is None or cached[0] != version:
            cached = (version, build())
            self.built[name] = cached
        return cached[1]


def node_details(fold: RunFold, node_id: str) -> dict[str, str]:
    """A clicked node's numbers, formatted (its text is shown separately, verbatim)."""
    data = fold.tree.graph.nodes[node_id]
    if node_id == ROOT:
        reference = fold.tree.started.reference if fold.tree.started else None
        return {"reference answer": reference or "none given"}
    details = {"role": data["role"], "depth": str(data["depth"])}
    details["PRM score"] = "not scored" if data["score"] is None else f"{data['score']:.3f}"
    if len(data["step_scores"]) > 1:
        details["step scores"] = ", ".join(
            "unavailable" if s is None else f"{s:.3f}" for s in data["step_scores"]
        )
    if data.get("score_detail"):
        details["verifier says"] = data["score_detail"]
    usage = fold.usage.get(node_id)
    details["output tokens"] = f"{data['output_tokens']:,}"
    if usage is not None:
        details["input tokens"] = f"{usage.input_tokens:,}"
        details["seconds"] = f"{usage.seconds:.2f}"
    if data["visits"]:
        details["MCTS visits / value"] = f"{data['visits']} / {data['value']:.3f}"
    if data["answer"] is not None:
        details["answer"] = f"{data['answer']} ({GRADES[answer_correctness(fold.tree, node_id)]})"
    details["pruned"] = "yes" if data["pruned"] else "no"
    return details


def clicked_node(points: Sequence[dict[str, Any]]) -> str | None:
    """The node id carried (as customdata) by the first clicked point, if any."""
    for point in points:
        node = point.get("customdata")
        node = node[0] if isinstance(node, list) and node else node
        if isinstance(node, str):
            return node
    return None


def _remember_click(chart_key: str, node_key: str) -> None:
    """on_select callback: keep the clicked node, since the chart's own state resets each redraw."""
    state = st.session_state.get(chart_key)
    st.session_state[node_key] = clicked_node(state["selection"]["points"] if state else [])


def render_run(
    fold: RunFold, key: str, narrow: bool = False, present: bool = False, exports: bool = False
) -> None:
    """Status, tree (clickable), PRM chart, cost meter and the clicked node for one run;
    `narrow` stacks the PRM chart above the cost meter (for side-by-side panels); `present`
    (presenter view) keeps the tree and its text side by side and large, the costs one line;
    `exports` adds PNG / SVG / HTML downloads under the tree and the PRM chart (not while it
    grows)."""
    render_lines(outcome_lines(fold.tree))
    live = fold.tree.finished is None or bool(fold.tree.writing())
    beside = present or (live and not narrow)
    tree_column, text_column = st.columns([3, 2]) if beside else (st.container(), st.container())
    with tree_column:
        selected = _render_tree(fold, key, present, exports)
    with text_column:
        if live or present:
            render_live_text(fold.tree)
        render_explanations(fold.why)
    _render_below(fold, key, narrow, present, exports, selected)


def render_live_run(
    key: str,
    run_id: str,
    events_from: Callable[[int], Sequence[Event]],
    running: Callable[[], bool],
    present: bool = False,
) -> None:
    """A run while it goes, in a fragment rerun every STREAM_SECONDS: each rerun draws the status
    and the text being written, then the tree, PRM chart and costs (rebuilt only when what they
    draw changed, and at most every TREE_SECONDS), then, for STREAM_SECONDS, redraws the lines
    of the text panel that changed, at most every TEXT_SECONDS. The words keep pace with the
    model, the browser redraws only them, and they wait for the figures once per rerun at most.
    When the run ends the whole page reruns (and draws it with `render_run`).

    Streamlit (1.67) queues the fragment's next timed rerun, and a click on the tree, behind the
    running one rather than interrupting it, so the next rerun starts as this one ends and a
    click is drawn about STREAM_SECONDS later at most; a whole-page rerun (Stop) starts at once."""

    def tick() -> None:
        fold = cached_fold(key, run_id, events_from)
        tree_column, text_column = st.columns([3, 2])
        panel: list[DeltaGenerator] = []  # a placeholder per line of the panel
        # A rerun's first panel draw may show nothing new: look again soon, not TEXT_SECONDS on.
        shown = _draw_panel(text_column, panel, fold, [])
        next_draw = time.monotonic() + CHECK_SECONDS
        start = time.perf_counter(), time.thread_time()
        with tree_column:
            selected = _render_tree(fold, key, present, exports=False, every=TREE_SECONDS)
            _render_below(fold, key, narrow=True, present=present, exports=False, selected=selected)
        log.debug("tree fragment %.2f ms, CPU %.2f ms", *_elapsed_ms(start))
        until = time.monotonic() + STREAM_SECONDS
        while running():
            time.sleep(max(0.0, min(next_draw, until) - time.monotonic()))
            if not running():
                break
            if time.monotonic() >= until:
                return
            drawn = _draw_panel(text_column, panel, cached_fold(key, run_id, events_from), shown)
            next_draw = time.monotonic() + (TEXT_SECONDS if drawn != shown else CHECK_SECONDS)
            shown = drawn
        st.rerun()

    st.fragment(run_every=STREAM_SECONDS)(tick)()


def panel_lines(fold: RunFold) -> list[Line]:
    """The text column of a live run: its state, what is being written, why the search did
    what it did."""
    return outcome_lines(fold.tree) + live_text_lines(fold.tree) + explanation_lines(fold.why)


def _draw_panel(
    column: DeltaGenerator, slots: list[DeltaGenerator], fold: RunFold, shown: list[Line]
) -> list[Line]:
    """Redraw the lines of the panel that changed since `shown`, each in its own placeholder in
    `column` (`slots`, added as the panel grows, emptied as it shrinks); returns what it shows.
    One element per placeholder: a container redrawn shorter would leave its old last elements
    on the page until the next rerun (Streamlit 1.67 keeps a replaced block's extra children)."""
    lines = panel_lines(fold)
    start = time.perf_counter(), time.thread_time()
    for i, line in enumerate(lines):
        if i == len(slots):
            slots.append(column.empty())
        if i >= len(shown) or shown[i] != line:
            draw_line(slots[i], line)
    for slot in slots[len(lines) : len(shown)]:
        slot.empty()
    if lines != shown and log.isEnabledFor(logging.DEBUG):  # benchmarks/live_page.py
        drawn = zlib.crc32("".join(e.text for e in build_live_text(fold.tree)[0]).encode())
        log.debug("text fragment %.2f ms, CPU %.2f ms, text %d", *_elapsed_ms(start), drawn)
    return lines


def render_waiting_tree(question: str, key: str) -> None:
    """Before a run: the problem alone, where its tree will grow. Drawn now, the chart also
    loads the browser's plotly code before Run rather than during the run's first seconds (on
    2 cores with the model writing, that load held the first words back about 3 s)."""
    st.plotly_chart(build_tree_figure(ReasoningTree.of_problem(question)), key=key, width="stretch")


def _elapsed_ms(start: tuple[float, float]) -> tuple[float, float]:
    """Milliseconds since `start` = (perf_counter, thread_time): (wall, this thread's CPU)."""
    return 1000 * (time.perf_counter() - start[0]), 1000 * (time.thread_time() - start[1])


def _render_tree(
    fold: RunFold, key: str, present: bool, exports: bool, every: float = 0.0
) -> str | None:
    """The clickable tree (with its downloads), rebuilt at most every `every` seconds while
    events arrive; returns the node clicked, if any."""
    tree, node_key, chart_key = fold.tree, f"{key}_node", f"{key}_tree"
    selected = st.session_state.get(node_key)
    if selected not in tree.graph:
        selected = None

    def build() -> go.Figure:
        figure = build_tree_figure(tree, selected)
        if present:
            figure.update_layout(height=PRESENTER_TREE_HEIGHT, font={"size": 16})
        return figure

    drawn = fold.paced(every, (fold.structure, streamed_labels(tree)))
    figure = fold.reuse("tree", (drawn, selected, present), build)
    st.plotly_chart(
        figure,
        key=chart_key,
        on_select=lambda: _remember_click(chart_key, node_key),
        selection_mode="points",
        width="stretch",
    )
    if exports:
        render_downloads(figure, f"{run_file_name(tree.started)}-tree", f"{key}_tree_files")
    return selected


def _render_below(
    fold: RunFold, key: str, narrow: bool, present: bool, exports: bool, selected: str | None
) -> None:
    """Under the tree: the costs on one line (presenter view), or the PRM chart and cost meter;
    then the clicked node."""
    if present:
        for column, (label, value) in zip(
            st.columns(4), cost_headline(fold.ledger).items(), strict=True
        ):
            column.metric(label, value)
    else:
        _render_details(fold, key, narrow, selected, exports)
    if selected is not None:
        render_node(fold, selected)


def _render_details(
    fold: RunFold, key: str, narrow: bool, selected: str | None, exports: bool
) -> None:
    """The tree's legend, the PRM chart of a path (with its downloads) and the cost meter."""
    tree = fold.tree
    name = run_file_name(tree.started)
    steps = len(tree) - 1
    st.caption(
        f"The reasoning tree: {steps} step{'' if steps == 1 else 's'}. Colour = PRM score "
        "(red 0, green 1); light blue = being written; grey = pruned; blue ring = chosen path; "
        "✓ ✗ ? = answer right, wrong, unknown. Each node's label is its last calculation or first "
        "words; click a node to read it all."
    )
    prm_column, cost_column = (st.container(), st.container()) if narrow else st.columns(2)
    with prm_column:
        scored = selected is not None and tree.graph.nodes[selected].get("score") is not None
        scored_node = selected if scored else None
        prm_figure = fold.reuse(
            "prm", (fold.structure, scored_node), lambda: build_prm_figure(tree, scored_node)
        )
        st.plotly_chart(prm_figure, key=f"{key}_prm", width="stretch")
        value = path_aggregate(tree, scored_node)
        which = f"the path to {scored_node}" if scored_node else "the chosen (or best) path"
        shown = "no step scored yet" if value is None else f"{run_aggregation(tree)} = {value:.2f}"
        st.caption(f"PRM score of each step on {which}; path score {shown}.")
        if exports:
            render_downloads(prm_figure, f"{name}-prm", f"{key}_prm_files")
    with cost_column:
        costs = fold.reuse("costs", fold.structure, lambda: build_cost_table(fold.ledger))
        render_cost_meter(fold.ledger, costs)
        st.caption(
            "What the thinking cost so far: generation writes steps, verification scores them."
        )


def render_node(fold: RunFold, node_id: str) -> None:
    data = fold.tree.graph.nodes[node_id]
    st.subheader("The problem" if node_id == ROOT else f"Node {node_id}")
    st.code(data["text"], language=None, wrap_lines=True)
    if data.get("thinking"):
        st.caption(thinking_caption(data))
        st.code(data["thinking"], language=None, wrap_lines=True)
    rows = [{"": name, "value": value} for name, value in node_details(fold, node_id).items()]
    st.dataframe(rows, hide_index=True, width="stretch")  # not st.table: it renders Markdown


def poll_while(running: bool, body: Callable[[], bool], interval: float = POLL_SECONDS) -> None:
    """Draw `body` in a fragment re-run every `interval` seconds while `running`; `body` returns
    whether the work is still going; when it ends the whole page reruns once (buttons, polling off).

    While it polls, a button's callback can run twice for one press, so a button drawn beside it
    sets a state and never toggles one: Streamlit's browser (1.67) holds a press for a send on the
    next task (setTimeout 0) among the widget states that the run_every timer sends too, so when
    that timer is overdue (the page busy drawing the last tick) the press reaches the server with
    the fragment's rerun and again with its own (issue 16)."""

    def tick() -> None:
        still_running = body()
        if running and not still_running:
            st.rerun()

    st.fragment(run_every=interval if running else None)(tick)()


def cached_fold(
    key: str, run_id: str, events_from: Callable[[int], Sequence[Event]], upto: int | None = None
) -> RunFold:
    """The session's fold of run `run_id`, caught up with `events_from(applied)` (and cut at
    event `upto`). Another run, or a scrubber moved backwards, starts a fresh fold."""
    slot = f"{key}_fold"
    cached = st.session_state.get(slot)
    if cached is None or cached[0] != run_id or (upto is not None and cached[1].applied > upto):
        if cached is None or cached[0] != run_id:
            st.session_state[f"{key}_node"] = None
        cached = (run_id, RunFold())
        st.session_state[slot] = cached
    fold = cached[1]
    new = events_from(fold.applied)
    if upto is not None:
        new = new[: max(0, upto - fold.applied)]
    return fold.catch_up(new, fold.applied)
