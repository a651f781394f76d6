"""System 1 vs System 2: the same problem answered at once and with thinking, side by side."""

from dataclasses import replace

import streamlit as st

from components.comparison import build_comparison_summary
from components.page_shell import through_app
from components.problem_picker import render_problem_picker
from components.run_view import cached_fold, poll_while, render_run
from components.settings import render_estimate
from components.text import plain_markdown
from deliberate.worker import start_run
from strategies import SYSTEM_2, describe

through_app()

settings = st.session_state.settings
store = st.session_state.store

st.title("System 1 vs System 2")
st.write(
    "System 1 answers at once, in a single pass. System 2 spends more compute at answer time: "
    "it writes steps, tries alternatives, lets a verifier score them and drops weak branches. "
    "Run both on the same problem and see what the extra thinking bought, and what it cost."
)
problem = render_problem_picker("compare")
system_2 = settings.strategies(system_2_only=True) if settings is not None else SYSTEM_2
strategy = st.selectbox(
    "System 2 strategy",
    system_2,
    index=system_2.index("beam_search"),
    key="compare_strategy",
    format_func=lambda name: name.replace("_", " "),
)
st.caption(describe(strategy))
if settings is not None:
    render_estimate(settings, [("direct", 1), (strategy, settings.budget.n)], store)

workers = st.session_state.get("compare_workers")
running = workers is not None and any(w.running for w in workers)
run_column, stop_column, _ = st.columns([1, 1, 4])
if run_column.button(
    "Run both", type="primary", disabled=running or problem is None or settings is None
):
    direct_budget = replace(settings.budget, n=1)
    st.session_state.compare_workers = (
        start_run("direct", problem, settings.backend, direct_budget, store, source="compare"),
        start_run(strategy, problem, settings.backend, settings.budget, store, source="compare"),
    )
    st.rerun()
if stop_column.button("Stop", disabled=not running):
    for worker in workers:
        worker.stop()


def compare_panel() -> bool:
    workers = st.session_state.get("compare_workers")
    if workers is None:
        st.info("Pick a problem and a System 2 strategy, then press Run both.")
        return False
    for column, worker, key, title in zip(
        st.columns(2), workers, ("compare_1", "compare_2"), ("System 1", "System 2"), strict=True
    ):
        with column:
            fold = cached_fold(key, worker.id, worker.events)
            name = fold.tree.started.strategy.replace("_", " ") if fold.tree.started else ""
            st.subheader(f"{title}: {name}")
            render_run(fold, key, narrow=True, exports=not worker.running)
    if all(not w.running for w in workers):
        st.subheader("What the extra thinking bought")
        sentences = build_comparison_summary(workers[0].events(), workers[1].events())
        st.info(plain_markdown(" ".join(sentences)))
    return any(w.running for w in workers)


poll_while(running, compare_panel)
