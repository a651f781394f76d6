"""The live view: labels, the progress line, the panel of text being written (pure and AppTest)."""

import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from components.live_text import build_live_text, node_label, progress_line, thinking_caption
from components.tree_view import build_tree_figure
from core.events import (
    NodeAdded,
    NodePruned,
    NodeStarted,
    NodeText,
    RunFinished,
    RunStarted,
    StepScored,
)
from core.providers.fake import FakeProvider
from core.tree import ReasoningTree

APP = Path(__file__).resolve().parent.parent / "app.py"


def growing_tree() -> ReasoningTree:
    return ReasoningTree.from_events(
        [
            RunStarted("r", "beam_search", "q", "72", "fake", "m", "arithmetic"),
            NodeStarted("n1", "root"),
            NodeAdded("n1", "root", "Step 1: In May she sold 48 / 2 = 24 clips."),
            StepScored("n1", 0.9, "arithmetic"),
            NodeStarted("n2", "root"),
            NodeAdded("n2", "root", "Step 1: 48 / 2 = 25 clips."),
            StepScored("n2", 0.05, "arithmetic"),
            NodePruned("n2", "lower PRM score"),
            NodeStarted("n3", "n1"),
            NodeText("n3", "Step 2: Altogether she sold 48 + 24"),
            NodeStarted("n4", "n1"),
        ]
    )


def test_labels_are_the_calculation_or_the_first_words():
    assert node_label("Step 1: In May she sold 48 / 2 = 24 clips.") == "48 / 2 = 24"
    assert node_label(r"So \( 2S = 118 \) and \( 59 \times 2 = 118 \).") == "59 \\times 2 = 118"
    assert node_label("First, let us read the problem carefully.") == "First, let us read th…"
    # Being written: its first words, which stay put as it grows (no calculation yet: it may
    # be cut mid-number).
    assert node_label("so she sold 48 + 24 clips in all", writing=True) == "so she sold 48 + 24 c…"
    assert node_label("48 / 2 = 2", writing=True) == "48 / 2 = 2"


def test_the_panel_shows_what_is_being_written_and_the_last_finished_steps():
    writing, recent = build_live_text(growing_tree())
    assert [(e.node_id, e.text) for e in writing] == [
        ("n4", ""),
        ("n3", "Step 2: Altogether she sold 48 + 24"),
    ]
    assert [(e.node_id, e.score) for e in recent] == [("n2", 0.05), ("n1", 0.9)]


def test_the_progress_line_counts_the_deepest_level():
    assert progress_line(growing_tree()) == "depth 2: 2 branches writing"
    tree = growing_tree()
    tree.apply(NodeAdded("n3", "n1", "Step 2: 48 + 24 = 72."))
    tree.apply(StepScored("n3", 0.9, "arithmetic"))
    assert progress_line(tree) == "depth 2: 1 branch writing, 1 written, 1 scored"


def test_a_branch_that_ended_leaves_the_panel_while_its_batch_writes_on():
    tree = growing_tree()
    tree.apply(NodeText("n3", " = 72."))
    tree.apply(NodeText("n3", "", done=True))  # its sample ended; n4 still writes
    writing, recent = build_live_text(tree)
    assert [e.node_id for e in writing] == ["n4"]
    assert (recent[0].node_id, recent[0].text, recent[0].waiting) == (
        "n3",
        "Step 2: Altogether she sold 48 + 24 = 72.",
        True,
    )
    assert progress_line(tree) == "depth 2: 1 branch writing, 1 written"
    tree.apply(NodeAdded("n3", "n1", "Step 2: Altogether she sold 48 + 24 = 72."))
    assert not build_live_text(tree)[1][0].waiting


def test_the_thinking_caption_says_whether_it_is_streamed_or_returned():
    events = [
        RunStarted("r", "native_thinking", "q", "72", "fake", "m", "arithmetic"),
        NodeStarted("n1", "root"),
        NodeText("n1", "Maybe 48 / 2 = 24", thinking=True),
        NodeStarted("n2", "root"),
        NodeText("n2", "Maybe 48 / 2 = 24", thinking=True),
        NodeText("n2", "She sold 72 clips."),
        NodeStarted("n3", "root"),
        NodeAdded("n3", "root", "She sold 72 clips.", thinking="**Counting clips**"),
    ]
    tree = ReasoningTree.from_events(events)
    captions = [thinking_caption(tree.graph.nodes[n]) for n in ("n1", "n2", "n3")]
    assert "no answer yet" in captions[0]
    assert "before answering" in captions[1]
    assert "summary" in captions[2] and "writes" not in captions[2]
    assert not any("hidden" in c for c in captions)
    stopped = ReasoningTree.from_events([*events, RunFinished("stopped")])
    assert "stopped" in thinking_caption(stopped.graph.nodes["n1"])


def test_nodes_being_written_are_drawn_with_labels():
    figure = build_tree_figure(growing_tree()).to_plotly_json()
    traces = {t["name"]: t for t in figure["data"]}
    assert list(traces["being written"]["customdata"]) == ["n3", "n4"]
    assert "48 / 2 = 24" in list(traces["labels"]["text"])


def test_the_live_page_shows_text_before_the_node_is_finished(monkeypatch, tmp_path):
    monkeypatch.setenv("DELIBERATE_PROVIDER", "fake")
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path / "data"))
    release = threading.Event()
    written = threading.Event()

    def slow_writer(self, requests, on_text=None):
        for r, request in enumerate(requests):
            for i in range(request.n):
                on_text(r, i, "Step 1: Natalia sold 48 / 2 ")
        written.set()
        assert release.wait(30), "the test never let the call finish"
        return FakeProvider.generate_many(self, requests)

    monkeypatch.setattr(FakeProvider, "generate_many", slow_writer)
    at = AppTest.from_file(APP, default_timeout=60).run()
    next(b for b in at.button if b.label == "Run").click().run()
    try:
        assert written.wait(10)
        time.sleep(0.6)  # one streaming interval: the text is in the event list
        at.run()
        shown = [t.value for t in at.text]
        assert any("Natalia sold 48 / 2" in text for text in shown), shown
        assert any("Being written now" in m.value for m in at.markdown)
    finally:
        release.set()
    assert at.session_state["live_worker"].join(30)


def test_replay_steps_count_streamed_text_lightly():
    from components.replay_pace import advance_replay

    events = [
        NodeStarted("n1", "root"),
        *[NodeText("n1", "word ") for _ in range(8)],
        NodeAdded("n1", "root", "word " * 8),
        StepScored("n1", 0.5, "arithmetic"),
    ]
    assert advance_replay(events, 0, 1.0) == 8  # the start and seven pieces of text
    assert advance_replay(events, 0, 3.0) == len(events)
    assert advance_replay(events, len(events), 5.0) == len(events)


def test_every_cut_and_choice_is_explained_in_plain_words():
    from components.explain import explain
    from core.events import AnswerChosen, NodeSelected

    events = [
        RunStarted("r", "beam_search", "q", "72", "fake", "m", "arithmetic"),
        NodeAdded("n1", "root", "48 / 2 = 24"),
        StepScored("n1", 0.9, "arithmetic", "1 claim checked, all right"),
        NodeAdded("n2", "root", "48 / 2 = 25"),
        StepScored("n2", 0.05, "arithmetic", "wrong: 48 / 2 = 25 (is 24)"),
        NodeSelected("n1", "kept at depth 1"),
        NodePruned("n2", "cut at depth 1"),
        AnswerChosen("n1", "72", True, "best of 1 finished beams"),
    ]
    assert explain(events) == [
        "step 1 (n2) claims 48 / 2 = 25; the checker computes 24, so this branch was cut "
        "(cut at depth 1)",
        "chose the answer 72 by best of 1 finished beams; it is right",
    ]


def test_a_branch_that_ended_while_thinking_keeps_its_thinking_on_the_panel():
    tree = growing_tree()
    tree.apply(NodeText("n4", "48 and half of it", thinking=True))
    tree.apply(NodeText("n4", "", done=True))  # out of tokens before any answer text
    recent = build_live_text(tree)[1]
    assert (recent[0].node_id, recent[0].text, recent[0].thinking) == (
        "n4",
        "48 and half of it",
        True,
    )
    assert thinking_caption(tree.graph.nodes["n4"]) == "Its thinking, as the model wrote it"
    assert "48 and half" in build_tree_figure(tree).to_json()  # its label is not blank


def test_the_live_tree_follows_the_events_but_is_rebuilt_at_most_every_tree_seconds(monkeypatch):
    from components import run_view
    from components.run_view import RunFold

    clock = [100.0]
    monkeypatch.setattr(run_view.time, "monotonic", lambda: clock[0])
    fold = RunFold()
    assert fold.paced(1.2, "a") == "a"
    clock[0] += 0.4
    assert fold.paced(1.2, "b") == "a"  # too soon: the last figure is drawn again
    clock[0] += 0.8
    assert fold.paced(1.2, "b") == "b"
    clock[0] += 5.0
    assert fold.paced(1.2, "b") == "b"  # nothing new: nothing to rebuild
    assert fold.paced(1.2, "c") == "c"  # a change after a quiet spell shows at once


def test_the_tree_figure_changes_with_structure_or_labels_not_with_every_word():
    """A branch's words land in the text panel as they come; the tree figure (rebuilt on a
    browser remount, the page's costliest redraw) changes only when its labels do."""
    from components.run_view import RunFold
    from components.tree_view import node_hover, streamed_labels

    events = [
        RunStarted("r", "beam_search", "q", "72", "fake", "m", "arithmetic"),
        NodeStarted("n1", "root", "step"),
        NodeText("n1", "First, ", 0.1),
    ]
    fold = RunFold.from_events(events)
    before = (fold.structure, streamed_labels(fold.tree))
    events.append(NodeText("n1", "we read what she sold in May, ", 0.2))  # no calculation
    fold.catch_up(events)
    full = (fold.structure, streamed_labels(fold.tree))
    assert full != before and full[1] == (("n1", True, "First, we read what s…"),)  # filled
    events.append(NodeText("n1", "and then a good many more words than it has room for", 0.3))
    fold.catch_up(events)
    assert (fold.structure, streamed_labels(fold.tree)) == full
    assert "good many" not in node_hover(fold.tree, "n1")  # the hover does not go stale: no text
    events.append(NodeText("n1", "", 0.4, done=True))  # its sample ended, its call goes on
    fold.catch_up(events)
    assert streamed_labels(fold.tree) != full[1]  # no longer drawn as being written
    assert "good many" in node_hover(fold.tree, "n1")


class Placeholder:
    """Stands in for st.empty(): records what is drawn into it."""

    def __init__(self, log: list) -> None:
        self.log = log

    def __getattr__(self, kind: str):
        return lambda text="": self.log.append((self, kind, text))


def test_the_streamed_panel_redraws_only_changed_lines_and_empties_what_it_no_longer_shows():
    """A placeholder per line: a shorter panel empties its extra placeholders (a container
    redrawn shorter keeps its old last elements on the page), unchanged lines are not re-sent."""
    from components import run_view

    drawn: list = []
    column = Placeholder(drawn)
    column.empty = lambda: Placeholder(drawn)
    slots: list = []
    tree = growing_tree()
    fold = run_view.RunFold(tree=tree)
    first = run_view._draw_panel(column, slots, fold, [])
    assert [kind for _, kind, _ in drawn] == [kind for kind, _ in first]
    assert ("text", "Step 2: Altogether she sold 48 + 24") in first
    drawn.clear()
    tree.apply(NodeText("n3", " = 72."))
    second = run_view._draw_panel(column, slots, fold, first)
    assert [text for _, _, text in drawn] == ["Step 2: Altogether she sold 48 + 24 = 72."]
    drawn.clear()
    tree.apply(NodeText("n4", "Step 2: 72", done=True))
    tree.apply(NodeText("n3", "", done=True))  # both ended: the panel loses its writing part
    third = run_view._draw_panel(column, slots, fold, second)
    assert len(third) < len(second)
    emptied = [slot for slot, kind, _ in drawn if kind == "empty"]
    assert emptied == slots[len(third) : len(second)]
    assert len(slots) == len(second)
