"""A run exported as one HTML file that replays the growing tree offline."""

import itertools
import json
import re

from components.export import MAX_FRAMES, build_replay_figure, build_replay_html
from core.budget import Budget
from core.providers.fake import FakeProvider
from core.synthetic import synthetic_run
from core.tree import ReasoningTree
from strategies import STRATEGIES

HOSTILE = "</script><script>alert(1)</script><a href='https://evil.example'>x</a>"


def test_the_replay_grows_to_the_whole_tree(pens, arithmetic):
    events = list(STRATEGIES["beam_search"](pens, FakeProvider(), arithmetic, Budget(n=4)))
    figure = build_replay_figure(events)
    ids = [{n for t in frame.data for n in (t.customdata or [])} for frame in figure.frames]
    assert len(ids[0]) < len(ids[-1]) == len(ReasoningTree.from_events(events).graph)
    assert all(a <= b for a, b in itertools.pairwise(ids))  # it only grows
    assert figure.layout.updatemenus[0].buttons[0].label == "Play"
    assert len(figure.layout.sliders[0].steps) == len(figure.frames)


def test_big_runs_are_thinned_to_a_bounded_number_of_frames():
    events = synthetic_run(200)
    assert len(build_replay_figure(events).frames) <= MAX_FRAMES + 1


def test_the_file_is_self_contained_and_model_text_stays_inert(pens, arithmetic):
    hostile = FakeProvider(lambda request, index: f"Step 1: {HOSTILE} \\boxed{{29}}")
    events = list(STRATEGIES["best_of_n"](pens, hostile, arithmetic, Budget(n=2)))
    page = build_replay_html(events, "A run <b>title</b>")
    assert not re.search(r"<script[^>]+src=", page) and "Plotly.newPlot" in page  # inlined
    assert "<script>alert(1)" not in page and "evil.example'>" not in page
    assert "A run &lt;b&gt;title&lt;/b&gt;" in page
    data = json.loads(re.search(r"Plotly.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", page, re.S)[1])
    labels = next(t for t in data if t.get("name") == "labels")["text"]
    assert all("<a" not in label for label in labels)
