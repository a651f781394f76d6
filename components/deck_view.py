"""System 1 vs System 2 from the demo deck: a recorded pair replayed side by side, no model.

Both sides advance the same number of events per tick (`advance_replay`, streamed text weighing
an eighth) and are drawn by the same fold and panels as a live comparison.
"""

from __future__ import annotations

import streamlit as st

from components.comparison import build_comparison_summary
from components.replay_pace import advance_replay
from components.run_view import cached_fold, poll_while, render_run
from components.text import plain_markdown
from deliberate.deck import DeckPair, load_deck, load_pair

SPEEDS = [2, 5, 10, 20, 50]  # events per second, the same for both sides
TICK_SECONDS = 0.5
SIDES = (("deck_1", "System 1"), ("deck_2", "System 2"))


def deck_label(pair: DeckPair) -> str:
    """The problem, never its answers (the demo would give them away)."""
    question = pair.question if len(pair.question) <= 80 else pair.question[:79] + "…"
    return f"{pair.problem_id} · {pair.difficulty} · {question}"


def _set_playing(play: bool) -> None:
    """Play or Pause as the button said, never a toggle: a press can arrive twice while the panel
    polls (`poll_while`), and a toggle run twice undoes it."""
    st.session_state.deck_playing = play
    loaded = st.session_state.get("deck_loaded")
    if play and loaded is not None and st.session_state.deck_index == tuple(map(len, loaded[1])):
        st.session_state.deck_index = (0, 0)  # play a finished pair from the start


def render_deck_player() -> None:
    """Pick a deck problem; Play replays both recorded runs side by side, then says what the
    thinking bought. A missing or broken deck is explained; the page keeps running."""
    try:
        pairs = {pair.problem_id: pair for pair in load_deck()}
    except ValueError as exc:
        st.error(plain_markdown(f"The demo deck can't be read: {exc}"))
        return
    if not pairs:
        st.info("No demo deck is shipped yet: `scripts/make_deck.py` builds one from a batch.")
        return
    chosen = st.selectbox(
        "Recorded problem", list(pairs), format_func=lambda i: deck_label(pairs[i]), key="deck_pick"
    )
    pair = pairs[chosen]
    loaded = st.session_state.get("deck_loaded")
    if loaded is None or loaded[0] != chosen:
        try:
            loaded = (chosen, load_pair(pair))
        except (OSError, ValueError) as exc:
            st.error(plain_markdown(f"This demo can't be played: {exc}"))
            return
        st.session_state.deck_loaded = loaded
        st.session_state.deck_index = (0, 0)
        st.session_state.deck_playing = False
    runs = loaded[1]
    st.caption(
        f"Recorded: {pair.system_1.strategy.replace('_', ' ')} against "
        f"{pair.system_2.strategy.replace('_', ' ')} on {runs[1][0].model}, chosen because "
        "System 2 was right and System 1 wrong when measured. Plays with no model and no network."
    )
    speed_column, play_column, _ = st.columns([3, 1, 2], vertical_alignment="bottom")
    speed = speed_column.select_slider(
        "Speed (events per second)", SPEEDS, value=10, key="deck_speed"
    )
    playing = st.session_state.get("deck_playing", False)
    play_column.button(
        "Pause" if playing else "Play",
        key="deck_pause" if playing else "deck_play",
        on_click=_set_playing,
        args=(not playing,),
        shortcut="Space",
        width="stretch",
    )

    def panel() -> bool:
        index = st.session_state.get("deck_index", (0, 0))
        if st.session_state.get("deck_playing"):
            steps = max(1.0, speed * TICK_SECONDS)
            index = tuple(advance_replay(e, i, steps) for e, i in zip(runs, index, strict=True))
            st.session_state.deck_index = index
            if index == tuple(map(len, runs)):
                st.session_state.deck_playing = False
        for column, events, upto, (key, title) in zip(
            st.columns(2), runs, index, SIDES, strict=True
        ):
            with column:
                fold = cached_fold(key, f"{chosen}:{key}", lambda start, e=events: e[start:], upto)
                st.subheader(f"{title}: {events[0].strategy.replace('_', ' ')}")
                render_run(fold, key, narrow=True, exports=not st.session_state.deck_playing)
        if index == tuple(map(len, runs)):
            st.subheader("What the extra thinking bought")
            st.info(plain_markdown(" ".join(build_comparison_summary(*runs))))
        return bool(st.session_state.deck_playing)

    poll_while(playing, panel, interval=TICK_SECONDS)
