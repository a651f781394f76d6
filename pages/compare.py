"""System 1 vs System 2: the same problem answered at once and with thinking, side by side."""

from dataclasses import replace

import streamlit as st

from components.comparison import (
    build_bigger_model_summary,
    build_comparison_summary,
    run_facts,
)
from components.deck_view import render_deck_player
from components.page_shell import through_app
from components.predict import render_prediction_form, render_verdict
from components.presenter import render_leave_button, teaching
from components.problem_picker import render_problem_picker
from components.provider_picker import render_provider_picker
from components.remember import URL_BINDING
from components.run_view import cached_fold, poll_while, render_run
from components.settings import render_estimate, render_table_note, run_budget
from components.text import plain_markdown
from components.warm_up import read_ahead
from core.providers.choice import local_models
from core.verifiers import make_verifier
from deliberate.worker import start_run
from strategies import SYSTEM_2, describe

through_app()

settings = st.session_state.settings
store = st.session_state.store

render_leave_button()
st.title("System 1 vs System 2")
st.write(
    "System 1 answers at once, in a single pass. System 2 spends more compute at answer time: "
    "it writes steps, tries alternatives, lets a verifier score them and drops weak branches. "
    "Run both on the same problem and see what the extra thinking bought, and what it cost."
)
DEMO = "Play a recorded demo"
mode = st.radio(
    "How", ["Run both now", DEMO], horizontal=True, key="compare_mode", label_visibility="collapsed"
)
if mode == DEMO:  # recorded pairs from the demo deck: no model, no network
    render_deck_player()
    st.stop()
problem = render_problem_picker("compare")
system_2 = settings.strategies(system_2_only=True) if settings is not None else SYSTEM_2
strategy = st.selectbox(
    "System 2 strategy",
    system_2,
    index=system_2.index("beam_search"),
    key="compare_strategy",
    bind=URL_BINDING,  # a reload keeps it
    format_func=lambda name: name.replace("_", " "),
)
st.caption(describe(strategy))
if settings is not None:
    direct_budget = replace(settings.budget_for("direct"), n=1)
    budget = settings.budget_for(strategy)
    render_estimate(settings, [("direct", direct_budget), (strategy, budget)], store)
    if strategy == "compute_optimal":
        render_table_note(run_budget(settings, store, [strategy]))

bigger = None
if st.toggle(
    "Add a bigger model answering at once",
    key="compare_bigger",
    help="Small model plus search against a bigger model without it: the comparison at the "
    "heart of test-time scaling.",
):
    if settings is not None and settings.provider.kind == "local":
        others = [m for m in local_models() if f"local:{m}" != settings.provider.key]
        if others:  # the other built-in model, e.g. the 1.5B against the 0.5B thinking
            st.session_state.setdefault("big_local_model", others[0])
    with st.container(border=True):
        st.markdown("**Bigger model (System 1: answers at once)**")
        bigger = render_provider_picker("big")


def bigger_backend():
    provider = bigger.make()
    return provider, make_verifier(settings.verifier, provider)


workers = st.session_state.get("compare_workers")
running = workers is not None and any(w.running for w in workers)
if not running:  # a prefill slipped between a run's calls would slow it
    read_ahead(settings.provider if settings is not None else None, problem)
guess = st.session_state.get("compare_prediction")  # teaching mode: locked in before Run both
if teaching() and not running:
    if guess is None:
        render_prediction_form("compare_prediction", None, "System 2")
    else:
        st.caption("Your guess is locked in; it is compared with System 2 once both finish.")
run_column, stop_column, _ = st.columns([1, 1, 4])
if run_column.button(
    "Run both",
    type="primary",
    disabled=running or problem is None or settings is None or (teaching() and guess is None),
    shortcut=None if running else "Space",
):
    budget = run_budget(settings, store, [strategy])
    workers = (
        start_run("direct", problem, settings.backend, direct_budget, store, source="compare"),
        start_run(strategy, problem, settings.backend, budget, store, source="compare"),
    )
    if bigger is not None:
        big = start_run("direct", problem, bigger_backend, direct_budget, store, source="compare")
        workers = (*workers, big)
    st.session_state.compare_workers = workers
    st.session_state.compare_guess = st.session_state.pop("compare_prediction", None)
    st.rerun()
if stop_column.button("Stop", disabled=not running, shortcut="Space" if running else None):
    for worker in workers:
        worker.stop()


def compare_panel() -> bool:
    workers = st.session_state.get("compare_workers")
    if workers is None:
        st.info("Pick a problem and a System 2 strategy, then press Run both.")
        return False
    keys = ("compare_1", "compare_2", "compare_big")[: len(workers)]
    titles = ("System 1", "System 2", "Bigger model, System 1")[: len(workers)]
    for column, worker, key, title in zip(
        st.columns(len(workers)), workers, keys, titles, strict=True
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
        if len(workers) == 3:
            st.subheader("A bigger model, or a small one that thinks?")
            said = build_bigger_model_summary(workers[1].events(), workers[2].events())
            st.info(plain_markdown(" ".join(said)))
        if (guess := st.session_state.get("compare_guess")) is not None:
            system_2 = run_facts(workers[1].events())
            render_verdict(guess, system_2.answer, system_2.correct, "System 2")
    return any(w.running for w in workers)


poll_while(running, compare_panel)
