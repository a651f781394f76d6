"""Presenter view, keyboard buttons, the plain thinking control and predict first, through AppTest
with the scripted fake provider (DELIBERATE_PROVIDER=fake: no model is loaded)."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.glossary import term
from components.predict import reveal_index
from components.replay_pace import step_replay
from core.events import NO_ANSWER
from deliberate.recordings import load_recording, recordings

APP = Path(__file__).resolve().parent.parent / "app.py"
TICKETS = next(p for p in recordings() if p.stem == "best-of-4-tickets")


@pytest.fixture(autouse=True)
def fake_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DELIBERATE_PROVIDER", "fake")
    monkeypatch.setenv("DELIBERATE_DATA_DIR", str(tmp_path / "data"))


def start(present: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if present:
        at.query_params["present"] = "1"
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def finish(at: AppTest, key: str):
    workers = at.session_state[key]
    for worker in workers if isinstance(workers, tuple) else (workers,):
        assert worker.join(60)
    at.run()
    assert not at.exception, at.exception
    return workers


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_present_in_the_address_opens_presenter_view_with_the_tree_beside_its_text():
    at = start(present=True)
    assert at.session_state["present"] is True
    assert at.sidebar.toggle(key="present").value is True
    assert any("font-size: 1.35rem" in h.proto.body for h in at.get("html"))
    button(at, "Run").click().run()
    events = finish(at, "live_worker").events()
    (tree,) = plotly_specs(at)  # the PRM chart and the cost table make way for the tree
    assert tree["layout"]["height"] == 640
    assert [m.label for m in at.metric] == ["Input tokens", "Output tokens", "Seconds", "Dollars"]
    assert not at.dataframe
    assert any(m.value == "**Last finished steps**" for m in at.markdown)  # text beside the tree
    assert events[-1].reason == "complete"

    button(at, "Leave presenter view").click().run()
    assert at.session_state["present"] is False
    assert "present" not in at.query_params
    assert len(plotly_specs(at)) == 2 and not at.get("html")


def test_the_sidebar_toggle_puts_presenter_view_in_the_address():
    at = start()
    assert "present" not in at.query_params and not at.get("html")
    at.sidebar.toggle(key="present").set_value(True).run()
    assert at.query_params["present"] == ["1"] or at.query_params["present"] == "1"
    assert any(b.label == "Leave presenter view" for b in at.button)


def test_space_runs_and_stops_a_live_run_and_keys_drive_a_replay():
    at = start()
    assert button(at, "Run").proto.shortcut == "space"
    assert button(at, "Stop").proto.shortcut == ""
    button(at, "Run").click().run()
    finish(at, "live_worker")
    at.switch_page("pages/replay.py").run()
    at.selectbox(key="replay_choice").set_value(f"recording:{TICKETS}").run()
    shortcuts = {b.label: b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert shortcuts == {"◀ Step": "left", "Play": "space", "Step ▶": "right"}
    events = load_recording(TICKETS)
    assert at.session_state["replay_index"] == len(events)
    button(at, "◀ Step").click().run()
    back = step_replay(events, len(events), forward=False)
    assert at.session_state["replay_index"] == back < len(events)
    button(at, "◀ Step").click().run()
    assert at.session_state["replay_index"] == step_replay(events, back, forward=False)
    button(at, "Step ▶").click().run()
    assert at.session_state["replay_index"] == back
    assert at.session_state["replay_fold"][1].applied == back


def test_the_plain_control_sets_each_strategys_knobs_until_an_expert_overrides_them():
    at = start()
    slider = at.sidebar.select_slider(key="set_think")
    assert slider.help == term("thinking budget") and slider.value == 4
    assert at.sidebar.selectbox(key="set_verifier").help == term("PRM")
    slider.set_value(16).run()
    assert at.sidebar.info[0].value.startswith("16 beams of width 2, about ")
    button(at, "Run").click().run()
    budget = finish(at, "live_worker").events()[0].budget
    assert (budget["n"], budget["width"]) == (16, 2)
    assert budget["max_total_tokens"] == 33 * budget["step_tokens"] * budget["max_depth"]

    at.select_slider(key="set_n").set_value(2).run()  # an expert's change overrides
    assert at.session_state["set_manual"] is True
    assert at.sidebar.select_slider(key="set_think").disabled
    button(at, "Run").click().run()
    budget = finish(at, "live_worker").events()[0].budget
    assert (budget["n"], budget["max_total_tokens"]) == (2, 8_000)

    button(at, "Back to the plain thinking control").click().run()
    assert at.session_state["set_manual"] is False
    assert at.sidebar.info[0].value.startswith("16 beams of width 2, about ")


def test_compare_in_teaching_mode_asks_first_and_reveals_against_the_guess():
    at = start()
    at.sidebar.toggle(key="teaching").set_value(True).run()
    at.switch_page("pages/compare.py").run()
    assert button(at, "Run both").disabled  # no guess yet
    at.text_input(key="compare_prediction_guess_text").set_value("42")
    at.radio(key="compare_prediction_guess_right").set_value(True).run()
    button(at, "Lock in my guess").click().run()
    assert not button(at, "Run both").disabled
    button(at, "Run both").click().run()
    _, system_2 = finish(at, "compare_workers")
    chosen = next(e for e in system_2.events() if e.kind == "answer_chosen")
    verdict = at.main.info[-1].value.replace("\\", "")  # shown through plain_markdown
    assert verdict.startswith("You guessed System 2 would answer 42; it answered ")
    grade = "right" if chosen.correct else "wrong"
    assert f"You said it would be right; it was {grade}" in verdict
    assert button(at, "Run both").disabled  # the next run wants a new guess


def test_replay_in_teaching_mode_holds_before_the_choice_until_a_guess():
    at = start()
    at.sidebar.toggle(key="teaching").set_value(True).run()
    at.switch_page("pages/replay.py").run()
    at.selectbox(key="replay_choice").set_value(f"recording:{TICKETS}").run()
    events = load_recording(TICKETS)
    hold = reveal_index(events)
    assert at.session_state["replay_index"] == 0  # opens at the start
    scrubber = at.slider(key="replay_index")
    assert scrubber.max == hold < len(events)  # no further than the choice
    assert not any(r.key == "replay_prediction_guess_pick" for r in at.radio)
    scrubber.set_value(hold).run()
    fold = at.session_state["replay_fold"][1]
    assert fold.tree.chosen is None and fold.tree.started.reference is None  # ✓ ✗ hidden
    pick = at.radio(key="replay_prediction_guess_pick")
    assert pick.options[-1] == NO_ANSWER and len(pick.options) >= 2
    pick.set_value(pick.options[0])
    at.radio(key="replay_prediction_guess_right").set_value(True).run()
    button(at, "Lock in my guess").click().run()
    for _ in range(8):  # past the hold: the final selections and prunes, then the choice
        button(at, "Step ▶").click().run()
        fold = at.session_state["replay_fold"][1]
        if fold.tree.chosen is not None:
            break
    assert fold.tree.chosen is not None and fold.tree.started.reference == "30"
    verdict = at.main.info[-1].value.replace("\\", "")
    assert verdict.startswith("You guessed the search would answer ")
    assert "You said it would be right; it was" in verdict
