"""Replay: any finished run rebuilt from its event stream, at your speed, with no model at all."""

from datetime import datetime
from pathlib import Path

import streamlit as st

from components.export import build_replay_html
from components.page_shell import through_app
from components.predict import (
    candidate_answers,
    hide_reference,
    render_prediction_form,
    render_verdict,
    reveal_index,
)
from components.presenter import presenting, render_leave_button, teaching
from components.replay_pace import advance_recorded, advance_replay, step_replay
from components.run_files import render_events_download, render_run_upload, render_trace_export
from components.run_view import cached_fold, poll_while, render_run
from components.text import plain_markdown
from deliberate.recordings import load_recording, recordings

through_app()

# Events per second, or a multiple of the pace the run was written at (its text is timed).
RECORDED = {"as written": 1.0, "2x as written": 2.0, "4x as written": 4.0}
SPEEDS = [*RECORDED, 1, 2, 5, 10, 20, 50, 200]
TICK_SECONDS = 0.5
# Play and Pause: two buttons, each asking for its own state (a press can arrive twice while the
# replay polls: components/run_view.py, poll_while).
PLAY_KEYS = {False: "replay_play", True: "replay_pause"}
store = st.session_state.store
present = presenting()

render_leave_button()
st.title("Replay")
if not present:
    st.write(
        "Every finished run, from Live run, System 1 vs System 2 or a batch, is kept as its event "
        "stream. Replaying it rebuilds the identical tree with no model and no network: the safe "
        "way to present. Space plays or pauses, the arrow keys step."
    )

with st.expander("Upload a run (JSONL)"):
    uploaded = render_run_upload(store, "replay_upload")
if uploaded is not None:
    st.session_state.replay_choice = f"run:{uploaded}"  # before the selectbox: allowed

# Your newest run first, then the demos shipped with the app (the deck's System 1 / System 2
# pairs among them), then the runs of the batch recorded for the app.
stored = store.list_runs() if store is not None else []
MARKS = {True: "✓", False: "✗", None: "?"}
options: dict[str, str] = {}
for run in [r for r in stored if r.source != "recorded"]:
    options[f"run:{run.run_id}"] = (
        f"{datetime.fromtimestamp(run.created):%Y-%m-%d %H:%M} · {run.source} · "
        f"{run.strategy} N={run.budget_n} · {run.problem_id} · {run.nodes} steps · {MARKS[run.correct]}"
    )
for path in recordings():
    deck = "deck · " if path.parent.name == "deck" else ""
    options[f"recording:{path}"] = f"Recorded demo · {deck}{path.stem}"
for run in [r for r in stored if r.source == "recorded"]:
    options[f"run:{run.run_id}"] = (
        f"Recorded batch · {run.model} · {run.strategy} N={run.budget_n} · {run.problem_id} · "
        f"{MARKS[run.correct]}"
    )
if not options:
    st.info("Nothing to replay yet: run something on the Live run page first.")
    st.stop()
with st.expander("Run to replay") if present else st.container():
    choice = st.selectbox("Run", list(options), format_func=options.get, key="replay_choice")

loaded = st.session_state.get("replay_loaded")
if loaded is None or loaded[0] != choice:
    kind, _, name = choice.partition(":")
    try:
        events = load_recording(Path(name)) if kind == "recording" else store.load_events(name)
    except (OSError, KeyError, ValueError) as exc:
        st.error(plain_markdown(f"This run can't be replayed: {exc}"))
        st.stop()
    loaded = (choice, events)
    st.session_state.replay_loaded = loaded
    # Open on the whole run; in teaching mode at the start, with the guess still to make.
    st.session_state.replay_index = 0 if teaching() else len(events)
    st.session_state.replay_playing = False
    st.session_state.pop("replay_prediction", None)
events = loaded[1]
# Teaching mode: the replay holds before the final choice until a guess is locked in.
hold = reveal_index(events) if teaching() and "replay_prediction" not in st.session_state else None
end = len(events) if hold is None else hold

speed_column, back_column, play_column, forward_column, export_column, events_column = st.columns(
    [3, 1, 1, 1, 2, 2], vertical_alignment="bottom"
)
speed = speed_column.select_slider(
    "Speed (events per second, or the pace it was written at)", SPEEDS, value=10, key="replay_speed"
)


def set_playing(play: bool) -> None:
    """Play or Pause as the button said, never a toggle: a toggle run twice undoes the press."""
    st.session_state.replay_playing = play
    if play and st.session_state.get("replay_index", 0) >= end:
        st.session_state.replay_index = 0  # play a finished replay from the start


def step(forward: bool) -> None:
    """One event (with the text streamed before it) forwards or back; pauses the replay."""
    st.session_state.replay_playing = False
    index = st.session_state.get("replay_index", end)
    st.session_state.replay_index = min(end, step_replay(events, index, forward))


playing = st.session_state.get("replay_playing", False)
back_column.button("◀ Step", on_click=step, args=(False,), shortcut="Left", width="stretch")
play_column.button(
    "Pause" if playing else "Play",
    key=PLAY_KEYS[playing],
    on_click=set_playing,
    args=(not playing,),
    shortcut="Space",
    width="stretch",
)
forward_column.button("Step ▶", on_click=step, args=(True,), shortcut="Right", width="stretch")
export_column.download_button(
    "Download as HTML",
    data=lambda: build_replay_html(events, f"Deliberate · {options[choice]}"),
    file_name="deliberate-run.html",
    mime="text/html",
    help="One file that replays this run's growing tree in any browser, offline (play, pause, "
    "scrubber): for slides or to send.",
    width="stretch",
)
with events_column:
    render_events_download(events, "replay_jsonl")
# A stored run's spans end when it was stored; a shipped recording's, at the export.
ended = {f"run:{run.run_id}": run.created for run in stored}.get(choice)
render_trace_export(events, "replay_trace", ended)


def replay_panel() -> bool:
    index = min(st.session_state.get("replay_index", end), end)
    if st.session_state.get("replay_playing"):
        paced = None
        if speed in RECORDED:
            at, clock = st.session_state.get("replay_clock", (None, None))
            clock = clock if at == index else None  # scrubbed or stepped: the clock follows
            paced = advance_recorded(events, index, RECORDED[speed] * TICK_SECONDS, clock)
        if paced is not None:
            index = min(end, paced[0])
            st.session_state.replay_clock = (index, paced[1])
        else:  # events per second (and recordings made before text was timed)
            steps = 10 * TICK_SECONDS if speed in RECORDED else max(1.0, speed * TICK_SECONDS)
            index = min(end, advance_replay(events, index, steps))
        if index >= end:
            st.session_state.replay_playing = False
    st.session_state.replay_index = index  # before the scrubber exists in this run: allowed
    st.slider("Scrubber: events replayed", 0, end, key="replay_index")
    # Until the guess, right and wrong stay hidden: the fold never sees the reference answer.
    shown, key = (events, choice) if hold is None else (hide_reference(events), f"{choice}:hidden")
    fold = cached_fold("replay", key, lambda start: shown[start:], upto=index)
    exports = not st.session_state.get("replay_playing")
    render_run(fold, "replay", present=present, exports=exports)
    prediction = st.session_state.get("replay_prediction")
    if hold is not None and index >= hold:
        render_prediction_form("replay_prediction", candidate_answers(fold.tree), "the search")
    elif prediction is not None and fold.tree.chosen is not None:
        chosen = fold.tree.chosen
        render_verdict(prediction, chosen.answer, chosen.correct, "the search")
    elif prediction is not None:
        st.caption("Your guess is locked in: press Play or → to see the choice.")
    return bool(st.session_state.get("replay_playing"))


poll_while(playing, replay_panel, interval=TICK_SECONDS)
