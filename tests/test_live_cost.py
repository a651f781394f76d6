"""What the live page costs: the paced fake provider the benchmark watches, and figures rebuilt
only when what they draw changed (pure and AppTest)."""

import itertools
import json
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.run_view import RunFold
from core.events import NodeAdded, NodeStarted, NodeText, RunStarted, StepScored
from core.providers.base import GenerationRequest, Message
from core.providers.choice import fake_choice
from core.providers.fake import FakeProvider, reasoned_script

APP = Path(__file__).resolve().parent.parent / "app.py"


def test_a_paced_fake_writes_every_sequence_a_word_per_step():
    provider = FakeProvider(lambda request, i: ["a b c", "d e"][i], tokens_per_second=50)
    pieces = []
    start = time.monotonic()
    (completions,) = provider.generate_many(
        [GenerationRequest((Message("user", "q"),), n=2)],
        on_text=lambda r, i, text: pieces.append((i, text)),
    )
    elapsed = time.monotonic() - start
    assert pieces == [(0, "a "), (1, "d "), (0, "b "), (1, "e"), (1, ""), (0, "c"), (0, "")]
    assert elapsed >= 3 / 50
    assert [c.text for c in completions] == ["a b c", "d e"]
    assert 2 / 50 <= completions[1].seconds < completions[0].seconds
    assert [c.usage.output_tokens for c in completions] == [3, 2]


def test_the_reasoned_script_writes_a_model_length_step_around_the_calculation():
    request = GenerationRequest((Message("user", "q"),), seed=3, stop=("\n\n",))
    step = reasoned_script(request, 0)
    assert step.startswith("Step 1: To go on from what we know so far")
    assert 35 <= len(step.split()) <= 50
    assert step.endswith(FakeProvider().script(request, 0).partition(": ")[2])


def test_the_fake_pace_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DELIBERATE_FAKE_PACE", "20")
    provider = fake_choice().make()
    assert provider.tokens_per_second == 20.0
    assert provider.script is reasoned_script
    monkeypatch.delenv("DELIBERATE_FAKE_PACE")
    assert fake_choice().make().tokens_per_second is None
    for bad in ("fast", "0", "-3"):
        monkeypatch.setenv("DELIBERATE_FAKE_PACE", bad)
        with pytest.raises(ValueError, match="DELIBERATE_FAKE_PACE must be a positive number"):
            fake_choice()


def test_a_bad_fake_pace_is_explained_and_nothing_runs(fake_env, monkeypatch):
    monkeypatch.setenv("DELIBERATE_FAKE_PACE", "fast")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "DELIBERATE\\_FAKE\\_PACE must be a positive number" in at.sidebar.error[0].value
    assert next(b for b in at.button if b.label == "Run").disabled


def test_streamed_text_leaves_the_structure_version_and_reuse_builds_once_per_version():
    fold = RunFold.from_events(
        [
            RunStarted("r", "beam_search", "q", "72", "fake", "m", "arithmetic"),
            NodeStarted("n1", "root"),
        ]
    )
    assert (fold.applied, fold.structure) == (2, 2)
    fold.catch_up([NodeText("n1", "Step 1: "), NodeText("n1", "48 / 2")], 2)
    assert (fold.applied, fold.structure) == (4, 2)
    built = []
    first = fold.reuse("costs", fold.structure, lambda: built.append(1) or object())
    assert fold.reuse("costs", fold.structure, lambda: built.append(2) or object()) is first
    fold.catch_up([NodeAdded("n1", "root", "Step 1: 48 / 2 = 24."), StepScored("n1", 0.9, "a")], 4)
    assert (fold.applied, fold.structure) == (6, 4)
    assert fold.reuse("costs", fold.structure, lambda: built.append(3) or object()) is not first
    assert built == [1, 3]


def test_the_live_page_redraws_only_what_new_text_changed(fake_env, monkeypatch):
    """While a branch is being written, new words change the panel; once its label (its first
    words) is full, the tree, the PRM chart and the costs are the same objects, drawn from the
    same spec (a rebuilt tree is a fresh plotly mount in the browser)."""
    from components import run_view

    monkeypatch.setattr(run_view, "TREE_SECONDS", 0.0)  # no pacing: only changes rebuild
    release, more, written = threading.Event(), threading.Event(), threading.Event()

    def slow_writer(self, requests, on_text=None):
        for r, request in enumerate(requests):
            for i in range(request.n):
                on_text(r, i, "Step 1: Natalia sold 48 / 2 ")
        written.set()
        assert more.wait(30), "the test never asked for more text"
        for r, request in enumerate(requests):
            for i in range(request.n):
                on_text(r, i, "= 24 clips ")
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
        fold = at.session_state["live_fold"][1]
        tree, prm = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
        built = dict(fold.built)
        at.run()  # nothing new: every figure is the one built before
        assert {k: v[1] for k, v in fold.built.items()} == {k: v[1] for k, v in built.items()}
        written.clear()
        more.set()
        assert written.wait(10)
        time.sleep(0.6)
        at.run()
        assert any("Natalia sold 48 / 2 = 24 clips" in t.value for t in at.text)
        tree_after, prm_after = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
        assert fold.built["tree"][1] is built["tree"][1]
        assert tree_after == tree
        assert fold.built["prm"][1] is built["prm"][1]
        assert fold.built["costs"][1] is built["costs"][1]
        assert prm_after == prm
    finally:
        more.set()
        release.set()
    assert at.session_state["live_worker"].join(30)


def test_one_live_rerun_streams_the_text_panel_and_draws_the_figures_once(fake_env, monkeypatch):
    """Within one fragment rerun the panel follows the words, at most every TEXT_SECONDS, and
    the tree is sent once: the browser redraws only the text between the timed reruns."""
    from components import run_view
    from strategies import streaming

    monkeypatch.setattr(run_view, "STREAM_SECONDS", 1.6)
    monkeypatch.setattr(streaming, "STREAM_INTERVAL", 0.02)  # words far faster than the panel
    release = threading.Event()

    def writer(self, requests, on_text=None):
        for word in range(400):
            for r, request in enumerate(requests):
                for i in range(request.n):
                    on_text(r, i, f"w{word} ")
            time.sleep(0.01)
        assert release.wait(30), "the test never let the call finish"
        return FakeProvider.generate_many(self, requests)

    panels, trees = [], []
    draw_panel, draw_tree = run_view._draw_panel, run_view._render_tree

    def panel(column, slots, fold, shown):
        lines = draw_panel(column, slots, fold, shown)
        if lines != shown:
            panels.append(time.monotonic())
        return lines

    monkeypatch.setattr(run_view, "_draw_panel", panel)
    monkeypatch.setattr(
        run_view, "_render_tree", lambda *a, **k: trees.append(1) or draw_tree(*a, **k)
    )
    monkeypatch.setattr(FakeProvider, "generate_many", writer)
    at = AppTest.from_file(APP, default_timeout=60).run()
    try:
        next(b for b in at.button if b.label == "Run").click().run()
    finally:
        release.set()
    assert trees == [1]
    assert len(panels) >= 4  # the words went on growing after the figures were drawn
    gaps = [b - a for a, b in itertools.pairwise(panels[1:])]  # the second may come at once
    assert min(gaps) >= run_view.TEXT_SECONDS * 0.95
    assert at.session_state["live_worker"].join(30)


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (8, 7), (None, 1)])
def test_the_app_leaves_a_core_to_the_page(monkeypatch, cores, threads):
    import os

    from core.providers.local import THREADS_ENV, page_threads

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert page_threads() == threads
    monkeypatch.delenv(THREADS_ENV, raising=False)
    AppTest.from_file(str(APP), default_timeout=60).run()
    assert os.environ[THREADS_ENV] == str(threads)  # the app's default, before any model loads
    monkeypatch.setenv(THREADS_ENV, "3")
    AppTest.from_file(str(APP), default_timeout=60).run()
    assert os.environ[THREADS_ENV] == "3"  # a user's setting stands
