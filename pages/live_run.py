"""Live run: pick a problem and a strategy, press Run, and watch the reasoning tree grow."""

import streamlit as st

from components.page_shell import through_app
from components.problem_picker import render_problem_picker
from components.run_files import render_events_download
from components.run_view import cached_fold, poll_while, render_run
from components.settings import render_estimate
from components.text import plain_markdown
from deliberate.worker import start_run
from strategies import STRATEGIES, describe

through_app()

settings = st.session_state.settings
store = st.session_state.store

st.title("Watch a model think")
problem = render_problem_picker("live")

names = settings.strategies() if settings is not None else list(STRATEGIES)
strategy = st.selectbox(
    "Strategy",
    names,
    index=names.index("beam_search"),
    key="live_strategy",
    format_func=lambda name: name.replace("_", " "),
)
st.caption(describe(strategy))
if settings is not None:
    render_estimate(settings, [(strategy, settings.budget.n)], store)

worker = st.session_state.get("live_worker")
running = worker is not None and worker.running
run_column, stop_column, note_column = st.columns([1, 1, 4])
if run_column.button(
    "Run", type="primary", disabled=running or problem is None or settings is None
):
    st.session_state.live_worker = start_run(
        strategy, problem, settings.backend, settings.budget, store, source="live"
    )
    st.rerun()
if stop_column.button("Stop", disabled=not running):
    worker.stop()
if running and worker.stopping:
    note_column.caption("Stopping after the model call in progress; everything so far is kept.")


def live_panel() -> bool:
    worker = st.session_state.get("live_worker")
    if worker is None:
        st.info(
            "Choose a problem and a strategy, then press Run. The tree grows here as it thinks."
        )
        return False
    render_run(cached_fold("live", worker.id, worker.events), "live", exports=not worker.running)
    if not worker.running:
        render_events_download(worker.events(), "live_jsonl")
    if worker.save_error:
        st.warning(plain_markdown(f"This run is shown but was not saved: {worker.save_error}"))
    return worker.running


poll_while(running, live_panel)
