"""Live run: pick a problem and a strategy, press Run, and watch the reasoning tree grow."""

import streamlit as st

from components.page_shell import through_app
from components.presenter import presenting, render_leave_button
from components.problem_picker import render_problem_picker
from components.remember import URL_BINDING
from components.run_files import render_events_download, render_trace_export
from components.run_view import cached_fold, render_live_run, render_run, render_waiting_tree
from components.settings import render_estimate, render_table_note, run_budget
from components.text import plain_markdown
from components.warm_up import read_ahead
from deliberate.worker import start_run
from strategies import STRATEGIES, describe

through_app()

settings = st.session_state.settings
store = st.session_state.store

present = presenting()
render_leave_button()
st.title("Watch a model think")
with st.expander("Problem and strategy") if present else st.container():
    problem = render_problem_picker("live")
    names = settings.strategies() if settings is not None else list(STRATEGIES)
    strategy = st.selectbox(
        "Strategy",
        names,
        index=names.index("beam_search"),
        key="live_strategy",
        bind=URL_BINDING,  # a reload keeps it
        format_func=lambda name: name.replace("_", " "),
    )
    st.caption(describe(strategy))
budget = settings.budget_for(strategy) if settings is not None else None
if settings is not None:
    render_estimate(settings, [(strategy, budget)], store)
    if strategy == "compute_optimal":
        render_table_note(run_budget(settings, store, [strategy]))

worker = st.session_state.get("live_worker")
running = worker is not None and worker.running
if not running:  # a prefill slipped between a run's calls would slow it
    read_ahead(settings.provider if settings is not None else None, problem)
run_column, stop_column, note_column = st.columns([1, 1, 4])
# Space runs when nothing runs, and stops the run in progress (keeping everything).
run_slot = run_column.empty()
if run_slot.button(
    "Run",
    type="primary",
    disabled=running or problem is None or settings is None,
    shortcut=None if running else "Space",
):
    budget = run_budget(settings, store, [strategy])
    worker = start_run(strategy, problem, settings.backend, budget, store, source="live")
    st.session_state.live_worker, running = worker, True
    # Polling starts in this same script run (no st.rerun): the first words show one whole
    # page run sooner. The Run button is redrawn disabled in its place.
    run_slot.button("Run", type="primary", disabled=True, key="live_run_busy")
if stop_column.button("Stop", disabled=not running, shortcut="Space" if running else None):
    worker.stop()
if running and worker.stopping:
    note_column.caption("Stopping after the model call in progress; everything so far is kept.")


worker = st.session_state.get("live_worker")
if worker is None:
    st.info("Choose a problem and a strategy, then press Run. The tree grows here as it thinks.")
    if problem is not None:
        render_waiting_tree(problem.question, "live_waiting_tree")
elif running:
    render_live_run("live", worker.id, worker.events, lambda: worker.running, present)
else:
    render_run(cached_fold("live", worker.id, worker.events), "live", present=present, exports=True)
    render_events_download(worker.events(), "live_jsonl")
    render_trace_export(worker.events(), "live_trace")
    if worker.save_error:
        st.warning(plain_markdown(f"This run is shown but was not saved: {worker.save_error}"))
